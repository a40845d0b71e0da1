//! `GitHubDeploys` against the fake GitHub's faults: rate limits waited out in GitHub's order or
//! reported when past the budget, permission and missing-repository errors at once, GitHub's 422
//! quoted, 502s retried, a hang bounded by the timeout, a dispatch whose answer was lost never
//! sent twice, and requests past GitHub's limits never sent at all.

use std::time::Duration;

use chatops_bot::integrations::github::{
    DeployPipeline, DispatchEvent, DispatchSettings, GitHubError, MAX_BODY_BYTES,
};
use chatops_sandbox::github::{FakeGitHub, FaultKind, GitHubFault};
use time::OffsetDateTime;

#[path = "github/support.rs"]
mod support;

use support::{app_config, app_key, calls_to, client, request, token_client, token_config};

const DEPLOYMENTS: &str = "/repos/acme/app/deployments";
const DISPATCHES: &str = "/repos/acme/app/dispatches";

async fn fake_with(fault: GitHubFault) -> FakeGitHub {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    fake.push_fault(fault);
    fake
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let kind = FaultKind::TooManyRequests {
        retry_after_secs: Some(1),
    };
    let fake = fake_with(GitHubFault::new("GET", DEPLOYMENTS, 1, kind)).await;
    token_client(&fake).deployments("staging", 5).await.unwrap();
    let calls = calls_to(&fake, "GET", DEPLOYMENTS);
    let statuses: Vec<u16> = calls.iter().map(|call| call.status).collect();
    assert_eq!(statuses, [429, 200]);
    assert!(
        calls[1].at - calls[0].at >= Duration::from_secs(1),
        "retry-after was honoured"
    );
}

#[tokio::test]
async fn a_403_with_no_requests_left_waits_for_the_reset() {
    let kind = FaultKind::RateLimitExhausted {
        reset_in: Duration::from_millis(1500),
    };
    let fake = fake_with(GitHubFault::new("GET", DEPLOYMENTS, 1, kind)).await;
    token_client(&fake).deployments("staging", 5).await.unwrap();
    let calls = calls_to(&fake, "GET", DEPLOYMENTS);
    assert_eq!(
        calls.iter().map(|call| call.status).collect::<Vec<_>>(),
        [403, 200]
    );
    assert!(
        calls[1].at - calls[0].at >= Duration::from_secs(1),
        "waited for the reset"
    );
}

#[tokio::test]
async fn after_an_answer_with_no_requests_left_the_next_call_waits_for_the_reset() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    fake.set_rate_limit(1, Duration::from_millis(1200));
    let github = token_client(&fake);
    github.deployments("staging", 5).await.unwrap();
    github.deployments("production", 5).await.unwrap();
    let calls = calls_to(&fake, "GET", DEPLOYMENTS);
    let statuses: Vec<u16> = calls.iter().map(|call| call.status).collect();
    assert_eq!(
        statuses,
        [200, 200],
        "the second call waited instead of being refused"
    );
    assert!(calls[1].at - calls[0].at >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_secondary_limit_403_follows_its_retry_after() {
    let kind = FaultKind::SecondaryLimit {
        retry_after_secs: 1,
    };
    let fake = fake_with(GitHubFault::new("POST", DISPATCHES, 1, kind)).await;
    token_client(&fake)
        .dispatch(&request(1, "v1"))
        .await
        .unwrap();
    let statuses: Vec<u16> = calls_to(&fake, "POST", DISPATCHES)
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [403, 204], "a refused dispatch may go again");
    assert_eq!(fake.runs().len(), 1);
}

#[tokio::test]
async fn a_limit_past_the_budget_is_rate_limited_at_once() {
    let kind = FaultKind::RateLimitExhausted {
        reset_in: Duration::from_secs(120),
    };
    let fake = fake_with(GitHubFault::new("GET", DEPLOYMENTS, 1, kind)).await;
    let github = client(
        &token_config(&fake, Duration::from_secs(5)),
        DispatchSettings::default(),
    );
    let before = OffsetDateTime::now_utc();
    let error = github.deployments("staging", 5).await.unwrap_err();
    let GitHubError::RateLimited { until } = error else {
        panic!("expected RateLimited, got {error:?}");
    };
    assert!(until > before + time::Duration::seconds(100), "{until}");
    assert_eq!(calls_to(&fake, "GET", DEPLOYMENTS).len(), 1);

    let untold = FaultKind::TooManyRequests {
        retry_after_secs: None,
    };
    fake.push_fault(GitHubFault::new("GET", DEPLOYMENTS, 1, untold));
    let error = github.deployments("staging", 5).await.unwrap_err();
    assert!(
        matches!(error, GitHubError::RateLimited { .. }),
        "a minute is past a 5 s budget: {error:?}"
    );
}

#[tokio::test]
async fn a_permission_403_is_forbidden_at_once() {
    let message = "Resource not accessible by personal access token";
    let kind = FaultKind::Forbidden(message.to_owned());
    let fake = fake_with(GitHubFault::new("POST", DISPATCHES, 1, kind)).await;
    let error = token_client(&fake)
        .dispatch(&request(1, "v1"))
        .await
        .unwrap_err();
    let GitHubError::Forbidden { message: said } = &error else {
        panic!("expected Forbidden, got {error:?}");
    };
    assert_eq!(said, message);
    assert!(error.human_message().contains(message));
    assert_eq!(calls_to(&fake, "POST", DISPATCHES).len(), 1);
    assert!(fake.runs().is_empty());
}

#[tokio::test]
async fn a_404_names_the_repository_and_the_permission() {
    let fake = fake_with(GitHubFault::new("POST", DISPATCHES, 1, FaultKind::NotFound)).await;
    let error = token_client(&fake)
        .dispatch(&request(1, "v1"))
        .await
        .unwrap_err();
    assert_eq!(
        error.human_message(),
        "repository acme/app not found, or the token lacks Contents: write"
    );
    let mut config = token_config(&fake, Duration::from_secs(5));
    config.repo = "elsewhere".to_owned();
    let error = client(&config, DispatchSettings::default())
        .deployments("staging", 5)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, GitHubError::RepoNotFound { repo } if repo == "acme/elsewhere"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_422_quotes_github() {
    let message = "No ref found for: release/9";
    let kind = FaultKind::Unprocessable(message.to_owned());
    let fake = fake_with(GitHubFault::new("POST", DISPATCHES, 1, kind)).await;
    let error = token_client(&fake)
        .dispatch(&request(1, "v1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, GitHubError::Unprocessable { message: said } if said == message),
        "{error:?}"
    );
    assert!(error.human_message().contains(message), "{error}");
}

#[tokio::test]
async fn bad_gateways_on_a_read_are_retried() {
    let fake = fake_with(GitHubFault::new(
        "GET",
        DEPLOYMENTS,
        2,
        FaultKind::Status(502),
    ))
    .await;
    token_client(&fake).deployments("staging", 5).await.unwrap();
    let statuses: Vec<u16> = calls_to(&fake, "GET", DEPLOYMENTS)
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [502, 502, 200]);
}

#[tokio::test]
async fn a_hung_call_is_a_timeout_within_the_budget() {
    let fake = fake_with(GitHubFault::new("GET", DEPLOYMENTS, 1, FaultKind::Hang)).await;
    let budget = Duration::from_millis(800);
    let github = client(&token_config(&fake, budget), DispatchSettings::default());
    let error = github.deployments("staging", 5).await.unwrap_err();
    assert!(
        matches!(error, GitHubError::Timeout { limit } if limit == budget),
        "{error:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_dispatch_whose_answer_is_lost_is_not_sent_again_and_its_run_is_found() {
    let fake = fake_with(GitHubFault::new(
        "POST",
        DISPATCHES,
        1,
        FaultKind::DropAfterWork,
    ))
    .await;
    let github = token_client(&fake);
    let since = OffsetDateTime::now_utc();
    let deploy = request(1, "v7");
    let error = github.dispatch(&deploy).await.unwrap_err();
    assert!(matches!(error, GitHubError::Transport { .. }), "{error:?}");
    assert!(!error.never_sent());
    assert_eq!(
        calls_to(&fake, "POST", DISPATCHES).len(),
        1,
        "never sent twice"
    );
    let found = github
        .find_run(&deploy.request_id, DispatchEvent::RepositoryDispatch, since)
        .await
        .unwrap();
    assert_eq!(found.map(|run| run.id), Some(fake.runs()[0].id));
}

#[tokio::test]
async fn requests_past_githubs_limits_never_reach_it() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let config = token_config(&fake, Duration::from_secs(5));
    let long_event = DispatchSettings {
        event_type: "e".repeat(101),
        ..DispatchSettings::default()
    };
    let error = client(&config, long_event)
        .dispatch(&request(1, "v1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            GitHubError::InvalidEventType {
                chars: 101,
                limit: 100
            }
        ),
        "{error:?}"
    );
    let empty_event = DispatchSettings {
        event_type: String::new(),
        ..DispatchSettings::default()
    };
    let error = client(&config, empty_event)
        .dispatch(&request(2, "v1"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, GitHubError::InvalidEventType { chars: 0, .. }),
        "{error:?}"
    );
    let huge = request(3, &"x".repeat(MAX_BODY_BYTES));
    for settings in [
        DispatchSettings::default(),
        DispatchSettings {
            workflow: Some("deploy.yml".to_owned()),
            ..DispatchSettings::default()
        },
    ] {
        let error = client(&config, settings).dispatch(&huge).await.unwrap_err();
        assert!(
            matches!(error, GitHubError::PayloadTooLarge { .. }),
            "{error:?}"
        );
        assert!(error.never_sent());
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[tokio::test]
async fn a_throttled_token_mint_is_waited_out_like_any_call() {
    let kind = FaultKind::TooManyRequests {
        retry_after_secs: Some(1),
    };
    let fake = fake_with(GitHubFault::new("POST", "/app/installations/", 1, kind)).await;
    let github = client(&app_config(&fake, app_key()), DispatchSettings::default());
    github.deployments("staging", 5).await.unwrap();
    let mints: Vec<u16> = calls_to(&fake, "POST", "/app/installations/")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(mints, [429, 201]);
    assert_eq!(fake.token_mints(), 1);
}

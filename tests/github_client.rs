//! `GitHubDeploys` (the real reqwest client) against the sandbox's fake GitHub over loopback:
//! both dispatches and finding their runs, a run followed to its end, deployments, App auth and
//! its token cache, and secrets kept out of `Debug`.

use std::time::Duration;

use chatops_bot::config::GitHubAuth;
use chatops_bot::integrations::github::{
    Conclusion, DeployPipeline, DeploymentState, DispatchEvent, DispatchSettings, Dispatched,
    GitHubError, RunState,
};
use chatops_sandbox::github::{
    AuthKind, FakeGitHub, RunOutcome, RunTimings, TEST_OTHER_PRIVATE_KEY,
};
use time::OffsetDateTime;

#[path = "github/support.rs"]
mod support;

use support::{app_config, app_key, calls_to, client, request, token_client, token_config};

fn workflow_settings() -> DispatchSettings {
    DispatchSettings {
        workflow: Some("deploy.yml".to_owned()),
        git_ref: Some("main".to_owned()),
        ..DispatchSettings::default()
    }
}

#[tokio::test]
async fn a_repository_dispatch_is_found_by_its_request_id() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let github = token_client(&fake);
    let since = OffsetDateTime::now_utc();
    let first = request(1, "v1.4.0");
    let other = request(2, "v1.4.1");
    assert_eq!(github.dispatch(&first).await.unwrap(), Dispatched::Accepted);
    assert_eq!(github.dispatch(&other).await.unwrap(), Dispatched::Accepted);

    let runs = fake.runs();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].event, "repository_dispatch");
    assert_eq!(runs[0].version, "v1.4.0");
    assert_eq!(runs[0].environment, "staging");
    let event = DispatchEvent::RepositoryDispatch;
    let found = github
        .find_run(&first.request_id, event, since)
        .await
        .unwrap()
        .expect("the run is found by its request id");
    assert_eq!(found.id, runs[0].id);
    assert!(found.display_title.contains(&first.request_id));
    assert_eq!(
        found.display_title,
        format!("Deploy v1.4.0 to staging [{}]", first.request_id)
    );
    let missing = request(3, "v0");
    assert_eq!(
        github
            .find_run(&missing.request_id, event, since)
            .await
            .unwrap(),
        None
    );
    let wrong_event = DispatchEvent::WorkflowDispatch;
    assert_eq!(
        github
            .find_run(&first.request_id, wrong_event, since)
            .await
            .unwrap(),
        None
    );

    for call in fake.requests() {
        assert_eq!(call.api_version.as_deref(), Some("2022-11-28"), "{call:?}");
        assert_eq!(
            call.accept.as_deref(),
            Some("application/vnd.github+json"),
            "{call:?}"
        );
    }
    let posts = calls_to(&fake, "POST", "/repos/acme/app/dispatches");
    assert_eq!(posts.len(), 2);
    assert!(posts
        .iter()
        .all(|post| post.status == 204 && post.auth == AuthKind::Token));
    let lists = calls_to(&fake, "GET", "/repos/acme/app/actions/runs");
    assert!(
        lists[0].query.contains("event=repository_dispatch"),
        "{}",
        lists[0].query
    );
    assert!(
        lists[0].query.contains("created=%3E%3D"),
        "{}",
        lists[0].query
    );
    assert!(
        lists[0].query.contains("per_page=100"),
        "{}",
        lists[0].query
    );
}

#[tokio::test]
async fn a_run_named_without_the_request_id_is_not_found() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    fake.omit_request_id(true);
    let github = token_client(&fake);
    let since = OffsetDateTime::now_utc();
    let deploy = request(1, "v2");
    github.dispatch(&deploy).await.unwrap();
    assert_eq!(fake.runs().len(), 1);
    let found = github
        .find_run(&deploy.request_id, DispatchEvent::RepositoryDispatch, since)
        .await
        .unwrap();
    assert_eq!(found, None);
}

#[tokio::test]
async fn a_workflow_dispatch_returns_its_run_and_falls_back_on_an_old_server() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let github = client(
        &token_config(&fake, Duration::from_secs(10)),
        workflow_settings(),
    );
    let Dispatched::Run(link) = github.dispatch(&request(1, "v3")).await.unwrap() else {
        panic!("a new server names the run");
    };
    let runs = fake.runs();
    assert_eq!(link.id, runs[0].id);
    assert_eq!(runs[0].event, "workflow_dispatch");
    assert!(link
        .html_url
        .ends_with(&format!("/actions/runs/{}", link.id)));

    fake.act_as_old_server(true);
    let since = OffsetDateTime::now_utc();
    let old = request(2, "v4");
    assert_eq!(github.dispatch(&old).await.unwrap(), Dispatched::Accepted);
    let posts = calls_to(
        &fake,
        "POST",
        "/repos/acme/app/actions/workflows/deploy.yml/dispatches",
    );
    let statuses: Vec<u16> = posts.iter().map(|post| post.status).collect();
    assert_eq!(statuses, [200, 422, 204]);
    assert_eq!(fake.runs().len(), 2, "the refused attempt started nothing");
    let found = github
        .find_run(&old.request_id, DispatchEvent::WorkflowDispatch, since)
        .await
        .unwrap()
        .expect("the run is found");
    assert_eq!(found.id, fake.runs()[1].id);
}

#[tokio::test]
async fn a_run_is_followed_from_queued_through_its_steps_to_success_and_its_deployment() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    fake.set_run_timings(RunTimings {
        queued: Duration::from_millis(300),
        running: Duration::from_millis(1400),
    });
    let github = client(
        &token_config(&fake, Duration::from_secs(10)),
        workflow_settings(),
    );
    let Dispatched::Run(link) = github.dispatch(&request(1, "v5.0.0")).await.unwrap() else {
        panic!("the run is named");
    };
    let mut seen = Vec::new();
    let mut steps_seen = Vec::new();
    for _ in 0..200 {
        let progress = github.run_progress(link.id).await.unwrap();
        assert_eq!(progress.jobs.len(), 2);
        if let Some(current) = progress.current() {
            steps_seen.push((current.job.to_owned(), current.step.map(str::to_owned)));
        }
        if seen.last() != Some(&progress.run.state) {
            seen.push(progress.run.state.clone());
        }
        if matches!(progress.run.state, RunState::Completed(_)) {
            assert!(progress
                .jobs
                .iter()
                .all(|job| job.state == RunState::Completed(Conclusion::Success)));
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let success = RunState::Completed(Conclusion::Success);
    assert_eq!(seen, [RunState::Queued, RunState::InProgress, success]);
    assert!(
        steps_seen
            .iter()
            .any(|(job, step)| job == "build" && step.is_some()),
        "{steps_seen:?}"
    );
    assert!(
        steps_seen
            .iter()
            .any(|(job, step)| job == "deploy" && step.as_deref() == Some("Deploy")),
        "{steps_seen:?}"
    );

    let deployments = github.deployments("staging", 5).await.unwrap();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].version, "v5.0.0");
    assert_eq!(
        deployments[0].latest.as_ref().map(|s| &s.state),
        Some(&DeploymentState::Success)
    );
}

#[tokio::test]
async fn a_failed_run_ends_with_its_conclusion_and_records_no_deployment() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    fake.set_run_timings(RunTimings {
        queued: Duration::ZERO,
        running: Duration::from_millis(200),
    });
    fake.script_outcomes(&[RunOutcome::Failure]);
    let github = client(
        &token_config(&fake, Duration::from_secs(10)),
        workflow_settings(),
    );
    let Dispatched::Run(link) = github.dispatch(&request(1, "v6")).await.unwrap() else {
        panic!("the run is named");
    };
    let mut last = None;
    for _ in 0..100 {
        let progress = github.run_progress(link.id).await.unwrap();
        let done = matches!(progress.run.state, RunState::Completed(_));
        last = Some(progress);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let progress = last.expect("looked at least once");
    assert_eq!(progress.run.state, RunState::Completed(Conclusion::Failure));
    assert_eq!(
        progress.jobs[1].state,
        RunState::Completed(Conclusion::Failure)
    );
    assert_eq!(progress.current(), None);
    assert!(github.deployments("staging", 5).await.unwrap().is_empty());
    let missing = github.run_progress(999_999).await.unwrap_err();
    assert!(
        matches!(
            missing,
            GitHubError::RunNotFound {
                run_id: 999_999,
                ..
            }
        ),
        "{missing:?}"
    );
}

#[tokio::test]
async fn deployments_are_listed_newest_first_with_versions_and_states() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let day = |n: i64| OffsetDateTime::now_utc() - time::Duration::days(n);
    fake.seed_deployment("production", Some("v1.0.0"), "success", day(3));
    fake.seed_deployment("production", None, "failure", day(2));
    fake.seed_deployment("staging", Some("v9.9.9"), "success", day(2));
    fake.seed_deployment("production", Some("v1.1.0"), "success", day(1));
    let github = token_client(&fake);

    let records = github.deployments("production", 10).await.unwrap();
    let versions: Vec<&str> = records
        .iter()
        .map(|record| record.version.as_str())
        .collect();
    assert_eq!(
        versions,
        ["v1.1.0", "main", "v1.0.0"],
        "a payload without version shows the ref"
    );
    let states: Vec<Option<DeploymentState>> = records
        .iter()
        .map(|record| record.latest.as_ref().map(|s| s.state.clone()))
        .collect();
    assert_eq!(
        states,
        [
            Some(DeploymentState::Success),
            Some(DeploymentState::Failure),
            Some(DeploymentState::Inactive)
        ]
    );
    assert!(records
        .iter()
        .all(|record| record.environment == "production"));
    assert_eq!(records[0].creator, "github-actions[bot]");

    let two = github.deployments("production", 2).await.unwrap();
    assert_eq!(two.len(), 2);
    let lists = calls_to(&fake, "GET", "/repos/acme/app/deployments");
    assert!(lists.iter().any(|call| call.query.contains("per_page=2")));
    assert!(github.deployments("nowhere", 5).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_app_mints_one_token_for_many_calls_and_mints_again_after_it_expires() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let github = client(&app_config(&fake, app_key()), DispatchSettings::default());
    github.dispatch(&request(1, "v1")).await.unwrap();
    for _ in 0..4 {
        github.deployments("staging", 3).await.unwrap();
    }
    assert_eq!(fake.token_mints(), 1);
    let repo_calls = calls_to(&fake, "GET", "/repos/");
    assert!(repo_calls
        .iter()
        .all(|call| call.auth == AuthKind::Installation));
    let mints = calls_to(&fake, "POST", "/app/installations/4242/access_tokens");
    assert_eq!(mints.len(), 1);
    assert_eq!((mints[0].auth, mints[0].status), (AuthKind::Jwt, 201));

    fake.expire_installation_tokens();
    github.deployments("staging", 3).await.unwrap();
    assert_eq!(
        fake.token_mints(),
        2,
        "a 401 drops the kept token and mints once more"
    );
    let last: Vec<(AuthKind, u16)> = fake
        .requests()
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(|call| (call.auth, call.status))
        .collect();
    assert_eq!(
        last,
        [
            (AuthKind::Refused, 401),
            (AuthKind::Jwt, 201),
            (AuthKind::Installation, 200)
        ]
    );
}

#[tokio::test]
async fn an_app_key_github_does_not_know_is_unauthorized() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let github = client(
        &app_config(&fake, TEST_OTHER_PRIVATE_KEY),
        DispatchSettings::default(),
    );
    let error = github.deployments("staging", 3).await.unwrap_err();
    assert!(
        matches!(error, GitHubError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(
        error.human_message().contains("app_id and private_key"),
        "{error}"
    );
    assert_eq!(fake.token_mints(), 0);
    assert!(calls_to(&fake, "GET", "/repos/").is_empty());

    let mut config = app_config(&fake, app_key());
    if let GitHubAuth::App {
        installation_id, ..
    } = &mut config.auth
    {
        *installation_id += 1;
    }
    let error = client(&config, DispatchSettings::default())
        .deployments("staging", 3)
        .await
        .unwrap_err();
    assert!(
        error.human_message().contains("check installation_id"),
        "{error}"
    );
}

#[tokio::test]
async fn neither_the_token_nor_the_key_shows_in_debug() {
    let fake = FakeGitHub::start().await.expect("the fake starts");
    let config = token_config(&fake, Duration::from_secs(10));
    let shown = format!(
        "{config:?} {:?}",
        client(&config, DispatchSettings::default())
    );
    assert!(!shown.contains(&fake.token()), "{shown}");
    let app = app_config(&fake, app_key());
    let shown = format!("{app:?} {:?}", client(&app, DispatchSettings::default()));
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains(&app_key()[40..80]),
        "{shown}"
    );
    assert!(shown.contains("Iv23liFakeApp"), "{shown}");
}

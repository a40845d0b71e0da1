//! Who is in a user group (`usergroups.users.list`), over loopback against the fake Slack: the
//! members, an unknown group, a bad token, a 429 waited out, and the cache that spares Slack a
//! second call within `GROUP_MEMBERS_TTL`, also when lookups arrive together.

mod support;

use std::future::Future;
use std::time::Duration;

use chatops_bot::slack::interaction::UserId;
use chatops_bot::slack::messenger::{Messenger, SlackApiError, SlackMessenger};
use chatops_sandbox::slack::{AuthKind, FakeSlack, HttpFault};
use support::*;

const METHOD: &str = "usergroups.users.list";
const DEPLOYERS: &str = "S0DEPLOYERS";
/// `slack.request_timeout` in these tests.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The longest any lookup here may take, Retry-After waits included.
const LOOKUP_LIMIT: Duration = Duration::from_secs(20);

fn messenger_with_token(slack: &FakeSlack, token: &str) -> SlackMessenger {
    let url = url::Url::parse(&slack.api_url()).unwrap();
    SlackMessenger::new(
        &url,
        &token.to_owned().into(),
        TIMEOUT,
        &chatops_bot::config::ProxySettings::default(),
    )
    .unwrap()
}

fn messenger(slack: &FakeSlack) -> SlackMessenger {
    messenger_with_token(slack, BOT_TOKEN)
}

fn users(ids: &[&str]) -> Vec<UserId> {
    ids.iter().map(|id| UserId((*id).to_owned())).collect()
}

/// `lookup`, which must end within [`LOOKUP_LIMIT`].
async fn bounded<T>(lookup: impl Future<Output = T>) -> T {
    tokio::time::timeout(LOOKUP_LIMIT, lookup)
        .await
        .expect("a group lookup never hangs")
}

async fn fake_with_deployers() -> FakeSlack {
    let slack = fake_slack().await;
    slack.set_user_group(DEPLOYERS, &["U0ANN", "U0BOB", "U0CY"]);
    slack
}

#[tokio::test]
async fn a_groups_members_are_listed_with_one_call_on_the_bot_token() {
    let slack = fake_with_deployers().await;
    let messenger = messenger(&slack);

    let members = bounded(messenger.group_members(DEPLOYERS)).await.unwrap();

    assert_eq!(members, users(&["U0ANN", "U0BOB", "U0CY"]));
    let calls = slack.calls_to(METHOD);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param_str("usergroup"), Some(DEPLOYERS));
    assert_eq!(calls[0].auth, AuthKind::Bot);
    assert!(calls[0].ok(), "{}", calls[0].response);
    slack.shutdown().await;
}

#[tokio::test]
async fn an_unknown_group_is_rejected_with_no_such_subteam() {
    let slack = fake_with_deployers().await;
    let messenger = messenger(&slack);

    let error = bounded(messenger.group_members("S0NOBODY"))
        .await
        .unwrap_err();

    assert!(
        matches!(
            &error,
            SlackApiError::Rejected { method: METHOD, code } if code == "no_such_subteam"
        ),
        "{error:?}"
    );
    assert!(!error.is_auth_failure());
    assert_eq!(slack.calls_to(METHOD).len(), 1, "a refusal is not retried");
    slack.shutdown().await;
}

#[tokio::test]
async fn a_token_slack_does_not_know_is_an_auth_failure() {
    let slack = fake_with_deployers().await;
    let messenger = messenger_with_token(&slack, "xoxb-not-this-one");

    let error = bounded(messenger.group_members(DEPLOYERS))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, SlackApiError::Rejected { code, .. } if code == "invalid_auth"),
        "{error:?}"
    );
    assert!(error.is_auth_failure(), "the daemon stops on it (exit 77)");
    slack.shutdown().await;
}

#[tokio::test]
async fn a_429_is_waited_out_then_the_members_are_answered() {
    let slack = fake_with_deployers().await;
    let messenger = messenger(&slack);
    slack.fail_next(
        METHOD,
        HttpFault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );

    let members = bounded(messenger.group_members(DEPLOYERS)).await.unwrap();

    assert_eq!(members, users(&["U0ANN", "U0BOB", "U0CY"]));
    let calls = slack.calls_to(METHOD);
    let statuses: Vec<u16> = calls.iter().map(|call| call.status).collect();
    assert_eq!(statuses, [429, 200], "one refusal, then one answer");
    assert!(
        calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(900),
        "the retry waited for Retry-After (1 s)"
    );
    slack.shutdown().await;
}

#[tokio::test]
async fn a_second_lookup_within_the_ttl_makes_no_second_call() {
    let slack = fake_with_deployers().await;
    slack.set_user_group("S0APPROVERS", &["U0DEE"]);
    let messenger = messenger(&slack);

    let first = bounded(messenger.group_members(DEPLOYERS)).await.unwrap();
    // Changed in Slack meanwhile: the bot keeps what it read for GROUP_MEMBERS_TTL (60 s).
    slack.set_user_group(DEPLOYERS, &["U0ANN"]);
    let second = bounded(messenger.group_members(DEPLOYERS)).await.unwrap();
    let other = bounded(messenger.group_members("S0APPROVERS"))
        .await
        .unwrap();

    assert_eq!(first, second, "the second answer came from the cache");
    assert_eq!(other, users(&["U0DEE"]));
    let asked: Vec<String> = slack
        .calls_to(METHOD)
        .iter()
        .filter_map(|call| call.param_str("usergroup").map(str::to_owned))
        .collect();
    assert_eq!(asked, [DEPLOYERS, "S0APPROVERS"], "one call per group");
    slack.shutdown().await;
}

/// Five clicks that all miss the cache at once share one call: the first asks Slack (held
/// 300 ms by the fake so the others arrive meanwhile), the rest wait for its answer.
#[tokio::test]
async fn lookups_that_miss_the_cache_together_share_one_call() {
    let slack = fake_with_deployers().await;
    let messenger = messenger(&slack);
    slack.fail_next(METHOD, HttpFault::Delay(Duration::from_millis(300)), 1);

    let lookups = (0..5).map(|_| messenger.group_members(DEPLOYERS));
    let answers = bounded(futures_util::future::join_all(lookups)).await;

    for answer in answers {
        assert_eq!(answer.unwrap(), users(&["U0ANN", "U0BOB", "U0CY"]));
    }
    assert_eq!(slack.calls_to(METHOD).len(), 1);
    slack.shutdown().await;
}

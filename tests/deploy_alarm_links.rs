//! Deploys ↔ alarms, end to end: the real bot in-process against the fake Slack, the fake SQS and
//! the fake GitHub over loopback, its store seeded with successful deploys. An alarm that fires
//! on a route linked to `prod` just after a deploy offers ⏪ Roll back on its card (until it goes
//! OK); `/platform-status prod` lists the linked alarms in ALARM; the button starts a rollback.

mod support;

use std::time::{Duration, SystemTime};

use chatops_bot::store::deploys::{
    CreateOutcome, DeployAction, DeployState, DeployStore, NewDeployRequest, StateChange,
};
use chatops_bot::store::SqliteStore;
use chatops_sandbox::github::FakeGitHub;
use chatops_sandbox::slack::{envelopes, StoredMessage, Target};
use serde_json::Value;
use support::alarm_sandbox::{shown, AlarmSandbox, CHANNEL};
use support::ALARM_ARN_PREFIX;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const USER: &str = "U0ALICE";
const APPROVER: &str = "U0BOB00001";

/// A second channel of the `checkout` route: its alarms have two cards each.
const CHECKOUT_CHANNEL: &str = "C0CHECKOUT1";

/// Routes: `checkout` is linked to prod, `search` to staging, `payments` to nothing.
fn alarms_toml(github: &FakeGitHub) -> String {
    let route = |name: &str, channels: &str| {
        format!("[[alarms.route]]\nname = \"{name}\"\nchannels = [{channels}]\n[alarms.route.match]\nname = \"{name}-*\"\n")
    };
    let both = format!("\"{CHANNEL}\", \"{CHECKOUT_CHANNEL}\"");
    let alerts = format!("\"{CHANNEL}\"");
    format!(
        r#"
{checkout}
{search}
{payments}
[deploy]
default_environment = "prod"

[deploy.environments.prod]
alarm_routes = ["checkout"]
approvers = ["{APPROVER}"]
approvals = 1

[deploy.environments.staging]
alarm_routes = ["search"]

[github]
api_url = "{api}"
owner = "{owner}"
repo = "{repo}"
token = "{token}"
"#,
        checkout = route("checkout", &both),
        search = route("search", &alerts),
        payments = route("payments", &alerts),
        api = github.api_url(),
        owner = github.owner(),
        repo = github.repo(),
        token = github.token(),
    )
}

/// A deploy of `version` to `environment` that succeeded at `finished`.
fn succeeded(store: &SqliteStore, environment: &str, version: &str, finished: SystemTime) {
    let id = uuid::Uuid::new_v4().to_string();
    let new = NewDeployRequest {
        request_id: id.clone(),
        environment: environment.to_owned(),
        action: DeployAction::Deploy,
        version: version.to_owned(),
        requested_by: "U0DEPLOYER".to_owned(),
        channel: "C0DEPLOYS".to_owned(),
        approvals_needed: 0,
        state: DeployState::Approved,
        created_at: finished - 5 * MINUTE,
        expires_at: finished + 25 * MINUTE,
    };
    assert!(matches!(
        store.create_request(&new).unwrap(),
        CreateOutcome::Created
    ));
    let change = StateChange {
        at: finished,
        decided_by: None,
    };
    let moved = store
        .transition(
            &id,
            &[DeployState::Approved],
            DeployState::Succeeded,
            change,
        )
        .unwrap();
    assert!(moved, "{version} to {environment} recorded as succeeded");
}

/// The bot's store, seeded (off the async runtime, as the store asks) with prod's v1.2.2 then
/// v1.2.3 (finished a minute ago), and staging's v0.9.0 then v0.9.1 (finished two hours ago,
/// beyond the default 30-minute `suspect_window`).
fn seeded_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    std::thread::spawn(move || {
        let store = SqliteStore::open(&path).unwrap();
        let now = SystemTime::now();
        succeeded(&store, "prod", "v1.2.2", now - 3 * 60 * MINUTE);
        succeeded(&store, "prod", "v1.2.3", now - MINUTE);
        succeeded(&store, "staging", "v0.9.0", now - 3 * 60 * MINUTE);
        succeeded(&store, "staging", "v0.9.1", now - 2 * 60 * MINUTE);
    })
    .join()
    .unwrap();
    dir
}

/// Now, as CloudWatch writes `StateChangeTime`.
fn cloudwatch_now() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

struct Rig {
    s: AlarmSandbox,
    _github: FakeGitHub,
    published: usize,
}

impl Rig {
    async fn start() -> Rig {
        let github = FakeGitHub::start().await.unwrap();
        let s = AlarmSandbox::start_in(seeded_store(), &alarms_toml(&github), &[]).await;
        Rig {
            s,
            _github: github,
            published: 0,
        }
    }

    /// Publishes `name` going into `state` now, and waits until the bot has handled it.
    async fn publish(&mut self, name: &str, state: &str, old: &str) {
        self.s.publish(name, state, old, &cloudwatch_now());
        self.published += 1;
        self.s
            .sqs
            .wait_for_deleted(&self.s.queue, self.published, 10 * SECOND)
            .await
            .unwrap();
    }

    /// `name`'s card as it is now.
    fn card(&self, name: &str) -> StoredMessage {
        let cards: Vec<StoredMessage> = self
            .s
            .top_level()
            .into_iter()
            .filter(|m| m.text.contains(name))
            .collect();
        assert_eq!(cards.len(), 1, "one card for {name}: {cards:?}");
        cards.into_iter().next().unwrap()
    }
}

/// The card's buttons as (action_id, label), in its blocks or its attachments' (a card with a
/// colour bar).
fn buttons(card: &StoredMessage) -> Vec<(String, String)> {
    let mut blocks: Vec<Value> = card
        .blocks
        .as_ref()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let attachments = card.attachments.as_ref().and_then(Value::as_array);
    for attachment in attachments.into_iter().flatten() {
        blocks.extend(
            attachment["blocks"]
                .as_array()
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    let mut found = Vec::new();
    for block in &blocks {
        if block["type"] != "actions" {
            continue;
        }
        for element in block["elements"].as_array().into_iter().flatten() {
            found.push((
                element["action_id"].as_str().unwrap_or_default().to_owned(),
                element["text"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
    }
    found
}

/// The labels of the card's ⏪ buttons (after checking its usual buttons were read).
fn rollback_labels(card: &StoredMessage) -> Vec<String> {
    let buttons = buttons(card);
    assert!(
        buttons.iter().any(|(action, _)| action == "alarm.watch"),
        "the card's buttons are read, the usual ones included: {buttons:?}"
    );
    buttons
        .into_iter()
        .filter(|(action, _)| action == "alarm.rollback")
        .map(|(_, label)| label)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suspect_alarms_offer_a_rollback_that_starts_one_and_status_lists_the_firing_ones() {
    let mut rig = Rig::start().await;

    // On a route linked to prod, a minute after prod's deploy of v1.2.3.
    rig.publish("checkout-5xx", "ALARM", "OK").await;
    let card = rig.card("checkout-5xx");
    assert_eq!(rollback_labels(&card), ["⏪ Roll back to v1.2.2"]);
    let in_route_channel: Vec<StoredMessage> = rig.s.slack.messages(CHECKOUT_CHANNEL);
    assert_eq!(in_route_channel.len(), 1, "{in_route_channel:?}");
    assert_eq!(
        rollback_labels(&in_route_channel[0]),
        ["⏪ Roll back to v1.2.2"]
    );

    // Going OK takes the button away.
    rig.publish("checkout-latency", "ALARM", "OK").await;
    assert_eq!(rollback_labels(&rig.card("checkout-latency")).len(), 1);
    rig.publish("checkout-latency", "OK", "ALARM").await;
    let resolved = rig.card("checkout-latency");
    assert!(resolved.text.starts_with("✅ OK"), "{}", shown(&resolved));
    assert!(rollback_labels(&resolved).is_empty());

    // A route linked to nothing, and one whose environment's last deploy is older than the
    // window, offer nothing.
    rig.publish("payments-down", "ALARM", "OK").await;
    assert!(rollback_labels(&rig.card("payments-down")).is_empty());
    rig.publish("search-errors", "ALARM", "OK").await;
    assert!(rollback_labels(&rig.card("search-errors")).is_empty());

    // A repeated ALARM (no change of state) keeps the button on the updated card.
    rig.publish("checkout-5xx", "ALARM", "ALARM").await;
    assert_eq!(
        rollback_labels(&rig.card("checkout-5xx")),
        ["⏪ Roll back to v1.2.2"]
    );

    // prod's firing alarms: checkout-5xx only, once for its two cards (checkout-latency is
    // OK, the others are not on prod's routes).
    let slack = &rig.s.slack;
    slack
        .send(
            Target::Any,
            envelopes::slash_command("/platform-status", "prod", CHANNEL, USER),
        )
        .await
        .unwrap();
    let reply = slack
        .wait_for_call(
            "hooks",
            |c| c.params.to_string().contains("`prod`"),
            10 * SECOND,
        )
        .await
        .unwrap();
    let status = reply.params.to_string();
    assert!(
        status.contains("1 linked alarm(s) firing: checkout-5xx ("),
        "{status}"
    );
    for other in ["checkout-latency", "payments-down", "search-errors"] {
        assert!(!status.contains(other), "{other} is not listed: {status}");
    }

    // 👀 Watching re-renders the card: the button stays.
    let card_ts = rig.card("checkout-5xx").ts;
    let key = format!("{ALARM_ARN_PREFIX}checkout-5xx");
    slack
        .send(
            Target::Any,
            envelopes::block_actions(CHANNEL, USER, &card_ts, "alarm.watch", &key),
        )
        .await
        .unwrap();
    slack
        .wait_for_call(
            "chat.postMessage",
            |c| {
                c.param_str("thread_ts") == Some(card_ts.as_str())
                    && c.params.to_string().contains("is watching")
            },
            10 * SECOND,
        )
        .await
        .unwrap();
    let watched = rig.card("checkout-5xx");
    assert!(shown(&watched).contains(USER), "{}", shown(&watched));
    assert_eq!(rollback_labels(&watched), ["⏪ Roll back to v1.2.2"]);

    // ⏪ on the card starts a rollback of prod to v1.2.2, in a thread of its own in the channel.
    slack
        .send(
            Target::Any,
            envelopes::block_actions(CHANNEL, USER, &card_ts, "alarm.rollback", &key),
        )
        .await
        .unwrap();
    let root = slack
        .wait_for_call(
            "chat.postMessage",
            |c| {
                c.param_str("thread_ts").is_none()
                    && c.params.to_string().contains("⏪ Roll back prod to v1.2.2")
            },
            10 * SECOND,
        )
        .await
        .unwrap();
    assert_eq!(root.param_str("channel"), Some(CHANNEL));

    rig.s.bot.stop().await.unwrap();
}

/// Types `/platform-<command> <text>` and returns the approval card the request posts.
async fn approval_card(rig: &Rig, command: &str, text: &str) -> StoredMessage {
    let slack = &rig.s.slack;
    let before = slack.calls().last().map_or(0, |c| c.seq);
    let envelope = envelopes::slash_command(&format!("/platform-{command}"), text, CHANNEL, USER);
    slack.send(Target::Any, envelope).await.unwrap();
    let card = slack
        .wait_for_call(
            "chat.postMessage",
            |c| c.seq > before && c.params.to_string().contains("Approval needed"),
            10 * SECOND,
        )
        .await
        .unwrap();
    let ts = card.response["ts"].as_str().unwrap().to_owned();
    slack
        .messages(CHANNEL)
        .into_iter()
        .find(|m| m.ts == ts)
        .unwrap()
}

/// ✖ Reject on `card` by the approver, and the rejection answered: prod is free again.
async fn reject(rig: &Rig, card: &StoredMessage) {
    let slack = &rig.s.slack;
    let before = slack.calls().last().map_or(0, |c| c.seq);
    let click = envelopes::block_actions(CHANNEL, APPROVER, &card.ts, "deploy.reject", "");
    slack.send(Target::Any, click).await.unwrap();
    slack
        .wait_for_call(
            "hooks",
            |c| c.seq > before && c.params.to_string().contains("Rejected"),
            10 * SECOND,
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deploy_needs_one_approval_more_while_a_linked_alarm_fires_but_a_rollback_does_not() {
    let mut rig = Rig::start().await;
    let quiet = approval_card(&rig, "deploy", "v1.3.0 to prod").await;
    assert!(shown(&quiet).contains("0 of 1"), "{}", shown(&quiet));
    assert!(
        !shown(&quiet).contains("One approval more"),
        "{}",
        shown(&quiet)
    );
    reject(&rig, &quiet).await;

    rig.publish("checkout-5xx", "ALARM", "OK").await;
    rig.publish("payments-down", "ALARM", "OK").await;
    let firing = approval_card(&rig, "deploy", "v1.3.1 to prod").await;
    let text = shown(&firing);
    assert!(text.contains("0 of 2"), "{text}");
    assert!(
        text.contains("One approval more than usual: 1 alarm(s) firing on `prod`: checkout-5xx"),
        "{text}"
    );
    assert!(
        !text.contains("payments-down"),
        "not on prod's routes: {text}"
    );
    reject(&rig, &firing).await;

    let rollback = approval_card(&rig, "rollback", "prod").await;
    assert!(
        shown(&rollback).contains("0 of 1"),
        "rollbacks are exempt: {}",
        shown(&rollback)
    );
    reject(&rig, &rollback).await;

    rig.publish("checkout-5xx", "OK", "ALARM").await;
    let calm = approval_card(&rig, "deploy", "v1.3.2 to prod").await;
    assert!(shown(&calm).contains("0 of 1"), "{}", shown(&calm));
    rig.s.bot.stop().await.unwrap();
}

//! Overload: past `slack.socket.max_queued` waiting interactions, every interactive payload is
//! still handled or answered "busy", and the overload counters say what was shed.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chatops_bot::config::CommandNames;
use chatops_bot::context::Context;
use chatops_bot::router::Router;
use chatops_bot::slack::interaction::{Interaction, TeamId, UserId};
use chatops_bot::slack::messenger::{BotIdentity, SlackMessenger};
use chatops_bot::slack::socket::dispatch::{DispatchLimits, InteractionHandler};
use chatops_bot::stats::LatencyStats;
use chatops_bot::store::{Blocking, SqliteStore};
use chatops_sandbox::slack::envelopes;
use chatops_sandbox::slack::Target;
use support::*;
use tokio::sync::Semaphore;

const SECOND: Duration = Duration::from_secs(1);

/// The real router against the fake Slack, except that the first interaction it handles waits
/// for `gate`: with one handler slot, nothing else is handled until the test opens it.
struct GatedRouter {
    router: Router,
    gate: Semaphore,
    started: AtomicBool,
    handled: Mutex<usize>,
}

#[async_trait]
impl InteractionHandler for GatedRouter {
    async fn handle(&self, interaction: Interaction) {
        if !self.started.swap(true, Ordering::SeqCst) {
            let _ = tokio::time::timeout(120 * SECOND, self.gate.acquire()).await;
        }
        self.router.handle(interaction).await;
        *self.handled.lock().unwrap() += 1;
    }

    async fn answer_busy(&self, interaction: Interaction) {
        self.router.answer_busy(interaction).await;
    }
}

fn gated_router(fake: &chatops_sandbox::slack::FakeSlack) -> GatedRouter {
    let api_url = url::Url::parse(&fake.api_url()).unwrap();
    let slack = SlackMessenger::new(
        &api_url,
        &BOT_TOKEN.to_owned().into(),
        std::time::Duration::from_secs(10),
        &chatops_bot::config::ProxySettings::default(),
    )
    .unwrap();
    let ctx = Context {
        slack: Arc::new(slack),
        store: Blocking::new(Arc::new(SqliteStore::in_memory().unwrap())),
        bot: BotIdentity {
            user_id: UserId("U0BOT".into()),
            name: "chatops".into(),
            team: "Sandbox".into(),
            team_id: TeamId("T0SANDBOX".into()),
            bot_id: Some("B0BOT".into()),
            team_url: None,
        },
        commands: CommandNames::new("platform"),
        alarms: None,
        conversations: None,
        reports: None,
        deploys: None,
        custom_actions: None,
        stats: LatencyStats::new(Blocking::new(Arc::new(SqliteStore::in_memory().unwrap()))),
        health: Arc::new(chatops_bot::health::Health::default()),
        aws: None,
    };
    GatedRouter {
        router: Router::new(Arc::new(ctx)),
        gate: Semaphore::new(0),
        started: AtomicBool::new(false),
        handled: Mutex::new(0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_envelopes_past_the_bound_leave_no_interactive_payload_unanswered() {
    const MAX_QUEUED: usize = 1000;
    const N: usize = 10_000;
    let fake = fake_slack().await;
    let handler = Arc::new(gated_router(&fake));
    let limits = DispatchLimits {
        max_handlers: 1,
        max_queued: MAX_QUEUED,
    };
    let client = RunningClient::start_with_limits(&fake, handler.clone(), 1, limits);
    fake.wait_for_connections(1, 5 * SECOND).await.unwrap();

    // The only handler slot is taken by a slash command that waits for the gate.
    let first = envelopes::slash_command("/platform-help", "", "C0OPS", "U0ALICE");
    fake.send(Target::Any, first).await.unwrap();
    eventually(10 * SECOND, "the slow handler to start", || {
        handler.started.load(Ordering::SeqCst)
    })
    .await;

    // 10,000 at once: one in ten interactive (a button click or a slash command), the rest mentions.
    let mut interactive = 0;
    for i in 0..N {
        let envelope = match i % 20 {
            0 => envelopes::block_actions("C0OPS", "U0BOB", "1.000100", "alarm.nope", "x"),
            10 => envelopes::slash_command("/platform-help", "", "C0OPS", "U0BOB"),
            _ => envelopes::app_mention("C0OPS", "U0CAROL", &format!("<@U0BOT> help {i}")),
        };
        if i % 10 == 0 {
            interactive += 1;
        }
        fake.send(Target::Any, envelope).await.unwrap();
    }
    fake.wait_for_acks(N + 1, 60 * SECOND).await.unwrap();

    // The first MAX_QUEUED wait for the handler; every interactive payload after them is answered
    // "busy" while the handler is still blocked, and every mention after them is dropped.
    let overflow_interactive = interactive - MAX_QUEUED / 10;
    let overflow_events = (N - MAX_QUEUED) - overflow_interactive;
    let metrics = client.metrics.clone();
    eventually(
        60 * SECOND,
        "a busy answer to every interactive overflow",
        || metrics.overload_busy_answers.get() == overflow_interactive as u64,
    )
    .await;
    assert_eq!(
        *handler.handled.lock().unwrap(),
        0,
        "the handler is still blocked"
    );
    let busy: Vec<_> = fake
        .calls_to("hooks")
        .into_iter()
        .filter(|c| c.param_str("text").is_some_and(|t| t.contains("too busy")))
        .collect();
    assert_eq!(
        busy.len(),
        overflow_interactive,
        "each one answered through its response_url"
    );
    assert!(busy
        .iter()
        .all(|c| c.param_str("response_type") == Some("ephemeral")));
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.overload_events_dropped, overflow_events as u64);
    assert_eq!(snapshot.overload_unanswered, 0);

    // Open the gate: everything that was queued is handled.
    handler.gate.add_permits(1);
    eventually(60 * SECOND, "every queued interaction handled", || {
        *handler.handled.lock().unwrap() == 1 + MAX_QUEUED
    })
    .await;
    eventually(30 * SECOND, "one answer per interactive payload", || {
        fake.calls_to("hooks").len() == interactive + 1
    })
    .await;
    // Exactly one answer per response_url: handled or busy, never both, never none.
    let mut paths: Vec<String> = fake.calls_to("hooks").into_iter().map(|c| c.path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), interactive + 1);
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.interactions_handled, 1 + MAX_QUEUED as u64);
    assert_eq!(
        snapshot.interactions_handled
            + snapshot.overload_busy_answers
            + snapshot.overload_events_dropped,
        N as u64 + 1,
        "every envelope is accounted for: {snapshot:?}"
    );
    assert_eq!(client.dispatcher.in_flight(), 0);
    client.stop().await.unwrap();
}

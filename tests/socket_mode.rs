//! Socket Mode behaviour over real loopback sockets against the sandbox's fake Slack.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chatops_sandbox::slack::envelopes::{self, Envelope};
use chatops_sandbox::slack::{
    ConnectionEnd, FakeSlack, FakeSlackOptions, HttpFault, Redelivery, Target,
};
use support::*;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_acked_well_within_slacks_deadline_and_every_mention_is_answered() {
    let fake = fake_slack().await;
    let bot = RunningBot::start(&fake, 2).await;
    fake.wait_for_connections(2, 5 * SECOND).await.unwrap();
    const N: usize = 300;
    for i in 0..N {
        fake.send(
            Target::Any,
            envelopes::app_mention("C0OPS", "U0ALICE", &format!("<@U0BOT> help {i}")),
        )
        .await
        .unwrap();
    }
    fake.wait_for_acks(N, 5 * SECOND).await.unwrap();
    let latencies = fake.ack_latencies();
    assert_eq!(latencies.len(), N);
    let worst = latencies.iter().max().unwrap();
    assert!(
        *worst < Duration::from_millis(1500),
        "worst ack took {worst:?}; Slack retries after 3 s"
    );
    // Nothing lost: every mention gets its help reply, in its own thread.
    eventually(20 * SECOND, "a reply to every mention", || {
        fake.calls_to("chat.postMessage").len() >= N
    })
    .await;
    let threads: std::collections::HashSet<_> = fake
        .calls_to("chat.postMessage")
        .iter()
        .filter_map(|c| c.param_str("thread_ts").map(str::to_owned))
        .collect();
    assert_eq!(
        threads.len(),
        N,
        "each mention answered exactly once in its thread"
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_is_answered_in_the_dm_and_a_thread_reply_is_not() {
    let fake = fake_slack().await;
    let bot = RunningBot::start(&fake, 1).await;
    fake.wait_for_connections(1, 5 * SECOND).await.unwrap();
    // A thread reply first: ignored on purpose, so the only answer below is the DM's.
    fake.send(
        Target::Any,
        envelopes::thread_message("C0OPS", "U0ALICE", "is this still firing?", "1.000100"),
    )
    .await
    .unwrap();
    fake.send(
        Target::Any,
        envelopes::direct_message("D0ALICE", "U0ALICE", "hello, what can you do?"),
    )
    .await
    .unwrap();
    fake.send(
        Target::Any,
        envelopes::direct_message("D0ALICE", "U0ALICE", "help"),
    )
    .await
    .unwrap();
    fake.wait_for_acks(3, 5 * SECOND).await.unwrap();
    eventually(10 * SECOND, "an answer to both DMs", || {
        fake.calls_to("chat.postMessage").len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // room for a stray answer
    let posts = fake.calls_to("chat.postMessage");
    assert_eq!(
        posts.len(),
        2,
        "one answer per DM, none to the thread reply"
    );
    for post in &posts {
        assert_eq!(
            post.param_str("channel"),
            Some("D0ALICE"),
            "answered in the DM"
        );
        assert_eq!(post.param_str("thread_ts"), None, "at the DM's top level");
    }
    let texts: Vec<String> = posts.iter().map(|p| p.params.to_string()).collect();
    // Handled concurrently, so in either order: the help text, and a pointer to it.
    assert!(
        texts.iter().any(|t| t.contains("what I can do")),
        "the help text: {texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("I don't know the command") && t.contains("help")),
        "a pointer to the help: {texts:?}"
    );
    assert!(fake.calls_to("chat.postEphemeral").is_empty());
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_sleeping_ten_seconds_delays_no_other_ack() {
    let fake = fake_slack().await;
    // One handler slot only, and the first handler sleeps 10 s: acks must not wait for slots.
    let handler = Arc::new(RecordingHandler::slow(1, 10 * SECOND));
    let client = RunningClient::start(&fake, handler.clone(), 1, 1);
    fake.wait_for_connections(1, 5 * SECOND).await.unwrap();
    fake.send(
        Target::Any,
        envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> slow"),
    )
    .await
    .unwrap();
    fake.wait_for_acks(1, SECOND).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await; // the slow handler now holds the only slot
    for i in 0..50 {
        fake.send(
            Target::Any,
            envelopes::app_mention("C0OPS", "U0ALICE", &format!("<@U0BOT> fast {i}")),
        )
        .await
        .unwrap();
    }
    fake.wait_for_acks(51, 2 * SECOND).await.unwrap();
    let worst = fake.ack_latencies().into_iter().max().unwrap();
    assert!(
        worst < Duration::from_millis(500),
        "an ack waited {worst:?} behind a sleeping handler"
    );
    assert!(
        handler.mention_texts().is_empty(),
        "the bound holds: nothing ran while the slot was taken"
    );
    // Acks go out before dispatch, so the last one may be queued a moment after its ack is read.
    eventually(
        SECOND,
        "all 51 interactions queued behind the sleeping one",
        || client.dispatcher.in_flight() == 51,
    )
    .await;
    drop(client); // the sleeping handler is abandoned with the runtime
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_requested_mid_stream_loses_nothing_and_handles_nothing_twice() {
    let fake = FakeSlack::start(FakeSlackOptions {
        redelivery: Some(Redelivery {
            after: Duration::from_millis(500),
            max_attempts: 3,
            same_envelope_id: true,
        }),
        disconnect_grace: 2 * SECOND,
        ..Default::default()
    })
    .await
    .unwrap();
    let handler = Arc::new(RecordingHandler::default());
    let client = RunningClient::start(&fake, handler.clone(), 1, 64);
    let first = fake.wait_for_connections(1, 5 * SECOND).await.unwrap()[0];
    const N: usize = 400;
    for i in 0..N {
        if i == N / 2 {
            fake.disconnect(first, "refresh_requested").await.unwrap();
        }
        // Slack holds events while no connection is live; the test does the same, bounded.
        let envelope = envelopes::app_mention("C0OPS", "U0ALICE", &format!("<@U0BOT> n{i}"));
        let mut tries = 0;
        while fake.send(Target::Any, envelope.clone()).await.is_err() {
            tries += 1;
            assert!(
                tries < 500,
                "no live connection for 5 s after refresh_requested"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    eventually(10 * SECOND, "every mention handled", || {
        handler.mention_texts().len() >= N
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await; // room for any stray redelivery
    let mut counts: HashMap<String, usize> = HashMap::new();
    for text in handler.mention_texts() {
        *counts.entry(text).or_default() += 1;
    }
    assert_eq!(counts.len(), N, "every mention was handled");
    assert!(
        counts.values().all(|&c| c == 1),
        "a mention was handled twice: {counts:?}"
    );
    // The replacement said hello before the old connection was closed.
    let log = fake.connection_log();
    let old = log.iter().find(|c| c.id == first).unwrap();
    let new = log
        .iter()
        .find(|c| c.id != first)
        .expect("a replacement connection");
    let (new_opened, old_closed) = (
        new.opened_at,
        old.closed_at.expect("the old connection was closed"),
    );
    assert!(
        new_opened < old_closed,
        "replacement must open before the old one closes"
    );
    assert!(
        matches!(old.end, Some(ConnectionEnd::ClientClosed { .. })),
        "old connection ended {:?}",
        old.end
    );
    client.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abrupt_close_reconnects_and_slacks_redelivery_is_handled_once() {
    let fake = fake_slack().await;
    let handler = Arc::new(RecordingHandler::default());
    let client = RunningClient::start(&fake, handler.clone(), 1, 64);
    let first = fake.wait_for_connections(1, 5 * SECOND).await.unwrap()[0];
    let original = envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> once");
    let sent = fake.send(Target::Any, original.clone()).await.unwrap();
    fake.wait_for_ack(sent.envelope_id.as_deref().unwrap(), SECOND)
        .await
        .unwrap();
    fake.abort(first).await.unwrap();
    let second = fake.wait_for_connections(1, 5 * SECOND).await.unwrap()[0];
    assert_ne!(first, second, "the bot reconnected on a new connection");
    // Slack did not see the ack and delivers the same event again, as retry 1, same envelope id.
    let mut retry = original.json().unwrap().clone();
    retry["retry_attempt"] = 1.into();
    retry["retry_reason"] = "timeout".into();
    let resent = fake
        .send(Target::Conn(second), Envelope::raw(retry))
        .await
        .unwrap();
    fake.wait_for_ack(resent.envelope_id.as_deref().unwrap(), SECOND)
        .await
        .unwrap();
    eventually(2 * SECOND, "the duplicate to be recognised", || {
        client.metrics.snapshot().duplicates_skipped == 1
    })
    .await;
    assert_eq!(handler.mention_texts(), vec!["once".to_owned()]);
    assert_eq!(
        client.metrics.snapshot().redeliveries.get("timeout"),
        Some(&1)
    );
    client.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_loss_triggers_a_reconnect_and_stranded_events_arrive_once() {
    let fake = FakeSlack::start(FakeSlackOptions {
        redelivery: Some(Redelivery {
            after: Duration::from_millis(800),
            max_attempts: 3,
            same_envelope_id: false,
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    let handler = Arc::new(RecordingHandler::default());
    let client = RunningClient::start(&fake, handler.clone(), 1, 64);
    let first = fake.wait_for_connections(1, 5 * SECOND).await.unwrap()[0];
    fake.stall(first); // a half-open link: no pongs, no frames
    fake.send(
        Target::Conn(first),
        envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> stranded"),
    )
    .await
    .unwrap();
    let started = tokio::time::Instant::now();
    let second = loop {
        let open = fake.open_connections();
        if let Some(c) = open.into_iter().find(|c| *c != first) {
            break c;
        }
        assert!(
            started.elapsed() < 3 * SECOND,
            "no reconnect after the pongs stopped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(second, first);
    eventually(
        5 * SECOND,
        "the stranded event to be redelivered and handled",
        || !handler.mention_texts().is_empty(),
    )
    .await;
    tokio::time::sleep(SECOND).await;
    assert_eq!(handler.mention_texts(), vec!["stranded".to_owned()]);
    client.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_respected_for_connections_and_web_api_calls() {
    let fake = fake_slack().await;
    fake.fail_next(
        "apps.connections.open",
        HttpFault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    fake.fail_next(
        "chat.postMessage",
        HttpFault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    let bot = RunningBot::start(&fake, 1).await;
    fake.wait_for_connections(1, 5 * SECOND).await.unwrap();
    let opens = fake.calls_to("apps.connections.open");
    assert_eq!(opens[0].status, 429);
    let gap = opens[1].at - opens[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "reopened after {gap:?}, before Retry-After"
    );

    fake.send(
        Target::Any,
        envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help"),
    )
    .await
    .unwrap();
    let ok = fake
        .wait_for_call("chat.postMessage", |c| c.ok(), 5 * SECOND)
        .await
        .unwrap();
    let posts = fake.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 2, "one 429, one retry, no storm");
    assert!(
        ok.at - posts[0].at >= Duration::from_millis(950),
        "retried before Retry-After"
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_acked_and_do_not_break_the_connection() {
    let fake = fake_slack().await;
    let handler = Arc::new(RecordingHandler::default());
    let client = RunningClient::start(&fake, handler.clone(), 1, 8);
    fake.wait_for_connections(1, 5 * SECOND).await.unwrap();
    fake.send(
        Target::Any,
        Envelope::garbage(r#"{"envelope_id":"broken-1","type":"events_api","payload":{"#),
    )
    .await
    .unwrap();
    fake.send(Target::Any, Envelope::raw(serde_json::json!({"envelope_id":"odd-1","type":"events_api","payload":{"type":"event_callback","event":{"type":"app_mention"}}}))).await.unwrap();
    fake.send(
        Target::Any,
        envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> after"),
    )
    .await
    .unwrap();
    fake.wait_for_ack("broken-1", SECOND).await.unwrap();
    fake.wait_for_ack("odd-1", SECOND).await.unwrap();
    eventually(2 * SECOND, "the valid mention", || {
        handler.mention_texts() == ["after"]
    })
    .await;
    assert_eq!(client.metrics.snapshot().frames_malformed, 1);
    assert_eq!(fake.open_connections().len(), 1);
    client.stop().await.unwrap();
}

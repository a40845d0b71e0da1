//! Per-channel pacing end to end: the real bot, in-process, against the sandbox's fake Slack.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use chatops_sandbox::slack::envelopes;
use chatops_sandbox::slack::Target;
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const CHANNEL: &str = "C0PACED01";
const MENTIONS: usize = 8;
const BURST: usize = 2;
const INTERVAL: Duration = Duration::from_millis(200);
/// Slack for HTTP and scheduling jitter between a slot and the request reaching the fake.
const JITTER: Duration = Duration::from_millis(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_in_one_channel_go_out_a_burst_then_one_per_interval() {
    let fake = fake_slack().await;
    let bot = RunningBot::start_with_env(
        &fake,
        1,
        "",
        &[
            ("CHATOPS_SLACK__CHANNEL_INTERVAL", "200ms"),
            ("CHATOPS_SLACK__CHANNEL_BURST", "2"),
        ],
    )
    .await;
    fake.wait_for_connections(1, 5 * SECOND).await.unwrap();

    let mut mention_ts = BTreeSet::new();
    for i in 0..MENTIONS {
        let mention = envelopes::app_mention(CHANNEL, "U0ALICE", &format!("<@U0BOT> help {i}"));
        let ts = mention
            .json()
            .and_then(|envelope| envelope["payload"]["event"]["ts"].as_str());
        mention_ts.insert(ts.expect("a mention has a ts").to_owned());
        fake.send(Target::Any, mention).await.unwrap();
    }
    fake.wait_for_acks(MENTIONS, 2 * SECOND).await.unwrap();
    // Unpaced, all replies would land within a few ms; paced, the last is due 1.2 s after the first.
    eventually(4 * SECOND, "a reply to every mention", || {
        fake.calls_to("chat.postMessage").len() >= MENTIONS
    })
    .await;
    tokio::time::sleep(2 * INTERVAL).await; // room for a duplicate reply to show up
    bot.stop().await.unwrap();

    let mut replies = fake.calls_to("chat.postMessage");
    replies.sort_by_key(|call| call.seq);
    assert!(replies.iter().all(|call| call.ok()), "{replies:#?}");
    assert!(
        replies
            .iter()
            .all(|call| call.param_str("channel") == Some(CHANNEL)),
        "every reply went to the mention's channel"
    );
    let threads: Vec<&str> = replies
        .iter()
        .filter_map(|call| call.param_str("thread_ts"))
        .collect();
    assert_eq!(threads.len(), MENTIONS, "one reply per mention, no more");
    let answered: BTreeSet<String> = threads.iter().map(|ts| ts.to_string()).collect();
    assert_eq!(
        answered, mention_ts,
        "each mention answered exactly once in its thread"
    );

    let first = replies[0].at;
    let offsets: Vec<Duration> = replies.iter().map(|call| call.at - first).collect();
    for pair in replies[BURST..].windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= INTERVAL - JITTER,
            "after the burst of {BURST}, replies {gap:?} apart; offsets {offsets:?}"
        );
    }
    // The GCRA bound: the k-th reply after the burst is at least k intervals after the first.
    for (k, offset) in offsets.iter().enumerate().skip(BURST) {
        let earliest = INTERVAL * (k + 1 - BURST) as u32;
        assert!(
            *offset + JITTER >= earliest,
            "reply {k} at {offset:?}, before {earliest:?}; offsets {offsets:?}"
        );
    }
}

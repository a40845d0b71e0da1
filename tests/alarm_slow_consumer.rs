//! A consumer slower than the visibility timeout: a burst to one paced channel takes far longer than `alarms.visibility_timeout`, yet every alarm shows exactly once.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use chatops_sandbox::slack::HttpFault;
use support::alarm_sandbox::{AlarmSandbox, CHANNEL};
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const ALARMS: usize = 30;

fn alarm_name(i: usize) -> String {
    format!("SlowConsumer{i:02}")
}

/// 30 alarms for one channel at once, posted one a second (Slack's per-channel pace) with each
/// post also slow to answer: handling the burst takes about 30 s, three visibility timeouts
/// (10 s). Messages waiting their turn must stay hidden (or be recognised when they come back):
/// one card per alarm, none twice, every message deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_slower_than_the_visibility_timeout_posts_each_alarm_once() {
    let s = AlarmSandbox::start(
        "pollers = 2\nvisibility_timeout = \"10s\"\nunwatched_nudge = \"0s\"\nstorm_threshold = 0\n",
        &[
            ("CHATOPS_SLACK__CHANNEL_INTERVAL", "1s"),
            ("CHATOPS_SLACK__CHANNEL_BURST", "1"),
        ],
    )
    .await;
    s.slack.fail_next(
        "chat.postMessage",
        HttpFault::Delay(SECOND / 2),
        ALARMS as u32,
    );
    let bodies: Vec<String> = (0..ALARMS)
        .map(|i| {
            cloudwatch_alarm(
                &alarm_name(i),
                "ALARM",
                "OK",
                "2026-11-23T13:53:39.351+0000",
                "Threshold Crossed",
            )
        })
        .collect();
    for body in &bodies {
        s.sqs
            .publish_sns(&s.queue, Some("alarm"), body, BTreeMap::new(), false)
            .unwrap();
    }
    s.sqs
        .wait_for_deleted(&s.queue, ALARMS, 120 * SECOND)
        .await
        .unwrap();
    // Anything received a second time has had its chance to post by now.
    tokio::time::sleep(2 * SECOND).await;

    let cards = s.top_level();
    let mut per_alarm: BTreeMap<String, usize> = BTreeMap::new();
    for card in &cards {
        let name = (0..ALARMS)
            .map(alarm_name)
            .find(|name| card.text.contains(name.as_str()))
            .unwrap_or_else(|| panic!("a card for no alarm of the burst: {}", card.text));
        *per_alarm.entry(name).or_default() += 1;
    }
    let twice: Vec<_> = per_alarm.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "alarms shown more than once: {twice:?}");
    assert_eq!(per_alarm.len(), ALARMS, "every alarm has its card");
    let posts = s.slack.calls_to("chat.postMessage");
    assert_eq!(
        posts.len(),
        ALARMS,
        "one post per alarm, none repeated: {} posts in {CHANNEL}",
        posts.len()
    );
    s.bot.stop().await.unwrap();
}

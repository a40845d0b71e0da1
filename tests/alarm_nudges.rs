//! The "nobody is watching" nudge, through the fake SQS and Slack: it counts from when the card
//! was there to be watched, not from an alarm's state change long before a late delivery.

mod support;

use std::time::{Duration, SystemTime};

use chatops_sandbox::slack::StoredMessage;
use support::alarm_sandbox::AlarmSandbox;
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const NUDGE_AFTER: f64 = 2.0;

/// CloudWatch's `StateChangeTime` format (`2026-12-07T18:00:00.000+0000`), `ago` before now.
fn state_change_time(ago: Duration) -> String {
    let at = humantime::format_rfc3339_millis(SystemTime::now() - ago).to_string();
    at.replace('Z', "+0000")
}

fn ts_secs(message: &StoredMessage) -> f64 {
    message.ts.parse().unwrap()
}

/// Waits for the card of `name` and the nudge in its thread; returns (card, nudge).
async fn card_and_nudge(s: &AlarmSandbox, name: &str) -> (StoredMessage, StoredMessage) {
    let mut found = None;
    eventually(20 * SECOND, &format!("a nudge on {name}'s card"), || {
        let card = s.top_level().into_iter().find(|m| m.text.contains(name));
        let nudge = card.as_ref().and_then(|card| {
            s.thread(&card.ts)
                .into_iter()
                .find(|m| m.text.contains("Nobody has pressed"))
        });
        found = card.zip(nudge);
        found.is_some()
    })
    .await;
    found.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_delivered_alarm_is_nudged_only_after_its_card_has_been_up_long_enough() {
    let s = AlarmSandbox::start("unwatched_nudge = \"2s\"\nstorm_threshold = 0\n", &[]).await;
    // Went into ALARM an hour ago, delivered now (a delayed or redriven message).
    s.publish(
        "LateDelivered",
        "ALARM",
        "OK",
        &state_change_time(3600 * SECOND),
    );
    let (card, nudge) = card_and_nudge(&s, "LateDelivered").await;
    let waited = ts_secs(&nudge) - ts_secs(&card);
    assert!(
        waited >= NUDGE_AFTER,
        "nudged {waited:.2}s after the card appeared, before anyone had {NUDGE_AFTER}s to press Watching"
    );

    // A fresh alarm is nudged on the same schedule, counted from its state change.
    s.publish(
        "FreshAlarm",
        "ALARM",
        "OK",
        &state_change_time(Duration::ZERO),
    );
    let (card, nudge) = card_and_nudge(&s, "FreshAlarm").await;
    let waited = ts_secs(&nudge) - ts_secs(&card);
    assert!(waited >= NUDGE_AFTER - 1.0, "nudged after {waited:.2}s");
    assert_eq!(
        s.thread(&card.ts)
            .iter()
            .filter(|m| m.text.contains("Nobody has pressed"))
            .count(),
        1,
        "one nudge per episode"
    );
    s.bot.stop().await.unwrap();
}

//! Storm control and a Slack outage, end to end: the real bot against the fake SQS and fake Slack.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use chatops_sandbox::slack::{HttpFault, StoredMessage};
use support::alarm_sandbox::{shown, AlarmSandbox, CHANNEL};
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const FIRED: &str = "2026-11-23T13:53:39.351+0000";

fn is_digest(m: &StoredMessage) -> bool {
    m.text.contains("Alarm storm")
}

/// Which of `names` a text mentions (names are zero-padded, so none is a prefix of another).
fn names_in<'a>(text: &str, names: &'a [String]) -> BTreeSet<&'a str> {
    names
        .iter()
        .filter(|n| text.contains(n.as_str()))
        .map(String::as_str)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_past_the_threshold_fold_into_one_digest_and_transitions_land_in_its_thread() {
    let s = AlarmSandbox::start(
        "pollers = 1\nunwatched_nudge = \"0s\"\nstorm_threshold = 3\nstorm_window = \"60s\"",
        &[],
    )
    .await;
    let names: Vec<String> = (0..8).map(|i| format!("disk-full-{i:02}")).collect();
    for name in &names {
        s.publish(name, "ALARM", "OK", FIRED);
    }
    s.sqs
        .wait_for_deleted(&s.queue, names.len(), 10 * SECOND)
        .await
        .unwrap();

    let top = s.top_level();
    let (digests, cards): (Vec<_>, Vec<_>) = top.iter().partition(|m| is_digest(m));
    assert_eq!(cards.len(), 3, "the first 3 alarms get cards");
    assert_eq!(digests.len(), 1, "the rest share one digest: {top:#?}");
    let digest = digests[0].clone();
    let on_cards: Vec<BTreeSet<&str>> = cards.iter().map(|c| names_in(&shown(c), &names)).collect();
    assert!(on_cards.iter().all(|n| n.len() == 1), "one alarm per card");
    let on_cards: BTreeSet<&str> = on_cards.into_iter().flatten().collect();
    let folded = names_in(&shown(&digest), &names);
    assert_eq!(folded.len(), 5, "{}", shown(&digest));
    assert!(on_cards.is_disjoint(&folded));
    assert_eq!(on_cards.len() + folded.len(), names.len());
    assert!(
        shown(&digest).contains("5 notifications"),
        "{}",
        shown(&digest)
    );

    // A folded alarm resolves: its digest line changes and the transition lands in the thread.
    let resolved = *folded.iter().next().unwrap();
    s.publish(resolved, "OK", "ALARM", "2026-11-23T14:05:44.000+0000");
    s.sqs
        .wait_for_deleted(&s.queue, names.len() + 1, 10 * SECOND)
        .await
        .unwrap();
    let now = s
        .top_level()
        .into_iter()
        .find(|m| m.ts == digest.ts)
        .unwrap();
    assert!(now.edits > digest.edits, "the digest was updated in place");
    assert!(
        shown(&now).contains(&format!("{resolved} — OK")),
        "{}",
        shown(&now)
    );
    assert_eq!(s.top_level().len(), 4, "no new top-level message");
    let notes = s.thread(&digest.ts);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(notes[0].text.contains(resolved) || shown(&notes[0]).contains(resolved));
    assert!(
        shown(&notes[0]).contains("ALARM → OK"),
        "{}",
        shown(&notes[0])
    );
    s.bot.stop().await.unwrap();
}

/// The promise: a 30-second Slack outage in the middle of a 1,000-alarm burst loses nothing
/// and duplicates nothing, with Slack's per-channel pace (1/s, bursts of 4) honoured throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30s_slack_outage_in_a_1000_alarm_burst_loses_and_duplicates_nothing() {
    const ALARMS: usize = 1000;
    const OUTAGE: Duration = Duration::from_secs(30);
    let s = AlarmSandbox::start(
        "pollers = 8\nunwatched_nudge = \"0s\"\nvisibility_timeout = \"10s\"\nstorm_window = \"20s\"",
        &[
            ("CHATOPS_SLACK__CHANNEL_INTERVAL", "1s"),
            ("CHATOPS_SLACK__CHANNEL_BURST", "4"),
        ],
    )
    .await;
    let names: Vec<String> = (0..ALARMS).map(|i| format!("burst-{i:04}")).collect();
    let (first, second) = names.split_at(ALARMS / 2);
    for name in first {
        s.publish(name, "ALARM", "OK", FIRED);
    }
    s.sqs
        .wait_for_deleted(&s.queue, 100, 60 * SECOND)
        .await
        .unwrap();
    s.slack.outage(
        &["chat.postMessage", "chat.update"],
        HttpFault::ServerError,
        OUTAGE,
    );
    let outage_started = std::time::Instant::now();
    for name in second {
        s.publish(name, "ALARM", "OK", FIRED);
    }
    s.sqs
        .wait_for_deleted(&s.queue, ALARMS, 180 * SECOND)
        .await
        .unwrap();
    assert!(
        outage_started.elapsed() >= OUTAGE,
        "the outage delayed delivery"
    );
    let deleted: BTreeSet<String> = s.sqs.deleted(&s.queue).unwrap().into_iter().collect();
    assert_eq!(deleted.len(), ALARMS);
    assert_eq!(
        s.sqs.visible(&s.queue).unwrap() + s.sqs.in_flight(&s.queue).unwrap(),
        0
    );

    // Once the storm is quiet for its window, the digest's full list goes to its thread.
    let top = s.top_level();
    let digests: Vec<&StoredMessage> = top.iter().filter(|m| is_digest(m)).collect();
    assert_eq!(digests.len(), 1, "one digest for the whole storm");
    let digest_ts = digests[0].ts.clone();
    eventually(60 * SECOND, "the full list in the digest's thread", || {
        !s.thread(&digest_ts).is_empty()
    })
    .await;
    let full_list: String = s.thread(&digest_ts).iter().map(shown).collect();
    let folded = names_in(&full_list, &names);

    let cards: Vec<&StoredMessage> = top.iter().filter(|m| !is_digest(m)).collect();
    assert_eq!(cards.len(), 10, "storm_threshold cards before the digest");
    let mut on_cards = BTreeSet::new();
    for card in &cards {
        let named = names_in(&shown(card), &names);
        assert_eq!(named.len(), 1);
        assert!(
            on_cards.insert(*named.iter().next().unwrap()),
            "a card was posted twice"
        );
    }
    assert!(
        on_cards.is_disjoint(&folded),
        "an alarm is on a card and in the digest"
    );
    assert_eq!(
        on_cards.len() + folded.len(),
        ALARMS,
        "every alarm is shown"
    );
    for name in &folded {
        assert_eq!(
            full_list.matches(&format!("{name} — ")).count(),
            1,
            "{name} is listed once"
        );
    }

    // Slack's pace held throughout, the outage and its end included: no more than the burst,
    // then about one per second, in the channel. Every attempt counts, failed ones too: a retry
    // waits for the channel's turn like a first try.
    let mut posted: Vec<_> = s
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .chain(s.slack.calls_to("chat.update"))
        .filter(|c| c.param_str("channel") == Some(CHANNEL))
        .map(|c| c.at)
        .collect();
    posted.sort();
    // At the exact pace 8 calls span 4 s; the fake notes arrivals, so a call that left its slot
    // late on a loaded machine narrows a window: half a second is allowed for that.
    for window in posted.windows(8) {
        assert!(
            window[7] - window[0] >= Duration::from_millis(3_500),
            "more than 4 calls above the 1/s pace within {:?}",
            window[7] - window[0]
        );
    }
    s.bot.stop().await.unwrap();
}

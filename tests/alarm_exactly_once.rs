//! Exactly once under faults: a follow-up post that fails, an answer that is lost, copies of one
//! SNS message handled side by side, and full texts of card updates and transition notes.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use chatops_sandbox::slack::{HttpFault, StoredMessage};
use support::alarm_sandbox::{shown, AlarmSandbox, CHANNEL};
use support::*;

const SECOND: Duration = Duration::from_secs(1);
/// Long enough for a failed message to come back (visibility 10 s) and be handled.
const REDELIVERED: Duration = Duration::from_secs(60);

async fn sandbox(pollers: u8) -> AlarmSandbox {
    let alarms =
        format!("pollers = {pollers}\nvisibility_timeout = \"10s\"\nunwatched_nudge = \"0s\"\n");
    AlarmSandbox::start(&alarms, &[]).await
}

/// A reason of `len` characters that Slack shows cut on a card: words of `q`, a letter nothing
/// else on a card or note uses.
fn long_reason(len: usize) -> String {
    let word = "qqqqqqqqq ";
    word.repeat(len / word.len())
}

fn publish(s: &AlarmSandbox, state: &str, old: &str, time: &str, reason: &str) {
    let body = cloudwatch_alarm("ApiLatency", state, old, time, reason);
    s.sqs
        .publish_sns(&s.queue, Some("alarm"), &body, BTreeMap::new(), false)
        .unwrap();
}

fn count_q(m: &StoredMessage) -> usize {
    shown(m).matches('q').count()
}

/// Thread messages that hold the full text of something cut ("Full text for …").
fn full_texts(s: &AlarmSandbox, root: &str) -> Vec<StoredMessage> {
    s.thread(root)
        .into_iter()
        .filter(|m| m.text.starts_with("Full text for"))
        .collect()
}

async fn wait_deleted(s: &AlarmSandbox, n: usize, within: Duration) {
    s.sqs.wait_for_deleted(&s.queue, n, within).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_overflow_post_leaves_one_card_and_the_full_text_in_its_thread() {
    let s = sandbox(1).await;
    // The card's post goes through; the post of its full text fails once.
    s.slack
        .fail_next("chat.postMessage", HttpFault::Delay(Duration::ZERO), 1);
    s.slack.fail_next(
        "chat.postMessage",
        HttpFault::SlackError("internal_error".into()),
        1,
    );
    let reason = long_reason(5000);
    publish(&s, "ALARM", "OK", "2026-11-23T13:53:39.351+0000", &reason);
    wait_deleted(&s, 1, REDELIVERED).await;
    let cards = s.top_level();
    assert_eq!(cards.len(), 1, "one card: {cards:#?}");
    let full = full_texts(&s, &cards[0].ts);
    assert_eq!(full.len(), 1, "the full text, once, in the card's thread");
    assert_eq!(count_q(&full[0]), reason.matches('q').count());
    // The card's ts was recorded before the failed follow-up: the redelivery knew the card
    // without looking for it in the channel (only the thread is read back, for the full text).
    assert!(
        s.slack.calls_to("conversations.history").is_empty(),
        "the redelivery read the channel back: the card's ts was not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_whose_answer_is_lost_shows_exactly_once() {
    let s = sandbox(1).await;
    s.slack
        .fail_next("chat.postMessage", HttpFault::ResponseLost, 1);
    publish(
        &s,
        "ALARM",
        "OK",
        "2026-11-23T13:53:39.351+0000",
        "Threshold Crossed",
    );
    wait_deleted(&s, 1, REDELIVERED).await;
    let posts = s.slack.calls_to("chat.postMessage");
    assert_eq!(posts[0].status, 0, "the first answer was lost");
    assert_eq!(s.top_level().len(), 1, "exactly one visible card");
    assert!(
        !s.slack.calls_to("conversations.history").is_empty(),
        "the bot read the channel back instead of posting blind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_one_sns_message_in_one_batch_and_on_two_pollers_post_one_card() {
    let s = sandbox(2).await;
    let started = Instant::now();
    // A one-off event (no lifecycle of its own) and an alarm; each delivered three times at once.
    let event = serde_json::json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "account": "111122223333", "time": "2026-11-23T13:53:39Z", "region": "eu-west-1",
        "resources": ["arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"],
        "detail": {"instance-id": "i-0abc", "state": "stopped"}
    })
    .to_string();
    let alarm = cloudwatch_alarm(
        "CopiedAlarm",
        "ALARM",
        "OK",
        "2026-11-23T13:53:39.351+0000",
        "Threshold Crossed",
    );
    let mut bodies = Vec::new();
    for (message_id, message) in [("c0a1-one-off", &event), ("c0a1-alarm", &alarm)] {
        let envelope = sns_envelope(message_id, message);
        bodies.extend(std::iter::repeat_n(envelope, 3));
    }
    s.sqs
        .send_batch_visible_at(&s.queue, bodies, Instant::now() + SECOND / 2)
        .unwrap();
    wait_deleted(&s, 6, 30 * SECOND).await;
    let cards = s.top_level();
    assert_eq!(
        cards.len(),
        2,
        "one card per SNS message, in {:?}: {:#?}",
        started.elapsed(),
        cards.iter().map(|m| &m.text).collect::<Vec<_>>()
    );
}

fn sns_envelope(message_id: &str, message: &str) -> String {
    serde_json::json!({
        "Type": "Notification", "MessageId": message_id,
        "TopicArn": "arn:aws:sns:eu-west-1:111122223333:alarms", "Subject": null,
        "Message": message, "Timestamp": "2026-11-23T13:53:40.000Z", "SignatureVersion": "1",
        "Signature": "x", "SigningCertURL": "https://sns.example/cert.pem",
        "UnsubscribeURL": "https://sns.example/u"
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_updates_and_transition_notes_post_their_full_text_in_the_thread() {
    let s = sandbox(1).await;
    publish(&s, "ALARM", "OK", "2026-11-23T13:53:39.351+0000", "short");
    wait_deleted(&s, 1, 10 * SECOND).await;
    let root = s.top_level()[0].ts.clone();
    assert!(full_texts(&s, &root).is_empty(), "nothing was cut yet");

    // The update's rendering cuts the long reason: its full text goes to the thread.
    let reason = long_reason(5000);
    let in_full = reason.matches('q').count();
    publish(&s, "OK", "ALARM", "2026-11-23T14:03:39.351+0000", &reason);
    wait_deleted(&s, 2, 10 * SECOND).await;
    let full = full_texts(&s, &root);
    assert_eq!(full.len(), 1, "the updated card's full text: {full:#?}");
    assert_eq!(count_q(&full[0]), in_full);

    // Same long reason again: the card's full text is in the thread already, but the transition
    // note cuts the reason, so the note's full reason follows it.
    publish(&s, "ALARM", "OK", "2026-11-23T14:13:39.351+0000", &reason);
    wait_deleted(&s, 3, 10 * SECOND).await;
    let full = full_texts(&s, &root);
    assert_eq!(full.len(), 2, "the note's full reason: {full:#?}");
    assert_eq!(count_q(&full[1]), in_full);
    let notes = s.thread(&root);
    let note = notes
        .iter()
        .rev()
        .find(|m| shown(m).contains("full text in thread"))
        .expect("the cut note");
    assert!(count_q(note) < in_full);
    assert_eq!(s.slack.messages(CHANNEL).len(), notes.len() + 1);
}

//! The alarm pipeline end to end: the real bot against the sandbox's fake SQS and fake Slack.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use chatops_sandbox::slack::{envelopes, FakeSlack, Target};
use support::alarm_sandbox::AlarmSandbox;
use support::*;

const SECOND: Duration = Duration::from_secs(1);

fn alarm(name: &str, state: &str, old: &str, time: &str, reason: &str) -> String {
    cloudwatch_alarm(name, state, old, time, reason)
}

async fn sandbox() -> AlarmSandbox {
    sandbox_with_nudge("0s").await
}

/// One poller, a payments route, and the default channel `C0ALERTS01`.
async fn sandbox_with_nudge(unwatched_nudge: &str) -> AlarmSandbox {
    let alarms = format!(
        r#"pollers = 1
unwatched_nudge = "{unwatched_nudge}"

[[alarms.route]]
name = "payments"
channels = ["C0PAYMENT1"]
mention = "S0PAYONCALL"
runbook = "https://runbooks.example.com/{{name}}"
[alarms.route.match]
name = "payments-*"
"#
    );
    AlarmSandbox::start(&alarms, &[]).await
}

fn posts_to(slack: &FakeSlack, channel: &str) -> Vec<chatops_sandbox::slack::ApiCall> {
    slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.param_str("channel") == Some(channel))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_becomes_one_card_that_is_watched_and_resolved_in_place() {
    let s = sandbox().await;
    let firing = alarm(
        "HighCPU",
        "ALARM",
        "OK",
        "2026-11-23T13:53:39.351+0000",
        "Threshold Crossed: 3 datapoints [91.2, 93.0, 95.5] > 80.0",
    );
    let published = s
        .sqs
        .publish_sns(
            &s.queue,
            Some("ALARM: \"HighCPU\" in EU (Ireland)"),
            &firing,
            BTreeMap::new(),
            false,
        )
        .unwrap();
    let card = s
        .slack
        .wait_for_call(
            "chat.postMessage",
            |c| c.param_str("channel") == Some("C0ALERTS01"),
            10 * SECOND,
        )
        .await
        .unwrap();
    let root_ts = card.response["ts"].as_str().unwrap().to_owned();
    // A click the instant the card appears (before the bot has recorded it) must still work.
    s.slack
        .send(
            Target::Any,
            envelopes::block_actions(
                "C0ALERTS01",
                "U0CAROL",
                &root_ts,
                "alarm.watch",
                &format!("{ALARM_ARN_PREFIX}HighCPU"),
            ),
        )
        .await
        .unwrap();
    s.slack
        .wait_for_call(
            "chat.update",
            |c| c.params.to_string().contains("U0CAROL"),
            5 * SECOND,
        )
        .await
        .unwrap();
    assert!(card.params.to_string().contains("HighCPU"));
    assert!(
        card.params.to_string().contains("alarm.watch"),
        "the card has a Watching button"
    );
    s.sqs
        .wait_for_deleted(&s.queue, 1, 5 * SECOND)
        .await
        .unwrap();

    // SNS/SQS deliver the same notification again: no second card.
    let envelope = serde_json::json!({
        "Type": "Notification", "MessageId": published.sns_message_id, "TopicArn": "arn:aws:sns:eu-west-1:111122223333:alarms",
        "Subject": "ALARM", "Message": firing, "Timestamp": "2026-11-23T13:53:40.000Z", "SignatureVersion": "1",
        "Signature": "x", "SigningCertURL": "https://sns.example/cert.pem", "UnsubscribeURL": "https://sns.example/u"
    });
    s.sqs
        .send(&s.queue, &envelope.to_string(), BTreeMap::new())
        .unwrap();
    s.sqs
        .wait_for_deleted(&s.queue, 2, 5 * SECOND)
        .await
        .unwrap();
    let cards = posts_to(&s.slack, "C0ALERTS01")
        .into_iter()
        .filter(|c| c.param_str("thread_ts").is_none())
        .count();
    assert_eq!(cards, 1, "a redelivered notification must not post twice");

    // Someone presses Watching.
    s.slack
        .send(
            Target::Any,
            envelopes::block_actions(
                "C0ALERTS01",
                "U0ALICE",
                &root_ts,
                "alarm.watch",
                &format!("{ALARM_ARN_PREFIX}HighCPU"),
            ),
        )
        .await
        .unwrap();
    let update = s
        .slack
        .wait_for_call(
            "chat.update",
            |c| c.params.to_string().contains("U0ALICE"),
            5 * SECOND,
        )
        .await
        .unwrap();
    assert_eq!(update.param_str("ts"), Some(root_ts.as_str()));
    s.slack
        .wait_for_call(
            "chat.postMessage",
            |c| c.param_str("thread_ts") == Some(root_ts.as_str()),
            5 * SECOND,
        )
        .await
        .unwrap();

    // The alarm resolves: the same card is updated and the transition lands in its thread.
    let ok = alarm(
        "HighCPU",
        "OK",
        "ALARM",
        "2026-11-23T14:05:44.000+0000",
        "Threshold Crossed: 1 datapoint [42.0] < 80.0",
    );
    s.sqs
        .publish_sns(
            &s.queue,
            Some("OK: \"HighCPU\""),
            &ok,
            BTreeMap::new(),
            false,
        )
        .unwrap();
    s.sqs
        .wait_for_deleted(&s.queue, 3, 5 * SECOND)
        .await
        .unwrap();
    let updates = s.slack.calls_to("chat.update");
    let last = updates.last().unwrap();
    assert_eq!(last.param_str("ts"), Some(root_ts.as_str()));
    assert!(
        last.params.to_string().contains("OK"),
        "the card shows the new state: {}",
        last.params
    );
    let thread: Vec<_> = posts_to(&s.slack, "C0ALERTS01")
        .into_iter()
        .filter(|c| c.param_str("thread_ts") == Some(root_ts.as_str()))
        .collect();
    assert_eq!(
        thread.len(),
        3,
        "two watch notes and the transition, in the card's thread"
    );
    assert_eq!(
        posts_to(&s.slack, "C0ALERTS01")
            .iter()
            .filter(|c| c.param_str("thread_ts").is_none())
            .count(),
        1,
        "still one card"
    );
    s.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_raw_delivery_and_unknown_payloads_all_reach_slack() {
    let s = sandbox().await;
    let payments = alarm(
        "payments-latency",
        "ALARM",
        "OK",
        "2026-11-23T13:00:00.000+0000",
        "p99 <http://evil.example|click> <!channel>",
    );
    s.sqs
        .publish_sns(
            &s.queue,
            None,
            &payments,
            BTreeMap::from([("team".into(), "payments".into())]),
            true,
        )
        .unwrap();
    s.sqs
        .send(
            &s.queue,
            "this is {not json and not an alarm",
            BTreeMap::new(),
        )
        .unwrap();
    s.sqs
        .wait_for_deleted(&s.queue, 2, 10 * SECOND)
        .await
        .unwrap();
    let pay = posts_to(&s.slack, "C0PAYMENT1");
    assert_eq!(pay.len(), 1, "the payments route took it");
    let json = pay[0].params.to_string();
    assert!(
        json.contains("<!subteam^S0PAYONCALL>"),
        "the route's group is mentioned on ALARM"
    );
    assert!(
        !json.contains("<!channel>") && !json.contains("<http://evil"),
        "AWS text is escaped: {json}"
    );
    assert!(json.contains("runbooks.example.com/payments-latency"));
    let other = posts_to(&s.slack, "C0ALERTS01");
    assert_eq!(
        other.len(),
        1,
        "an unrecognised body is still posted, never dropped"
    );
    assert!(other[0].params.to_string().contains("not json"));
    s.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_outage_leaves_the_message_queued_until_it_can_be_delivered() {
    let s = sandbox().await;
    s.slack.fail_next(
        "chat.postMessage",
        chatops_sandbox::slack::HttpFault::SlackError("fatal_error".into()),
        1,
    );
    let firing = alarm(
        "DiskFull",
        "ALARM",
        "OK",
        "2026-11-23T13:00:00.000+0000",
        "disk 97%",
    );
    s.sqs
        .publish_sns(&s.queue, None, &firing, BTreeMap::new(), false)
        .unwrap();
    s.slack
        .wait_for_call("chat.postMessage", |c| !c.ok(), 10 * SECOND)
        .await
        .unwrap();
    tokio::time::sleep(SECOND).await;
    assert!(
        s.sqs.deleted(&s.queue).unwrap().is_empty(),
        "a failed delivery must not be deleted"
    );
    assert_eq!(
        s.sqs.in_flight(&s.queue).unwrap(),
        1,
        "it waits out its visibility timeout and comes back"
    );
    s.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwatched_alarm_gets_one_nudge_and_a_watched_one_none() {
    let s = sandbox_with_nudge("1s").await;
    let unwatched = alarm(
        "payments-errors",
        "ALARM",
        "OK",
        "2026-11-23T13:00:00.000+0000",
        "errors",
    );
    let watched = alarm(
        "payments-latency",
        "ALARM",
        "OK",
        "2026-11-23T13:00:00.000+0000",
        "latency",
    );
    s.sqs
        .publish_sns(&s.queue, None, &unwatched, BTreeMap::new(), false)
        .unwrap();
    s.sqs
        .publish_sns(&s.queue, None, &watched, BTreeMap::new(), false)
        .unwrap();
    s.sqs
        .wait_for_deleted(&s.queue, 2, 10 * SECOND)
        .await
        .unwrap();
    let root_of = |name: &str| {
        let card = posts_to(&s.slack, "C0PAYMENT1")
            .into_iter()
            .find(|c| c.params.to_string().contains(name))
            .unwrap();
        card.response["ts"].as_str().unwrap().to_owned()
    };
    let (unwatched_root, watched_root) = (root_of("payments-errors"), root_of("payments-latency"));
    s.slack
        .send(
            Target::Any,
            envelopes::block_actions(
                "C0PAYMENT1",
                "U0BOB",
                &watched_root,
                "alarm.watch",
                &format!("{ALARM_ARN_PREFIX}payments-latency"),
            ),
        )
        .await
        .unwrap();
    let nudge = s
        .slack
        .wait_for_call(
            "chat.postMessage",
            |c| c.param_str("thread_ts") == Some(unwatched_root.as_str()),
            10 * SECOND,
        )
        .await
        .unwrap();
    assert!(
        nudge.params.to_string().contains("<!subteam^S0PAYONCALL>"),
        "the nudge pings the route's group: {}",
        nudge.params
    );
    tokio::time::sleep(3 * SECOND).await; // several more nudge rounds
    let in_thread = |root: &str| {
        posts_to(&s.slack, "C0PAYMENT1")
            .iter()
            .filter(|c| c.param_str("thread_ts") == Some(root))
            .count()
    };
    assert_eq!(
        in_thread(&unwatched_root),
        1,
        "one nudge, not one per round"
    );
    assert_eq!(
        in_thread(&watched_root),
        1,
        "only the watch note: a watched alarm is not nudged"
    );
    s.bot.stop().await.unwrap();
}

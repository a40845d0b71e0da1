//! The alarm pipeline on moto's real SNS→SQS (envelope, raw, DLQ redrive): keeps the fake SQS honest.
//!
//! Uses the moto at `CHATOPS_TEST_MOTO_ENDPOINT` (`.ci/run` starts one), or else starts its own
//! `moto_server` from PATH. Without either, every test here fails and says how to install moto;
//! `CHATOPS_SKIP_MOTO=1` skips them on purpose.

#[path = "moto_sns_sqs/moto.rs"]
mod moto;
#[path = "moto_sns_sqs/server.rs"]
mod server;
mod support;

use std::time::Duration;

use anyhow::{ensure, Context};
use aws_sdk_sqs::types::Message;
use chatops_sandbox::slack::{FakeSlack, HttpFault};
use moto::*;
use serde_json::{json, Value};

const ARN: &str = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:";

/// A CloudWatch alarm notification going into ALARM, as CloudWatch publishes it to SNS.
fn alarm(name: &str, reason: &str) -> String {
    json!({
        "AlarmName": name, "AlarmDescription": "raised by tests/moto_sns_sqs.rs",
        "AWSAccountId": "111122223333", "AlarmConfigurationUpdatedTimestamp": "2026-12-01T08:00:00.000+0000",
        "NewStateValue": "ALARM", "NewStateReason": reason, "StateChangeTime": "2026-12-02T09:15:27.482+0000",
        "Region": "EU (Ireland)", "AlarmArn": format!("{ARN}{name}"), "OldStateValue": "OK",
        "OKActions": [], "AlarmActions": [], "InsufficientDataActions": [],
        "Trigger": {"MetricName": "Latency", "Namespace": "AWS/ApplicationELB", "StatisticType": "ExtendedStatistic",
            "ExtendedStatistic": "p99", "Unit": null, "Dimensions": [{"value": "app/checkout/5f1e", "name": "LoadBalancer"}],
            "Period": 60, "EvaluationPeriods": 5, "DatapointsToAlarm": 3,
            "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.75,
            "TreatMissingData": "notBreaching", "EvaluateLowSampleCountPercentile": ""}
    })
    .to_string()
}

/// Waits for the first post to `channel`; returns its parameters as JSON text.
async fn post_to(slack: &FakeSlack, channel: &str) -> anyhow::Result<String> {
    let in_channel = |c: &chatops_sandbox::slack::ApiCall| c.param_str("channel") == Some(channel);
    let post = slack
        .wait_for_call("chat.postMessage", in_channel, 15 * SECOND)
        .await?;
    ensure!(post.ok(), "the fake Slack refused it: {}", post.response);
    Ok(post.params.to_string())
}

/// Top-level posts (cards) to `channel`.
fn cards_in(slack: &FakeSlack, channel: &str) -> usize {
    let posts = slack.calls_to("chat.postMessage");
    let card = |c: &&chatops_sandbox::slack::ApiCall| c.param_str("thread_ts").is_none();
    posts
        .iter()
        .filter(card)
        .filter(|c| c.param_str("channel") == Some(channel))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sns_envelope_from_moto_becomes_a_card_and_leaves_the_queue() -> anyhow::Result<()> {
    let Some(moto) = Moto::set_up("chatops-envelope").await? else {
        return Ok(());
    };
    let (slack, bot) = moto.bot_on(&moto.envelope_queue, "").await?;

    let name = unique("CheckoutLatency");
    let firing = alarm(
        &name,
        "Threshold Crossed: 3 of the last 5 datapoints > 0.75",
    );
    let subject = format!("ALARM: \"{name}\" in EU (Ireland)");
    moto.publish(Some(&subject), &firing, Some("payments"))
        .await?;

    let card = post_to(&slack, "C0ALERTS01").await?;
    assert!(card.contains(&name), "the card names the alarm: {card}");
    moto.wait_for_depth(&moto.envelope_queue, (0, 0), 10 * SECOND)
        .await?;
    assert_eq!(cards_in(&slack, "C0ALERTS01"), 1, "one publish, one card");

    // The same publish reached the raw-delivery queue: the bare message, and an SQS attribute.
    let raw = moto.receive(&moto.raw_queue, 1, 10 * SECOND).await?;
    assert_eq!(raw.len(), 1, "one publish, one raw copy");
    assert_eq!(raw[0].body(), Some(firing.as_str()), "the bare message");
    let team = raw[0].message_attributes().and_then(|a| a.get("team"));
    let team = team.map(|value| (value.data_type(), value.string_value()));
    assert_eq!(
        team,
        Some(("String", Some("payments"))),
        "as an SQS attribute"
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_delivery_turns_sns_attributes_into_sqs_attributes_the_bot_routes_on(
) -> anyhow::Result<()> {
    let Some(moto) = Moto::set_up("chatops-raw").await? else {
        return Ok(());
    };
    let routes = r#"
[[alarms.route]]
name = "payments by attribute"
channels = ["C0PAYMENT1"]
[alarms.route.match]
attributes = { team = "payments" }
"#;
    let (slack, bot) = moto.bot_on(&moto.raw_queue, routes).await?;

    let payments = unique("PaymentsErrors");
    let payments_alarm = alarm(&payments, "5xx above 0.75 for 3 of 5 minutes");
    let subject = format!("ALARM: \"{payments}\" in EU (Ireland)");
    let sns_id = moto
        .publish(Some(&subject), &payments_alarm, Some("payments"))
        .await?;
    let untagged = unique("SearchLatency");
    let untagged_alarm = alarm(&untagged, "p99 above 0.75 s");
    moto.publish(None, &untagged_alarm, None).await?;

    let card = post_to(&slack, "C0PAYMENT1").await?;
    assert!(card.contains(&payments), "routed on the attribute: {card}");
    let other = post_to(&slack, "C0ALERTS01").await?;
    assert!(
        other.contains(&untagged),
        "no attribute, default channel: {other}"
    );
    moto.wait_for_depth(&moto.raw_queue, (0, 0), 10 * SECOND)
        .await?;
    let cards = [
        cards_in(&slack, "C0PAYMENT1"),
        cards_in(&slack, "C0ALERTS01"),
    ];
    assert_eq!(cards, [1, 1], "one card each");

    // The envelope queue got both as SNS Notification envelopes, the attribute inside the body.
    let copies = moto.receive(&moto.envelope_queue, 2, 10 * SECOND).await?;
    assert_eq!(copies.len(), 2, "two publishes, two envelopes");
    let sqs_attributes = copies.iter().filter_map(Message::message_attributes);
    assert_eq!(sqs_attributes.flatten().count(), 0, "not as SQS attributes");
    let bodies = copies
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap_or_default()));
    let envelopes: Vec<Value> = bodies.collect::<Result<_, _>>()?;
    let carrying = |message: &str| envelopes.iter().find(|e| e["Message"] == message).cloned();
    let tagged = carrying(&payments_alarm).context("no envelope carries the payments alarm")?;
    assert_eq!(tagged["Type"], "Notification");
    assert_eq!(tagged["MessageId"], sns_id.as_str(), "SNS's MessageId");
    assert_eq!(tagged["TopicArn"], moto.topic_arn.as_str());
    assert_eq!(tagged["Subject"], subject.as_str());
    let team = &tagged["MessageAttributes"]["team"];
    assert_eq!(team, &json!({"Type": "String", "Value": "payments"}));
    let bare = carrying(&untagged_alarm).context("no envelope carries the untagged alarm")?;
    let absent = bare.get("Subject").is_none() && bare.get("MessageAttributes").is_none();
    assert!(absent, "absent, not null: {bare}");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_slack_keeps_refusing_reaches_the_dead_letter_queue() -> anyhow::Result<()> {
    let Some(moto) = Moto::set_up("chatops-poison").await? else {
        return Ok(());
    };
    let (slack, bot) = moto.bot_on(&moto.envelope_queue, "").await?;
    let refused = HttpFault::SlackError("channel_not_found".into());
    slack.fail_next("chat.postMessage", refused, 100);

    let firing = alarm(&unique("LedgerBacklog"), "backlog above 0.75 hours");
    moto.publish(Some("ALARM"), &firing, None).await?;

    // Received three times, 10 s apart; the next receive attempt moves it to the DLQ.
    let limit = Duration::from_secs(MAX_RECEIVE_COUNT as u64 * VISIBILITY_SECS + 30);
    moto.wait_for_depth(&moto.dead_letters, (1, 0), limit)
        .await?;
    moto.wait_for_depth(&moto.envelope_queue, (0, 0), 5 * SECOND)
        .await?;
    let attempts = slack.calls_to("chat.postMessage");
    assert!(attempts.iter().all(|c| !c.ok()), "every post was refused");
    assert_eq!(attempts.len(), MAX_RECEIVE_COUNT, "one post per receive");

    let dead = moto.receive(&moto.dead_letters, 1, 5 * SECOND).await?;
    let envelope: Value = serde_json::from_str(dead[0].body().unwrap_or_default())?;
    assert_eq!(
        envelope["Message"],
        firing.as_str(),
        "the original envelope"
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_reads_when_sqs_took_a_message_for_its_delivery_latency() -> anyhow::Result<()> {
    use chatops_bot::notify::queue::AlarmQueue;
    use chatops_bot::notify::sqs::{sdk_config, SqsQueue};
    let Some(moto) = Moto::set_up("chatops-sent").await? else {
        return Ok(());
    };
    let before = std::time::SystemTime::now() - Duration::from_secs(5);
    moto.publish(None, &alarm(&unique("Sent"), "Threshold Crossed"), None)
        .await?;
    let endpoint = url::Url::parse(&moto.server.endpoint)?;
    let config = sdk_config(REGION, Some(&endpoint), &Default::default()).await;
    let queue = SqsQueue::new(&config, &moto.raw_queue);
    let mut received = vec![];
    for _ in 0..10 {
        received = queue
            .receive(10, Duration::from_secs(2), Duration::from_secs(60))
            .await?;
        if !received.is_empty() {
            break;
        }
    }
    ensure!(received.len() == 1, "one message: {received:?}");
    let sent = received[0].sent_at.context("SentTimestamp was asked for")?;
    let after = std::time::SystemTime::now() + Duration::from_secs(5);
    ensure!(
        before <= sent && sent <= after,
        "{sent:?} is when it was sent"
    );
    Ok(())
}

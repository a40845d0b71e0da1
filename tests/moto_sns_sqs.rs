//! The alarm pipeline on moto's real SNS→SQS (envelope, raw, DLQ redrive): keeps the fake SQS honest.
//!
//! Uses the moto at `CHATOPS_TEST_MOTO_ENDPOINT` (`.ci/run` starts one), or else starts its own
//! `moto_server` from PATH. Without either, every test here fails and says how to install moto;
//! `CHATOPS_SKIP_MOTO=1` skips them on purpose.

#[path = "moto_sns_sqs/server.rs"]
mod server;
mod support;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, ensure, Context};
use aws_config::SdkConfig;
use aws_sdk_sns::types::MessageAttributeValue as SnsAttribute;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{Message, QueueAttributeName as Attr};
use chatops_sandbox::slack::{FakeSlack, HttpFault};
use serde_json::{json, Value};
use server::MotoServer;
use support::*;
use tokio::time::Instant;

const REGION: &str = "eu-west-1";
const SECOND: Duration = Duration::from_secs(1);
/// The redrive policy's `maxReceiveCount` on the envelope queue.
const MAX_RECEIVE_COUNT: usize = 3;
/// Queue and bot visibility timeout, in seconds: the bot's smallest allowed value.
const VISIBILITY_SECS: u64 = 10;
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

/// A name no earlier run against the same moto server has used.
fn unique(prefix: &str) -> String {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
    let nanos = since_epoch.map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

fn aws_error<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow!("moto {operation}: {}", DisplayErrorContext(e))
}

/// Real SNS and SQS clients on moto, and one topic fanned out to an envelope queue (redriven to
/// a DLQ after `MAX_RECEIVE_COUNT` receives) and a raw-delivery queue.
struct Moto {
    server: MotoServer,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    topic_arn: String,
    envelope_queue: String,
    raw_queue: String,
    dead_letters: String,
}

impl Moto {
    /// Creates the topic and queues (names start with `prefix`); `None` when skipped on purpose.
    async fn set_up(prefix: &str) -> anyhow::Result<Option<Moto>> {
        let Some(server) = MotoServer::find().await? else {
            return Ok(None);
        };
        aws_test_env();
        let credentials = Credentials::new("test", "test", None, None, "moto-test");
        let timeouts = TimeoutConfig::builder().connect_timeout(5 * SECOND);
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&server.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .timeout_config(timeouts.operation_timeout(20 * SECOND).build())
            .build();
        let (sns, sqs) = (
            aws_sdk_sns::Client::new(&config),
            aws_sdk_sqs::Client::new(&config),
        );
        let name = unique(prefix);
        let topic = sns.create_topic().name(&name).send().await;
        let topic = topic.map_err(aws_error("CreateTopic"))?;
        let topic_arn = topic.topic_arn().context("no TopicArn")?.to_owned();
        let visibility = (Attr::VisibilityTimeout, VISIBILITY_SECS.to_string());
        let dead_letters = create_queue(&sqs, &format!("{name}-dlq"), vec![]).await?;
        let redrive = json!({
            "deadLetterTargetArn": queue_arn(&sqs, &dead_letters).await?,
            "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
        });
        let redrive = (Attr::RedrivePolicy, redrive.to_string());
        let envelope = vec![visibility.clone(), redrive];
        let envelope_queue = create_queue(&sqs, &format!("{name}-envelope"), envelope).await?;
        let raw_queue = create_queue(&sqs, &format!("{name}-raw"), vec![visibility]).await?;
        subscribe(&sns, &sqs, &topic_arn, &envelope_queue, false).await?;
        subscribe(&sns, &sqs, &topic_arn, &raw_queue, true).await?;
        Ok(Some(Moto {
            server,
            sns,
            sqs,
            topic_arn,
            envelope_queue,
            raw_queue,
            dead_letters,
        }))
    }

    /// Publishes `message` to the topic, with a `team` attribute if given; returns its MessageId.
    async fn publish(
        &self,
        subject: Option<&str>,
        message: &str,
        team: Option<&str>,
    ) -> anyhow::Result<String> {
        let request = self
            .sns
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message);
        let mut request = request.set_subject(subject.map(str::to_owned));
        if let Some(team) = team {
            let value = SnsAttribute::builder()
                .data_type("String")
                .string_value(team);
            request = request.message_attributes("team", value.build()?);
        }
        let published = request.send().await.map_err(aws_error("Publish"))?;
        Ok(published.message_id().context("no MessageId")?.to_owned())
    }

    /// Polls (visible, in flight) every 250 ms until it is `expected`, for up to `limit`.
    async fn wait_for_depth(
        &self,
        queue: &str,
        expected: (u64, u64),
        limit: Duration,
    ) -> anyhow::Result<()> {
        let names = [
            Attr::ApproximateNumberOfMessages,
            Attr::ApproximateNumberOfMessagesNotVisible,
        ];
        let deadline = Instant::now() + limit;
        loop {
            let attributes = queue_attributes(&self.sqs, queue, &names).await?;
            let count = |name: &Attr| attributes.get(name).and_then(|n| n.parse::<u64>().ok());
            let depth = (count(&names[0]), count(&names[1]));
            if depth == (Some(expected.0), Some(expected.1)) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{queue} holds {depth:?} (visible, in flight) after {limit:?}, not {expected:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Receives until `count` messages arrived (2 s long polls), for up to `limit`.
    async fn receive(
        &self,
        queue: &str,
        count: usize,
        limit: Duration,
    ) -> anyhow::Result<Vec<Message>> {
        let deadline = Instant::now() + limit;
        let mut messages = vec![];
        while messages.len() < count {
            let got = messages.len();
            ensure!(
                Instant::now() < deadline,
                "{got} of {count} messages from {queue} in {limit:?}"
            );
            let request = self.sqs.receive_message().queue_url(queue);
            let request = request.max_number_of_messages(10).wait_time_seconds(2);
            let request = request
                .visibility_timeout(60)
                .message_attribute_names("All");
            let output = request.send().await.map_err(aws_error("ReceiveMessage"))?;
            messages.extend(output.messages.unwrap_or_default());
        }
        Ok(messages)
    }

    /// Fake Slack, and the real bot consuming `queue` on moto (`routes` appended to `[alarms]`).
    async fn bot_on(&self, queue: &str, routes: &str) -> anyhow::Result<(FakeSlack, RunningBot)> {
        let extra = format!(
            r#"
[aws]
region = "{REGION}"
endpoint_url = "{endpoint}"

[alarms]
queue_url = "{queue}"
default_channel = "C0ALERTS01"
pollers = 1
visibility_timeout = "{VISIBILITY_SECS}s"
receive_wait = "1s"
unwatched_nudge = "0s"
{routes}"#,
            endpoint = self.server.endpoint
        );
        let slack = fake_slack().await;
        let bot = RunningBot::start_with(&slack, 1, &extra).await;
        slack.wait_for_connections(1, 5 * SECOND).await?;
        Ok((slack, bot))
    }
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: Vec<(Attr, String)>,
) -> anyhow::Result<String> {
    let request = sqs.create_queue().queue_name(name);
    let request = request.set_attributes(Some(HashMap::from_iter(attributes)));
    let created = request.send().await.map_err(aws_error("CreateQueue"))?;
    Ok(created.queue_url().context("no QueueUrl")?.to_owned())
}

async fn queue_attributes(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    names: &[Attr],
) -> anyhow::Result<HashMap<Attr, String>> {
    let request = sqs.get_queue_attributes().queue_url(queue);
    let request = request.set_attribute_names(Some(names.to_vec()));
    let output = request
        .send()
        .await
        .map_err(aws_error("GetQueueAttributes"))?;
    Ok(output.attributes.unwrap_or_default())
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue: &str) -> anyhow::Result<String> {
    let mut attributes = queue_attributes(sqs, queue, &[Attr::QueueArn]).await?;
    attributes.remove(&Attr::QueueArn).context("no QueueArn")
}

/// Gives `queue` the policy SNS needs (moto does not enforce it), then subscribes it to the topic.
async fn subscribe(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_arn: &str,
    queue: &str,
    raw: bool,
) -> anyhow::Result<()> {
    let queue_arn = queue_arn(sqs, queue).await?;
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "topic-may-send", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}
    }]});
    let request = sqs.set_queue_attributes().queue_url(queue);
    let request = request.attributes(Attr::Policy, policy.to_string());
    request
        .send()
        .await
        .map_err(aws_error("SetQueueAttributes"))?;
    let request = sns.subscribe().topic_arn(topic_arn).protocol("sqs");
    let request = request.endpoint(&queue_arn);
    let request = request.attributes("RawMessageDelivery", raw.to_string());
    request.send().await.map_err(aws_error("Subscribe"))?;
    Ok(())
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

//! The moto rig the moto tests share: one topic fanned out to an envelope queue (redriven to a
//! DLQ) and a raw-delivery queue, real SNS and SQS clients on it, and the bot consuming a queue.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, ensure, Context};
use aws_config::SdkConfig;
use aws_sdk_sns::types::MessageAttributeValue as SnsAttribute;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{Message, QueueAttributeName as Attr};
use chatops_sandbox::slack::FakeSlack;
use serde_json::json;
use tokio::time::Instant;

use crate::server::MotoServer;
use crate::support::*;

pub const REGION: &str = "eu-west-1";
pub const SECOND: Duration = Duration::from_secs(1);
/// The redrive policy's `maxReceiveCount` on the envelope queue.
pub const MAX_RECEIVE_COUNT: usize = 3;
/// Queue and bot visibility timeout, in seconds: the bot's smallest allowed value.
pub const VISIBILITY_SECS: u64 = 10;

/// A name no earlier run against the same moto server has used.
pub fn unique(prefix: &str) -> String {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
    let nanos = since_epoch.map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

pub fn aws_error<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow!("moto {operation}: {}", DisplayErrorContext(e))
}

/// Real SNS and SQS clients on moto, and one topic fanned out to an envelope queue (redriven to
/// a DLQ after `MAX_RECEIVE_COUNT` receives) and a raw-delivery queue.
pub struct Moto {
    pub server: MotoServer,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    pub envelope_queue: String,
    pub raw_queue: String,
    pub dead_letters: String,
}

impl Moto {
    /// Creates the topic and queues (names start with `prefix`); `None` when skipped on purpose.
    pub async fn set_up(prefix: &str) -> anyhow::Result<Option<Moto>> {
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
    pub async fn publish(
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
    pub async fn wait_for_depth(
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
    pub async fn receive(
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
    pub async fn bot_on(
        &self,
        queue: &str,
        routes: &str,
    ) -> anyhow::Result<(FakeSlack, RunningBot)> {
        let extra = self.aws_and_alarms(queue, routes);
        let slack = fake_slack().await;
        let bot = RunningBot::start_with(&slack, 1, &extra).await;
        slack.wait_for_connections(1, 5 * SECOND).await?;
        Ok((slack, bot))
    }

    /// The `[aws]` and `[alarms]` sections of a bot consuming `queue` on moto (`routes`, or any
    /// other `[alarms]` keys, appended).
    pub fn aws_and_alarms(&self, queue: &str, routes: &str) -> String {
        format!(
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
        )
    }
}

pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: Vec<(Attr, String)>,
) -> anyhow::Result<String> {
    let request = sqs.create_queue().queue_name(name);
    let request = request.set_attributes(Some(HashMap::from_iter(attributes)));
    let created = request.send().await.map_err(aws_error("CreateQueue"))?;
    Ok(created.queue_url().context("no QueueUrl")?.to_owned())
}

pub async fn queue_attributes(
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

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue: &str) -> anyhow::Result<String> {
    let mut attributes = queue_attributes(sqs, queue, &[Attr::QueueArn]).await?;
    attributes.remove(&Attr::QueueArn).context("no QueueArn")
}

/// Gives `queue` the policy SNS needs (moto does not enforce it), then subscribes it to the topic.
pub async fn subscribe(
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

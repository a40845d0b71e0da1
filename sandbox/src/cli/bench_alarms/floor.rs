//! The alarm benchmark's floor: the least an SQS-to-Slack consumer must do. Long-poll
//! ReceiveMessage (10), one plain-text chat.postMessage per message, DeleteMessageBatch.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json;

use super::http::{split_http_url, HttpClient};
use super::workload::FLOOR_TEXT_PREFIX;

/// Longest SQS long poll.
const WAIT_SECS: u64 = 20;
/// How long a received message stays hidden (the bot's default).
const VISIBILITY_SECS: u64 = 60;
/// A long poll may take this much longer than its wait before it counts as hung.
const RECEIVE_MARGIN: Duration = Duration::from_secs(10);
/// Longest wait for a chat.postMessage or DeleteMessageBatch answer.
const CALL_LIMIT: Duration = Duration::from_secs(10);
/// Most receives per loop: far more than any benchmark run makes.
const MAX_RECEIVES: usize = 10_000_000;
const SQS_JSON: &str = "application/x-amz-json-1.0";

/// Arguments of the hidden `alarm-floor` subcommand (started by `bench-alarms` as a child process).
#[derive(Debug, Clone, Args)]
pub struct AlarmFloorArgs {
    /// SQS endpoint, http only (`http://127.0.0.1:PORT`).
    #[arg(long)]
    pub sqs_endpoint: String,
    /// The queue to consume.
    #[arg(long)]
    pub queue_url: String,
    /// Slack Web API base URL, http only (`http://127.0.0.1:PORT/api/`).
    #[arg(long)]
    pub api_url: String,
    /// Bot token for chat.postMessage.
    #[arg(long)]
    pub bot_token: String,
    /// Where every message is posted.
    #[arg(long)]
    pub channel: String,
    /// Concurrent receive loops (the bot's `alarms.pollers`).
    #[arg(long, default_value_t = 2)]
    pub loops: usize,
}

#[derive(Deserialize)]
struct ReceiveOutput {
    #[serde(rename = "Messages", default)]
    messages: Vec<Received>,
}

/// The only fields of a message the floor reads (the body is skipped).
#[derive(Deserialize)]
struct Received {
    #[serde(rename = "MessageId")]
    id: String,
    #[serde(rename = "ReceiptHandle")]
    receipt: String,
}

#[derive(Deserialize)]
struct DeleteOutput {
    #[serde(rename = "Failed", default)]
    failed: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct SlackOk {
    ok: bool,
    error: Option<String>,
}

/// Where the floor talks to, resolved once.
struct Endpoints {
    sqs_authority: String,
    sqs_path: String,
    slack_authority: String,
    post_path: String,
    queue_url: String,
    authorization: String,
    channel: String,
}

/// Runs `loops` receive loops until one fails (or the process is stopped).
pub async fn alarm_floor(args: AlarmFloorArgs) -> anyhow::Result<()> {
    if args.loops == 0 {
        bail!("--loops must be at least 1");
    }
    let (sqs_authority, sqs_path) = split_http_url(&args.sqs_endpoint)?;
    let (slack_authority, api_path) = split_http_url(&args.api_url)?;
    let endpoints = Arc::new(Endpoints {
        sqs_authority,
        sqs_path,
        slack_authority,
        post_path: format!("{}/chat.postMessage", api_path.trim_end_matches('/')),
        queue_url: args.queue_url.clone(),
        authorization: format!("Bearer {}", args.bot_token),
        channel: args.channel.clone(),
    });
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..args.loops {
        loops.spawn(receive_loop(Arc::clone(&endpoints)));
    }
    while let Some(ended) = loops.join_next().await {
        ended.context("a receive loop panicked")??;
    }
    Ok(())
}

/// Receive, post each message (concurrently, one connection each), delete the batch; repeat.
async fn receive_loop(endpoints: Arc<Endpoints>) -> anyhow::Result<()> {
    let mut sqs = HttpClient::new(&endpoints.sqs_authority);
    let mut slack_pool: Vec<HttpClient> = Vec::new();
    let receive_request = json!({
        "QueueUrl": endpoints.queue_url,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": WAIT_SECS,
        "VisibilityTimeout": VISIBILITY_SECS,
    })
    .to_string();
    for _ in 0..MAX_RECEIVES {
        let limit = Duration::from_secs(WAIT_SECS) + RECEIVE_MARGIN;
        let answer = sqs_call(
            &mut sqs,
            &endpoints,
            "ReceiveMessage",
            &receive_request,
            limit,
        )
        .await?;
        let received: ReceiveOutput =
            serde_json::from_slice(&answer).context("the ReceiveMessage answer is not JSON")?;
        if received.messages.is_empty() {
            continue;
        }
        while slack_pool.len() < received.messages.len() {
            slack_pool.push(HttpClient::new(&endpoints.slack_authority));
        }
        let posts = received
            .messages
            .iter()
            .zip(slack_pool.iter_mut())
            .map(|(message, slack)| post_text(slack, &endpoints, &message.id));
        for posted in join_all(posts).await {
            posted?;
        }
        delete_batch(&mut sqs, &endpoints, &received.messages).await?;
    }
    Ok(())
}

async fn sqs_call(
    sqs: &mut HttpClient,
    endpoints: &Endpoints,
    operation: &str,
    body: &str,
    limit: Duration,
) -> anyhow::Result<Vec<u8>> {
    let target = format!("AmazonSQS.{operation}");
    let headers = [
        ("X-Amz-Target", target.as_str()),
        ("Content-Type", SQS_JSON),
    ];
    let response = sqs
        .post(&endpoints.sqs_path, &headers, body.as_bytes(), limit)
        .await
        .with_context(|| format!("calling {operation}"))?;
    if response.status != 200 {
        bail!(
            "{operation} answered {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    Ok(response.body)
}

async fn post_text(
    slack: &mut HttpClient,
    endpoints: &Endpoints,
    message_id: &str,
) -> anyhow::Result<()> {
    let body = json!({
        "channel": endpoints.channel,
        "text": format!("{FLOOR_TEXT_PREFIX}{message_id}"),
    })
    .to_string();
    let headers = [
        ("Authorization", endpoints.authorization.as_str()),
        ("Content-Type", "application/json; charset=utf-8"),
    ];
    let response = slack
        .post(&endpoints.post_path, &headers, body.as_bytes(), CALL_LIMIT)
        .await
        .context("calling chat.postMessage")?;
    let answer: SlackOk =
        serde_json::from_slice(&response.body).context("the chat.postMessage answer")?;
    if response.status != 200 || !answer.ok {
        bail!(
            "chat.postMessage answered {}: {}",
            response.status,
            answer.error.unwrap_or_default()
        );
    }
    Ok(())
}

async fn delete_batch(
    sqs: &mut HttpClient,
    endpoints: &Endpoints,
    messages: &[Received],
) -> anyhow::Result<()> {
    let entries: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"Id": i.to_string(), "ReceiptHandle": m.receipt}))
        .collect();
    let request = json!({"QueueUrl": endpoints.queue_url, "Entries": entries}).to_string();
    let answer = sqs_call(sqs, endpoints, "DeleteMessageBatch", &request, CALL_LIMIT).await?;
    let output: DeleteOutput =
        serde_json::from_slice(&answer).context("the DeleteMessageBatch answer is not JSON")?;
    if !output.failed.is_empty() {
        bail!(
            "DeleteMessageBatch failed for {} entries",
            output.failed.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::FakeSqs;
    use crate::slack::{FakeSlack, FakeSlackOptions};
    use std::collections::BTreeMap;

    #[tokio::test]
    async fn posts_every_message_once_and_deletes_it() -> anyhow::Result<()> {
        let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
        let sqs = FakeSqs::start().await?;
        let queue = sqs.create_queue("floor", Duration::from_secs(30), None)?;
        let args = AlarmFloorArgs {
            sqs_endpoint: sqs.endpoint_url(),
            queue_url: queue.clone(),
            api_url: slack.api_url(),
            bot_token: slack.options().bot_token.clone(),
            channel: "C0FLOOR".into(),
            loops: 2,
        };
        let floor = tokio::spawn(alarm_floor(args));
        let mut ids = Vec::new();
        for i in 0..25 {
            ids.push(sqs.send(&queue, &format!("alarm {i}"), BTreeMap::new())?);
        }
        sqs.wait_for_deleted(&queue, 25, Duration::from_secs(10))
            .await?;
        let posts = slack.calls_to("chat.postMessage");
        let mut texts: Vec<String> = posts
            .iter()
            .filter(|c| c.ok() && c.param_str("channel") == Some("C0FLOOR"))
            .filter_map(|c| c.param_str("text").map(str::to_string))
            .collect();
        texts.sort();
        let mut expected: Vec<String> = ids
            .iter()
            .map(|id| format!("{FLOOR_TEXT_PREFIX}{id}"))
            .collect();
        expected.sort();
        assert_eq!(texts, expected);
        assert_eq!(sqs.in_flight(&queue)?, 0);
        floor.abort();
        sqs.shutdown().await;
        slack.shutdown().await;
        Ok(())
    }
}

//! `AlarmQueue` on Amazon SQS through aws-sdk-sqs (long polling, batch delete, visibility heartbeat, hand-back).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use async_trait::async_trait;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::StalledStreamProtectionConfig;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName,
};

use super::queue::{AlarmQueue, DeleteFailure, QueueError, QueueMessage};
use crate::config::ProxySettings;

/// How long one receive attempt may take beyond its wait before it is abandoned and retried
/// (aws-sdk-rust #1094: a long poll can hang past its WaitTimeSeconds).
const ATTEMPT_MARGIN: Duration = Duration::from_secs(10);
/// SQS's longest long poll.
pub const MAX_WAIT: Duration = Duration::from_secs(20);

pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

/// The SQS client's AWS configuration: region, the queue's endpoint (`aws.endpoints.sqs`, else
/// `aws.endpoint_url`; `None` for SQS's own), the standard credential chain, and the proxy route
/// `proxy` picks for each request (`egress::aws`).
pub async fn sdk_config(
    region: &str,
    endpoint_url: Option<&url::Url>,
    proxy: &ProxySettings,
) -> aws_config::SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(MAX_WAIT + ATTEMPT_MARGIN)
        .connect_timeout(Duration::from_secs(5))
        .build();
    let mut loader = crate::egress::aws::aws_config_loader(region, proxy).timeout_config(timeouts);
    if let Some(endpoint) = endpoint_url {
        loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    loader.load().await
}

impl SqsQueue {
    pub fn new(config: &aws_config::SdkConfig, queue_url: &str) -> Self {
        // Stalled-stream protection watches the throughput of every response body (about 2 % of
        // the pipeline's CPU in a burst). SQS answers are small, and the attempt timeout above
        // already bounds a receive that hangs, so it is off for this client.
        let sqs = aws_sdk_sqs::config::Builder::from(config)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        Self {
            client: aws_sdk_sqs::Client::from_conf(sqs),
            queue_url: queue_url.to_owned(),
        }
    }
}

fn failed(
    operation: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> QueueError {
    QueueError {
        operation,
        // DisplayErrorContext prints the whole cause chain (service code, message, transport error).
        source: anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)),
    }
}

#[async_trait]
impl AlarmQueue for SqsQueue {
    async fn receive(
        &self,
        max: u8,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::from(max.clamp(1, 10)))
            .wait_time_seconds(wait.min(MAX_WAIT).as_secs() as i32)
            .visibility_timeout(visibility.as_secs().min(43_200) as i32)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| failed("ReceiveMessage", e))?;
        let mut messages = vec![];
        for m in output.messages.unwrap_or_default() {
            let (Some(id), Some(receipt)) = (m.message_id, m.receipt_handle) else {
                continue;
            };
            let attributes: BTreeMap<String, String> = m
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(name, value)| Some((name, value.string_value?)))
                .collect();
            let receive_count = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let sent_at = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|millis| millis.parse::<u64>().ok())
                .map(|millis| UNIX_EPOCH + Duration::from_millis(millis));
            messages.push(QueueMessage {
                id,
                receipt,
                body: m.body.unwrap_or_default(),
                attributes,
                receive_count,
                sent_at,
            });
        }
        Ok(messages)
    }

    async fn delete(&self, messages: &[&QueueMessage]) -> Result<Vec<DeleteFailure>, QueueError> {
        if messages.is_empty() {
            return Ok(vec![]);
        }
        let mut failures = vec![];
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .map(|m| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(&m.id)
                        .receipt_handle(&m.receipt)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .context("Failed to build a delete entry")
                .map_err(|source| QueueError {
                    operation: "DeleteMessageBatch",
                    source,
                })?;
            let output = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| failed("DeleteMessageBatch", e))?;
            failures.extend(output.failed().iter().map(|f| DeleteFailure {
                id: f.id().to_owned(),
                reason: format!("{}: {}", f.code(), f.message().unwrap_or("")),
            }));
        }
        Ok(failures)
    }

    async fn extend(&self, message: &QueueMessage, visibility: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&message.receipt)
            .visibility_timeout(visibility.as_secs().min(43_200) as i32)
            .send()
            .await
            .map_err(|e| failed("ChangeMessageVisibility", e))?;
        Ok(())
    }

    async fn hand_back(&self, messages: &[&QueueMessage]) -> Result<(), QueueError> {
        const OPERATION: &str = "ChangeMessageVisibilityBatch";
        let mut refused = vec![];
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .map(|m| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(&m.id)
                        .receipt_handle(&m.receipt)
                        .visibility_timeout(0)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .context("Failed to build a visibility entry")
                .map_err(|source| QueueError {
                    operation: OPERATION,
                    source,
                })?;
            let output = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| failed(OPERATION, e))?;
            refused.extend(
                output
                    .failed()
                    .iter()
                    .map(|f| format!("{} ({}: {})", f.id(), f.code(), f.message().unwrap_or(""))),
            );
        }
        if refused.is_empty() {
            return Ok(());
        }
        Err(QueueError {
            operation: OPERATION,
            source: anyhow::anyhow!(
                "SQS refused {} of {}: {}",
                refused.len(),
                messages.len(),
                refused.join(", ")
            ),
        })
    }
}

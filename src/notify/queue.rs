//! `AlarmQueue`: where notifications wait to be handled. The real one is SQS (`sqs.rs`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// One received message, as the pipeline needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueMessage {
    /// SQS's message id (distinct from the SNS MessageId inside an envelope).
    pub id: String,
    /// Needed to delete the message or extend its visibility; changes on every receive.
    pub receipt: String,
    pub body: String,
    /// SQS message attributes (SNS attributes land here with raw delivery), as strings.
    pub attributes: BTreeMap<String, String>,
    /// How many times SQS has handed this message out (1 on the first receive).
    pub receive_count: u32,
    /// When SQS took the message (its `SentTimestamp`): where the SQS-visible → post latency
    /// starts. `None` if SQS did not say.
    pub sent_at: Option<SystemTime>,
}

/// A message SQS did not delete (DeleteMessageBatch answers 200 with these in `Failed`).
#[derive(Clone, Debug, PartialEq)]
pub struct DeleteFailure {
    pub id: String,
    pub reason: String,
}

/// A queue failure.
#[derive(Debug, thiserror::Error)]
#[error("SQS {operation} failed")]
pub struct QueueError {
    pub operation: &'static str,
    #[source]
    pub source: anyhow::Error,
}

/// The queue operations the consumer uses.
#[async_trait]
pub trait AlarmQueue: Send + Sync + 'static {
    /// Long-poll for up to `max` messages, waiting up to `wait`; they stay hidden for `visibility`.
    async fn receive(
        &self,
        max: u8,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, QueueError>;
    /// Delete handled messages. Returns the ones SQS failed to delete (it answers 200 even then).
    async fn delete(&self, messages: &[&QueueMessage]) -> Result<Vec<DeleteFailure>, QueueError>;
    /// Keep a message hidden for another `visibility` from now (the heartbeat of slow handling).
    async fn extend(&self, message: &QueueMessage, visibility: Duration) -> Result<(), QueueError>;
    /// Make received messages receivable again at once (visibility 0): work taken but not done
    /// when the bot stops, so the next process sees it without waiting out the visibility timeout.
    /// The default hands them back one by one through `extend`, trying every one.
    async fn hand_back(&self, messages: &[&QueueMessage]) -> Result<(), QueueError> {
        let mut first_error = None;
        for message in messages {
            if let Err(e) = self.extend(message, Duration::ZERO).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

//! The control API of `FakeSqs`: create queues, seed messages (plain or as SNS deliveries),
//! inspect queues, inject faults, and read calls, the timeline and per-message latencies.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::aws::faults::SqsFault;
use crate::aws::history::{MessageHistory, ReceiveLatency};
use crate::aws::ids;
use crate::aws::model::{AttributeValue, QueueConfig, RedrivePolicy};
use crate::aws::record::{lock, SqsCall, SqsTimelineEntry, SqsTimelineKind as Kind};
use crate::aws::sns::{notification_envelope, queue_arn, DEFAULT_TOPIC_ARN};
use crate::aws::store::NewMessage;
use crate::aws::FakeSqs;

/// What `publish_sns` put into the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsDelivery {
    /// The SNS `MessageId` (inside the envelope; SNS keeps it on redelivery).
    pub sns_message_id: String,
    /// The SQS message id of the delivery.
    pub sqs_message_id: String,
}

impl FakeSqs {
    /// Creates a standard queue (or returns the URL of an identical one); `redrive` is
    /// `(dead-letter queue name, maxReceiveCount)`. Returns `http://127.0.0.1:PORT/ACCOUNT/NAME`.
    pub fn create_queue(
        &self,
        name: &str,
        visibility_timeout: Duration,
        redrive: Option<(&str, u32)>,
    ) -> anyhow::Result<String> {
        let config = QueueConfig {
            visibility_timeout,
            redrive: redrive.map(|(dlq, max_receive_count)| RedrivePolicy {
                dead_letter_target_arn: queue_arn(dlq),
                max_receive_count,
            }),
            ..QueueConfig::default()
        };
        Ok(self
            .shared
            .with_state(|state| state.create_queue(name, config))?)
    }

    /// The URL of a queue, if it exists.
    pub fn queue_url(&self, name: &str) -> Option<String> {
        self.shared
            .read(|state| state.queue(name, Instant::now()).map(|q| q.url.clone()))
            .ok()
    }

    /// Puts a message into a queue (URL or name) with String message attributes; returns its id.
    pub fn send(
        &self,
        queue: &str,
        body: &str,
        attributes: BTreeMap<String, String>,
    ) -> anyhow::Result<String> {
        let attributes = attributes
            .iter()
            .map(|(name, value)| (name.clone(), AttributeValue::string(value)))
            .collect();
        let new = NewMessage {
            body: body.to_string(),
            attributes,
            delay: None,
            trace_header: None,
        };
        let stored = self
            .shared
            .with_state(|state| state.send(queue, new, Instant::now()))?;
        Ok(stored.id)
    }

    /// Puts `bodies` (without attributes) into a queue under one lock, every one hidden until
    /// `visible_at`, so they all become receivable in the same instant and long polls wake then
    /// (a benchmark's burst). An instant already past makes them visible at once. Returns the
    /// message ids in the order of `bodies`.
    pub fn send_batch_visible_at(
        &self,
        queue: &str,
        bodies: Vec<String>,
        visible_at: Instant,
    ) -> anyhow::Result<Vec<String>> {
        let now = Instant::now();
        let delay = visible_at.saturating_duration_since(now);
        let batch = bodies
            .into_iter()
            .map(|body| NewMessage {
                body,
                attributes: BTreeMap::new(),
                delay: Some(delay),
                trace_header: None,
            })
            .collect();
        let stored = self
            .shared
            .with_state(|state| state.send_many(queue, batch, now))?;
        Ok(stored.into_iter().map(|message| message.id).collect())
    }

    /// Delivers `message` as SNS would from `DEFAULT_TOPIC_ARN`: wrapped in a Notification
    /// envelope, or bare with the attributes as SQS message attributes when `raw`.
    pub fn publish_sns(
        &self,
        queue: &str,
        subject: Option<&str>,
        message: &str,
        attributes: BTreeMap<String, String>,
        raw: bool,
    ) -> anyhow::Result<SnsDelivery> {
        self.publish_sns_from_topic(DEFAULT_TOPIC_ARN, queue, subject, message, attributes, raw)
    }

    /// `publish_sns` from a topic of your choice.
    pub fn publish_sns_from_topic(
        &self,
        topic_arn: &str,
        queue: &str,
        subject: Option<&str>,
        message: &str,
        attributes: BTreeMap<String, String>,
        raw: bool,
    ) -> anyhow::Result<SnsDelivery> {
        let sns_message_id = ids::uuid();
        let sqs_message_id = if raw {
            self.send(queue, message, attributes)?
        } else {
            let envelope = notification_envelope(
                topic_arn,
                &sns_message_id,
                subject,
                message,
                &attributes,
                SystemTime::now(),
            );
            self.send(queue, &envelope, BTreeMap::new())?
        };
        Ok(SnsDelivery {
            sns_message_id,
            sqs_message_id,
        })
    }

    /// Messages that can be received now.
    pub fn visible(&self, queue: &str) -> anyhow::Result<usize> {
        self.counts(queue).map(|c| c.visible)
    }

    /// Messages received and not yet deleted or visible again.
    pub fn in_flight(&self, queue: &str) -> anyhow::Result<usize> {
        self.counts(queue).map(|c| c.in_flight)
    }

    fn counts(&self, queue: &str) -> anyhow::Result<crate::aws::model::Counts> {
        Ok(self
            .shared
            .read(|state| state.queue(queue, Instant::now()).map(|q| q.counts()))?)
    }

    /// Ids of the messages deleted from a queue, in deletion order.
    pub fn deleted(&self, queue: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .shared
            .read(|state| state.queue(queue, Instant::now()).map(|q| q.deleted_ids()))?)
    }

    /// Bodies of the messages still in a queue (visible, in flight or delayed), oldest first.
    pub fn messages_in(&self, queue: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .shared
            .read(|state| state.queue(queue, Instant::now()).map(|q| q.bodies()))?)
    }

    /// The next `times` calls of `operation` (`*` = any) get `fault`.
    pub fn fail_next(&self, operation: &str, fault: SqsFault, times: u32) {
        self.shared.note(
            Kind::Fault,
            format!("next {times} {operation} call(s) will get {fault}"),
        );
        self.shared.faults.add(operation, fault, times);
    }

    /// The next `n` DeleteMessageBatch entries come back in `Failed` with `ReceiptHandleIsInvalid`
    /// (and their messages stay in the queue).
    pub fn fail_delete_entries(&self, n: u32) {
        self.shared.note(
            Kind::Fault,
            format!("next {n} DeleteMessageBatch entries will fail"),
        );
        self.shared.faults.fail_delete_entries(n);
    }

    /// Every answered call so far, in the order they were answered.
    pub fn calls(&self) -> Vec<SqsCall> {
        lock(&self.shared.calls).clone()
    }

    /// Calls of one operation.
    pub fn calls_to(&self, operation: &str) -> Vec<SqsCall> {
        lock(&self.shared.calls)
            .iter()
            .filter(|c| c.operation == operation)
            .cloned()
            .collect()
    }

    /// The whole timeline.
    pub fn timeline(&self) -> Vec<SqsTimelineEntry> {
        self.shared.timeline.since(0)
    }

    /// Timeline entries from position `from` on (to tail the log).
    pub fn timeline_since(&self, from: usize) -> Vec<SqsTimelineEntry> {
        self.shared.timeline.since(from)
    }

    /// Everything that happened to one message.
    pub fn message_history(&self, message_id: &str) -> Option<MessageHistory> {
        self.shared.read(|state| state.history.get(message_id))
    }

    /// When a message last became visible (sent, visibility expired, moved to a DLQ…).
    pub fn visible_at(&self, message_id: &str) -> Option<Instant> {
        self.message_history(message_id)
            .and_then(|history| history.visible_at.last().copied())
    }

    /// Every receive so far with the moment the message had become visible, by receive time.
    pub fn receive_latencies(&self) -> Vec<ReceiveLatency> {
        self.shared.read(|state| state.history.latencies())
    }

    /// Waits until at least `n` messages have been deleted from `queue`; returns their ids.
    pub async fn wait_for_deleted(
        &self,
        queue: &str,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<String>> {
        self.wait_until(
            timeout,
            || format!("{n} deletion(s) from {queue}"),
            || self.deleted(queue).ok().filter(|ids| ids.len() >= n),
        )
        .await
    }

    /// Waits until at least `n` calls of `operation` have been answered; returns them.
    pub async fn wait_for_calls(
        &self,
        operation: &str,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<SqsCall>> {
        self.wait_until(
            timeout,
            || format!("{n} {operation} call(s)"),
            || {
                let calls = self.calls_to(operation);
                (calls.len() >= n).then_some(calls)
            },
        )
        .await
    }

    /// Re-checks after every answered call until `check` yields a value or `timeout` passes.
    async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: impl FnOnce() -> String,
        mut check: impl FnMut() -> Option<T>,
    ) -> anyhow::Result<T> {
        let mut changes: watch::Receiver<u64> = self.shared.calls_signal.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(value) = check() {
                return Ok(value);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err(anyhow!("fake SQS went away waiting for {}", what())),
                Err(_) => {
                    if let Some(value) = check() {
                        return Ok(value);
                    }
                    bail!("timed out after {timeout:?} waiting for {}", what())
                }
            }
        }
    }
}

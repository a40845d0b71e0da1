//! The SQS consumer: a thin loop around `poll_once` (receive, handle with a visibility heartbeat, delete).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::queue::{AlarmQueue, QueueError, QueueMessage};

/// Whatever turns one queue message into Slack messages. `Ok` means it may be deleted.
#[async_trait]
pub trait NotificationSink: Send + Sync + 'static {
    async fn deliver(&self, message: &QueueMessage) -> anyhow::Result<()>;
}

#[derive(Clone, Debug)]
pub struct ConsumerSettings {
    /// Long-poll wait (SQS maximum 20 s).
    pub wait: Duration,
    /// Visibility timeout given on receive and renewed by the heartbeat.
    pub visibility: Duration,
    /// Messages per receive, 1..=10.
    pub batch: u8,
}

/// What one poll did, for logs, metrics and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollOutcome {
    pub received: usize,
    pub delivered: usize,
    /// Left in the queue to come back (and reach the DLQ after the redrive policy's count).
    pub failed: usize,
    pub delete_failures: usize,
}

pub struct Consumer {
    queue: Arc<dyn AlarmQueue>,
    sink: Arc<dyn NotificationSink>,
    settings: ConsumerSettings,
}

impl Consumer {
    pub fn new(
        queue: Arc<dyn AlarmQueue>,
        sink: Arc<dyn NotificationSink>,
        settings: ConsumerSettings,
    ) -> Self {
        Self {
            queue,
            sink,
            settings,
        }
    }

    /// One receive, then handle and delete what arrived.
    pub async fn poll_once(&self) -> Result<PollOutcome, QueueError> {
        let batch = self.receive().await?;
        Ok(self.handle(batch).await)
    }

    async fn receive(&self) -> Result<Vec<QueueMessage>, QueueError> {
        let ConsumerSettings {
            wait,
            visibility,
            batch,
        } = self.settings;
        self.queue.receive(batch, wait, visibility).await
    }

    /// Handle a batch to the end (never cancelled midway), then delete the delivered messages.
    pub async fn handle(&self, batch: Vec<QueueMessage>) -> PollOutcome {
        let mut outcome = PollOutcome {
            received: batch.len(),
            ..Default::default()
        };
        if batch.is_empty() {
            return outcome;
        }
        let results = self
            .with_heartbeat(&batch, join_all(batch.iter().map(|m| self.sink.deliver(m))))
            .await;
        let mut done = vec![];
        for (message, result) in batch.iter().zip(results) {
            match result {
                Ok(()) => done.push(message),
                Err(e) => {
                    outcome.failed += 1;
                    warn!(sqs_message_id = %message.id, receive_count = message.receive_count, error = format!("{e:#}"), "Notification not delivered; it stays in the queue and will come back.");
                }
            }
        }
        outcome.delivered = done.len();
        match self.queue.delete(&done).await {
            Ok(failures) => {
                outcome.delete_failures = failures.len();
                for f in failures {
                    warn!(sqs_message_id = %f.id, reason = %f.reason, "SQS did not delete a delivered message; it may be delivered again (deduplicated).");
                }
            }
            Err(e) => {
                outcome.delete_failures = done.len();
                warn!(
                    error = format!("{:#}", anyhow::Error::new(e)),
                    "Deleting delivered messages failed; they may come back (deduplicated)."
                );
            }
        }
        debug!(?outcome, "Poll done.");
        outcome
    }

    /// Run `work` while renewing the batch's visibility every half timeout, so slow handling keeps it hidden.
    async fn with_heartbeat<T>(
        &self,
        batch: &[QueueMessage],
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let every = (self.settings.visibility / 2).max(Duration::from_millis(500));
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = beat.tick() => {
                    for message in batch {
                        if let Err(e) = self.queue.extend(message, self.settings.visibility).await {
                            warn!(sqs_message_id = %message.id, error = format!("{:#}", anyhow::Error::new(e)), "Could not extend visibility.");
                        }
                    }
                }
            }
        }
    }

    /// Poll until `stop` is cancelled. A receive in progress is abandoned (unreceived messages stay
    /// in the queue); a batch being handled is finished first, so nothing is half-done.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let batch = tokio::select! {
                _ = stop.cancelled() => break,
                batch = self.receive() => batch,
            };
            match batch {
                Ok(batch) => {
                    failures = 0;
                    self.handle(batch).await;
                }
                Err(e) => {
                    failures += 1;
                    let delay = Duration::from_millis(500 * 2u64.pow(failures.min(6)))
                        .min(Duration::from_secs(30));
                    error!(
                        error = format!("{:#}", anyhow::Error::new(e)),
                        ?delay,
                        "Receiving from SQS failed; retrying."
                    );
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        info!("SQS consumer stopped.");
    }
}

//! The SQS consumer's step, `poll`: receive, handle with a visibility heartbeat, delete; hand back when stopping.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;
use tracing::field::Empty;
use tracing::{debug, info, info_span, warn, Instrument as _};

use super::queue::{AlarmQueue, QueueError, QueueMessage};
use crate::health::Health;
use crate::telemetry::metrics::AlarmMetrics;

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
    /// Deliveries still running when the shutdown grace ended; their messages are handed back.
    pub abandoned: usize,
    /// Made receivable again at once because the bot is stopping (`AlarmQueue::hand_back`).
    pub handed_back: usize,
}

/// What pollers obey when the bot stops; `AlarmService::finish` cancels them in this order.
#[derive(Clone, Debug, Default)]
pub struct StopSignals {
    /// Start no new receive. A receive in progress is let finish, because SQS would still hand
    /// its messages to the abandoned poll and hide them for the visibility timeout; whatever it
    /// returns is handed back. Batches being handled are finished.
    pub stop: CancellationToken,
    /// The handling grace is over: deliveries still running are abandoned, their messages handed back.
    pub abandon_work: CancellationToken,
    /// The shutdown deadline is near: a receive still running (past its wait) is dropped.
    pub abandon_receive: CancellationToken,
}

pub struct Consumer {
    queue: Arc<dyn AlarmQueue>,
    sink: Arc<dyn NotificationSink>,
    settings: ConsumerSettings,
    health: Arc<Health>,
    metrics: AlarmMetrics,
}

/// What one receive gave the poller.
pub(super) enum Taken {
    /// Messages to handle (none if the long poll ended empty).
    Batch(Vec<QueueMessage>),
    /// The bot is stopping: whatever arrived was handed back (or the receive was abandoned).
    Stopping(PollOutcome),
}

/// One delivery per message of a batch; `None` where it was abandoned unfinished.
type Deliveries = Vec<Option<anyhow::Result<()>>>;

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
            health: Arc::default(),
            metrics: AlarmMetrics::unregistered(),
        }
    }

    /// Count messages received and failed on `metrics`.
    pub fn with_metrics(mut self, metrics: AlarmMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Report every ended receive and the notifications in hand to `health` (atomics only).
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = health;
        self
    }

    /// One receive, then handle and delete what arrived (nobody stopping).
    pub async fn poll_once(&self) -> Result<PollOutcome, QueueError> {
        self.poll(&StopSignals::default()).await
    }

    /// One receive, then handle what arrived, or hand it back if the bot is stopping by then.
    pub async fn poll(&self, signals: &StopSignals) -> Result<PollOutcome, QueueError> {
        match self.take(signals).await? {
            Taken::Batch(batch) => Ok(self.handle(batch, signals).await),
            Taken::Stopping(outcome) => Ok(outcome),
        }
    }

    /// One receive. While the bot is stopping, what it returns is handed back rather than taken.
    pub(super) async fn take(&self, signals: &StopSignals) -> Result<Taken, QueueError> {
        let batch = tokio::select! {
            batch = self.receive() => {
                let batch = batch?;
                self.health.polled();
                self.metrics.received.inc_by(batch.len() as u64);
                batch
            }
            _ = signals.abandon_receive.cancelled() => {
                warn!("A long poll was still running at the shutdown deadline; abandoned.");
                return Ok(Taken::Stopping(PollOutcome::default()));
            }
        };
        if !signals.stop.is_cancelled() {
            return Ok(Taken::Batch(batch));
        }
        let mut outcome = PollOutcome {
            received: batch.len(),
            ..Default::default()
        };
        self.hand_back(&batch.iter().collect::<Vec<_>>(), &mut outcome)
            .await;
        Ok(Taken::Stopping(outcome))
    }

    /// Messages per receive (a receive that returns this many suggests a backlog).
    pub(super) fn batch_size(&self) -> usize {
        usize::from(self.settings.batch.clamp(1, 10))
    }

    async fn receive(&self) -> Result<Vec<QueueMessage>, QueueError> {
        let ConsumerSettings {
            wait,
            visibility,
            batch,
        } = self.settings;
        self.queue.receive(batch, wait, visibility).await
    }

    /// Handle a batch (to the end, unless the shutdown grace ends first), delete what was
    /// delivered, and hand back the rest if the bot is stopping.
    pub(super) async fn handle(
        &self,
        batch: Vec<QueueMessage>,
        signals: &StopSignals,
    ) -> PollOutcome {
        let mut outcome = PollOutcome {
            received: batch.len(),
            ..Default::default()
        };
        if batch.is_empty() {
            return outcome;
        }
        let _in_hand = self.health.alarms_in_hand(batch.len());
        let results = self
            .with_heartbeat(&batch, self.deliver_all(&batch, &signals.abandon_work))
            .await;
        let (mut done, mut undone) = (vec![], vec![]);
        for (message, result) in batch.iter().zip(results) {
            match result {
                Some(Ok(())) => done.push(message),
                Some(Err(_)) => {
                    outcome.failed += 1;
                    self.metrics.failed.inc();
                    undone.push(message);
                }
                None => {
                    outcome.abandoned += 1;
                    undone.push(message);
                }
            }
        }
        outcome.delivered = done.len();
        self.health.alarms_handled(done.len());
        self.delete(&done, &mut outcome).await;
        if signals.stop.is_cancelled() {
            self.hand_back(&undone, &mut outcome).await;
        }
        debug!(?outcome, "Poll done.");
        outcome
    }

    /// Deliver every message of the batch at once; stop waiting when `abandon` is cancelled.
    async fn deliver_all(&self, batch: &[QueueMessage], abandon: &CancellationToken) -> Deliveries {
        let mut results: Deliveries = batch.iter().map(|_| None).collect();
        let mut running: FuturesUnordered<_> = batch
            .iter()
            .enumerate()
            .map(|(index, message)| {
                // Every line about this message names it, and its card once it is parsed.
                let span = info_span!("alarm", sqs_message_id = %message.id, card = Empty);
                async move {
                    let result = self.sink.deliver(message).await;
                    if let Err(e) = &result {
                        warn!(
                            receive_count = message.receive_count,
                            error = format!("{e:#}"),
                            "Notification not delivered; it stays in the queue and will come back."
                        );
                    }
                    (index, result)
                }
                .instrument(span)
            })
            .collect();
        loop {
            tokio::select! {
                next = running.next() => match next {
                    Some((index, result)) => results[index] = Some(result),
                    None => break,
                },
                _ = abandon.cancelled() => break,
            }
        }
        results
    }

    async fn delete(&self, done: &[&QueueMessage], outcome: &mut PollOutcome) {
        match self.queue.delete(done).await {
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
    }

    /// The bot is stopping: make `messages` receivable again now rather than after the visibility timeout.
    async fn hand_back(&self, messages: &[&QueueMessage], outcome: &mut PollOutcome) {
        if messages.is_empty() {
            return;
        }
        match self.queue.hand_back(messages).await {
            Ok(()) => {
                outcome.handed_back = messages.len();
                info!(
                    count = messages.len(),
                    "Handed back messages not handled before stopping; they can be received again at once."
                );
            }
            Err(e) => warn!(
                error = format!("{:#}", anyhow::Error::new(e)),
                "Could not hand back every message; those come back after their visibility timeout."
            ),
        }
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
}

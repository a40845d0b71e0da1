//! Hand acked envelopes to handlers: parse, deduplicate by `event_id`, run concurrently under a bound.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use super::frame::RawEnvelope;
use crate::slack::inbound::{parse_payload, Inbound};
use crate::slack::interaction::Interaction;
use crate::store::EventLedger;
use crate::telemetry::metrics::Metrics;

/// Whoever acts on interactions: the router, in the daemon.
#[async_trait]
pub trait InteractionHandler: Send + Sync + 'static {
    async fn handle(&self, interaction: Interaction);
}

/// Cheap to clone; every connection holds one.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    /// The FIFO of parsed interactions; `None` once draining has begun.
    queue: Mutex<Option<mpsc::UnboundedSender<Parsed>>>,
    work: Arc<Work>,
    /// The `max_handlers` workers, on the main runtime (never the socket thread).
    workers: TaskTracker,
}

/// What the workers share. Holds no sender, so closing the queue ends the workers.
struct Work {
    handler: Arc<dyn InteractionHandler>,
    ledger: Arc<dyn EventLedger>,
    metrics: Arc<Metrics>,
    /// Queued plus running.
    in_flight: AtomicUsize,
}

impl Dispatcher {
    /// Start `max_concurrent` workers on the current (main) runtime.
    pub fn new(
        handler: Arc<dyn InteractionHandler>,
        ledger: Arc<dyn EventLedger>,
        max_concurrent: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let work = Arc::new(Work {
            handler,
            ledger,
            metrics,
            in_flight: AtomicUsize::new(0),
        });
        let workers = TaskTracker::new();
        let runtime = tokio::runtime::Handle::current();
        for _ in 0..max_concurrent.max(1) {
            workers.spawn_on(work.clone().worker(rx.clone()), &runtime);
        }
        Self {
            inner: Arc::new(Inner {
                queue: Mutex::new(Some(tx)),
                work,
                workers,
            }),
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.work.metrics
    }

    /// Take an already-acked envelope: parse it here (microseconds, so queued work is a small
    /// `Interaction` rather than raw JSON) and queue it for the workers. Never blocks.
    pub fn dispatch(&self, envelope: RawEnvelope, connection: u64) {
        let Some(parsed) = self.inner.work.parse(envelope, connection) else {
            return;
        };
        let queue = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
        match queue.as_ref() {
            Some(tx) => {
                self.inner.work.in_flight.fetch_add(1, Ordering::Relaxed);
                if let Err(mpsc::error::SendError(parsed)) = tx.send(parsed) {
                    self.inner.work.in_flight.fetch_sub(1, Ordering::Relaxed);
                    warn!(
                        envelope_id = parsed.envelope_id,
                        "No handler worker is left; interaction dropped."
                    );
                }
            }
            None => warn!(
                envelope_id = parsed.envelope_id,
                "Envelope arrived while shutting down; not handled."
            ),
        }
    }

    /// Interactions queued or being handled.
    pub fn in_flight(&self) -> usize {
        self.inner.work.in_flight.load(Ordering::Relaxed)
    }

    /// Stop taking work, let the workers finish the queue, wait up to `grace`. Returns how many
    /// interactions were abandoned.
    pub async fn drain(&self, grace: Duration) -> usize {
        drop(
            self.inner
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        self.inner.workers.close();
        match tokio::time::timeout(grace, self.inner.workers.wait()).await {
            Ok(()) => 0,
            Err(_) => self.in_flight(),
        }
    }
}

/// An acked envelope that carries work for a handler.
struct Parsed {
    envelope_id: String,
    event_id: Option<String>,
    retry_attempt: u32,
    interaction: Interaction,
}

impl Work {
    /// Take the next interaction until the queue is closed and empty.
    async fn worker(
        self: Arc<Self>,
        queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Parsed>>>,
    ) {
        loop {
            let next = queue.lock().await.recv().await;
            let Some(parsed) = next else { return };
            let envelope_id = parsed.envelope_id.clone();
            if AssertUnwindSafe(self.process(parsed))
                .catch_unwind()
                .await
                .is_err()
            {
                self.metrics.handler_panics.inc();
                error!(
                    envelope_id,
                    "A handler panicked; the envelope was acked and is dropped."
                );
            }
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn parse(&self, envelope: RawEnvelope, connection: u64) -> Option<Parsed> {
        let RawEnvelope {
            envelope_id,
            kind,
            payload,
            retry_attempt,
            retry_reason,
            ..
        } = envelope;
        if retry_attempt > 0 {
            let reason = retry_reason.as_deref().unwrap_or("");
            self.metrics.record_redelivery(reason);
            info!(
                envelope_id,
                connection,
                retry_attempt,
                retry_reason = reason,
                "Slack redelivered an envelope."
            );
        }
        match parse_payload(&kind, payload.as_deref().map(|p| p.get())) {
            Ok(Inbound::Interaction {
                interaction,
                event_id,
            }) => Some(Parsed {
                envelope_id,
                event_id,
                retry_attempt,
                interaction,
            }),
            Ok(Inbound::Ignored { reason }) => {
                self.metrics.envelopes_ignored.inc();
                debug!(
                    envelope_id,
                    envelope_type = kind,
                    reason,
                    "Ignoring envelope."
                );
                None
            }
            Err(e) => {
                self.metrics.envelopes_unparsable.inc();
                warn!(envelope_id, envelope_type = kind, error = %e, "Envelope payload does not parse; acked and dropped.");
                None
            }
        }
    }

    async fn process(&self, parsed: Parsed) {
        let Parsed {
            envelope_id,
            event_id,
            retry_attempt,
            interaction,
        } = parsed;
        if let Some(event_id) = &event_id {
            match self.ledger.first_delivery(event_id).await {
                Ok(true) => {}
                Ok(false) => {
                    self.metrics.duplicates_skipped.inc();
                    info!(
                        envelope_id,
                        event_id, retry_attempt, "Skipping an event that was already handled."
                    );
                    return;
                }
                // Handling twice beats dropping: carry on, but say so.
                Err(e) => warn!(
                    event_id,
                    error = format!("{e:#}"),
                    "Could not record the event id; handling anyway."
                ),
            }
        }
        debug!(
            envelope_id,
            event_id,
            interaction = interaction.kind(),
            "Handling interaction."
        );
        self.handler.handle(interaction).await;
        self.metrics.interactions_handled.inc();
    }
}

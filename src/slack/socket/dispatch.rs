//! Hand acked envelopes to handlers: parse, deduplicate by `event_id`, run concurrently under a bound.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use super::frame::RawEnvelope;
use crate::slack::inbound::{parse_payload, Inbound};
use crate::slack::interaction::Interaction;
use crate::telemetry::metrics::Metrics;

/// Whoever acts on interactions: the router, in the daemon.
#[async_trait]
pub trait InteractionHandler: Send + Sync + 'static {
    async fn handle(&self, interaction: Interaction);
}

/// Remembers which Events API deliveries were handled, across connections and restarts.
pub trait EventLedger: Send + Sync + 'static {
    /// Record `event_id`; true if this is its first delivery.
    fn first_delivery(&self, event_id: &str) -> anyhow::Result<bool>;
}

/// Cheap to clone; every connection holds one.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    /// Handlers run here (the main runtime), never on the socket thread that reads and acks.
    handlers: tokio::runtime::Handle,
    handler: Arc<dyn InteractionHandler>,
    ledger: Arc<dyn EventLedger>,
    permits: Semaphore,
    tracker: TaskTracker,
    metrics: Arc<Metrics>,
}

impl Dispatcher {
    pub fn new(
        handler: Arc<dyn InteractionHandler>,
        ledger: Arc<dyn EventLedger>,
        max_concurrent: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                handlers: tokio::runtime::Handle::current(),
                handler,
                ledger,
                permits: Semaphore::new(max_concurrent.max(1)),
                tracker: TaskTracker::new(),
                metrics,
            }),
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Take an already-acked envelope: parse it here (microseconds, so parked work holds a small
    /// `Interaction` rather than raw JSON) and queue it for a handler on the main runtime. Never
    /// blocks: waiting for a handler slot happens in the spawned task.
    pub fn dispatch(&self, envelope: RawEnvelope, connection: u64) {
        let Some(parsed) = self.inner.parse(envelope, connection) else {
            return;
        };
        let inner = self.inner.clone();
        let task = async move {
            let envelope_id = parsed.envelope_id.clone();
            let work = AssertUnwindSafe(inner.process(parsed)).catch_unwind();
            if work.await.is_err() {
                inner.metrics.handler_panics.inc();
                error!(
                    envelope_id,
                    connection, "A handler panicked; the envelope was acked and is dropped."
                );
            }
        };
        self.inner.tracker.spawn_on(task, &self.inner.handlers);
    }

    /// Handlers still running or waiting for a slot.
    pub fn in_flight(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Stop taking work and wait up to `grace` for in-flight handlers. Returns how many were abandoned.
    pub async fn drain(&self, grace: Duration) -> usize {
        self.inner.tracker.close();
        match tokio::time::timeout(grace, self.inner.tracker.wait()).await {
            Ok(()) => 0,
            Err(_) => self.inner.tracker.len(),
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

impl Inner {
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
        let _permit = self.permits.acquire().await;
        let Parsed {
            envelope_id,
            event_id,
            retry_attempt,
            interaction,
        } = parsed;
        if let Some(event_id) = &event_id {
            match self.ledger.first_delivery(event_id) {
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

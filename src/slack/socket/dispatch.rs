//! Hand acked envelopes to handlers: parse, deduplicate by `event_id`, run concurrently under a bound, shed load past a bounded queue.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, info_span, warn, Instrument as _};

use super::frame::RawEnvelope;
use crate::slack::inbound::{parse_payload, Inbound};
use crate::slack::interaction::Interaction;
use crate::store::EventLedger;
use crate::telemetry::latency::Latencies;
use crate::telemetry::metrics::Metrics;

/// Whoever acts on interactions: the router, in the daemon.
#[async_trait]
pub trait InteractionHandler: Send + Sync + 'static {
    async fn handle(&self, interaction: Interaction);
    /// Tell the user, without doing the work, that the bot is too busy to handle `interaction`
    /// now and they should try again. Called for interactive payloads past the queue bound.
    async fn answer_busy(&self, interaction: Interaction);
}

/// How much work the dispatcher takes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DispatchLimits {
    /// Handlers running at once (`slack.socket.max_handlers`).
    pub max_handlers: usize,
    /// Interactions waiting for a handler (`slack.socket.max_queued`); past it, load is shed.
    /// At most as many interactive payloads more wait for their "busy" answer.
    pub max_queued: usize,
}

/// Workers sending "busy" answers, apart from the handlers (which are all taken when it matters).
const BUSY_ANSWERERS: usize = 4;

/// Cheap to clone; every connection holds one.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
    /// Where the connections record each envelope's read → ack latency.
    latencies: Latencies,
}

struct Inner {
    /// The bounded FIFOs; `None` once draining has begun.
    queue: Mutex<Option<Lanes>>,
    max_queued: usize,
    work: Arc<Work>,
    /// The `max_handlers` workers, on the main runtime (never the socket thread).
    workers: TaskTracker,
}

/// Where an acked interaction can go: to a handler, or past the bound to a "busy" answer.
struct Lanes {
    handlers: mpsc::Sender<Parsed>,
    busy: mpsc::Sender<Parsed>,
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
    /// Start `limits.max_handlers` workers (and the busy answerers) on the current (main) runtime.
    pub fn new(
        handler: Arc<dyn InteractionHandler>,
        ledger: Arc<dyn EventLedger>,
        limits: DispatchLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        let max_queued = limits.max_queued.max(1);
        let (tx, rx) = mpsc::channel(max_queued);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let (busy_tx, busy_rx) = mpsc::channel(max_queued);
        let busy_rx = Arc::new(tokio::sync::Mutex::new(busy_rx));
        let work = Arc::new(Work {
            handler,
            ledger,
            metrics,
            in_flight: AtomicUsize::new(0),
        });
        let workers = TaskTracker::new();
        let runtime = tokio::runtime::Handle::current();
        for _ in 0..limits.max_handlers.max(1) {
            workers.spawn_on(work.clone().worker(rx.clone(), Lane::Handle), &runtime);
        }
        for _ in 0..BUSY_ANSWERERS {
            workers.spawn_on(
                work.clone().worker(busy_rx.clone(), Lane::AnswerBusy),
                &runtime,
            );
        }
        Self {
            inner: Arc::new(Inner {
                queue: Mutex::new(Some(Lanes {
                    handlers: tx,
                    busy: busy_tx,
                })),
                max_queued,
                work,
                workers,
            }),
            latencies: Latencies::default(),
        }
    }

    /// Connections record each envelope's read → ack latency (`LatencyKind::SocketAck`) there.
    pub fn with_latencies(mut self, latencies: Latencies) -> Self {
        self.latencies = latencies;
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.work.metrics
    }

    pub fn latencies(&self) -> &Latencies {
        &self.latencies
    }

    /// Take an already-acked envelope: parse it here (microseconds, so queued work is a small
    /// `Interaction` rather than raw JSON) and queue it for the workers. Never blocks: past
    /// `max_queued` waiting interactions, it sheds load (see `overflow`).
    pub fn dispatch(&self, envelope: RawEnvelope, connection: u64) {
        let Some(parsed) = self.inner.work.parse(envelope, connection) else {
            return;
        };
        let queue = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
        let Some(lanes) = queue.as_ref() else {
            warn!(
                envelope_id = parsed.envelope_id,
                "Envelope arrived while shutting down; not handled."
            );
            return;
        };
        let in_flight = &self.inner.work.in_flight;
        in_flight.fetch_add(1, Ordering::Relaxed);
        match lanes.handlers.try_send(parsed) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(parsed)) => {
                in_flight.fetch_sub(1, Ordering::Relaxed);
                self.overflow(lanes, parsed);
            }
            Err(mpsc::error::TrySendError::Closed(parsed)) => {
                in_flight.fetch_sub(1, Ordering::Relaxed);
                warn!(
                    envelope_id = parsed.envelope_id,
                    "No handler worker is left; interaction dropped."
                );
            }
        }
    }

    /// `max_queued` interactions are waiting. An Events API delivery is dropped: it was acked, so
    /// Slack will not resend it, and its user gets no answer. An interactive payload (a click, a
    /// slash command, a form) is never dropped in silence: it is answered "busy, try again".
    fn overflow(&self, lanes: &Lanes, parsed: Parsed) {
        let work = &self.inner.work;
        let kind = parsed.interaction.kind();
        if !answers_busy(&parsed.interaction) {
            work.metrics.overload_events_dropped.inc();
            warn!(
                envelope_id = parsed.envelope_id,
                event_id = parsed.event_id,
                interaction = kind,
                max_queued = self.inner.max_queued,
                "Too many interactions waiting; an acked Events API delivery is dropped unanswered."
            );
            return;
        }
        work.in_flight.fetch_add(1, Ordering::Relaxed);
        match lanes.busy.try_send(parsed) {
            Ok(()) => warn!(
                interaction = kind,
                max_queued = self.inner.max_queued,
                "Too many interactions waiting; answering this one \"busy, try again\"."
            ),
            Err(
                mpsc::error::TrySendError::Full(parsed) | mpsc::error::TrySendError::Closed(parsed),
            ) => {
                work.in_flight.fetch_sub(1, Ordering::Relaxed);
                work.metrics.overload_unanswered.inc();
                error!(
                    envelope_id = parsed.envelope_id,
                    interaction = kind,
                    max_queued = self.inner.max_queued,
                    "Too many interactions waiting and too many busy answers pending; an interactive payload is dropped unanswered."
                );
            }
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

/// Whether an interaction past the bound gets a "busy" answer (interactive payloads: the user is
/// waiting on a click or a command) or is dropped with a count (Events API deliveries).
fn answers_busy(interaction: &Interaction) -> bool {
    match interaction {
        Interaction::Button(_) | Interaction::SlashCommand(_) | Interaction::ViewSubmission(_) => {
            true
        }
        Interaction::Mention(_) | Interaction::DirectMessage(_) | Interaction::ThreadMessage(_) => {
            false
        }
    }
}

/// What a worker does with what it takes from its queue.
#[derive(Clone, Copy)]
enum Lane {
    Handle,
    AnswerBusy,
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
        queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Parsed>>>,
        lane: Lane,
    ) {
        loop {
            let next = queue.lock().await.recv().await;
            let Some(parsed) = next else { return };
            let envelope_id = parsed.envelope_id.clone();
            // Every line logged while handling it names the envelope (and the event, if any).
            let span = info_span!("interaction", envelope_id = %envelope_id, event_id = parsed.event_id.as_deref());
            let done = match lane {
                Lane::Handle => {
                    let process = AssertUnwindSafe(self.process(parsed)).catch_unwind();
                    process.instrument(span).await
                }
                Lane::AnswerBusy => {
                    let answer = AssertUnwindSafe(self.handler.answer_busy(parsed.interaction));
                    let answered = answer.catch_unwind().instrument(span).await;
                    self.metrics.overload_busy_answers.inc();
                    answered
                }
            };
            if done.is_err() {
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

//! The daemon's metrics on one Prometheus registry (prometheus-client): Socket Mode, Web API, alarms, integrations and the four latencies.
//!
//! Every metric is an atomic (counters, gauges) or a short uncontended lock (a histogram's
//! observation), registered once in `Metrics::default`; the hot paths hold the handles and never
//! look anything up by name. `encode` writes the registry as OpenMetrics text for `/metrics`;
//! `snapshot` is the Socket Mode part as plain numbers, for the periodic log line and tests.

mod alarms;
mod integrations;
mod slack_api;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use alarms::AlarmMetrics;
pub use integrations::{IntegrationMetrics, System};
pub use slack_api::{ApiResult, SlackApiMetrics};

use super::latency::{LatencyKind, LatencySink};

/// The content type of `encode`'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label set with one label, `reason`, from a closed set of words.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: &'static str,
}

/// Every metric the daemon keeps, registered on its own registry.
pub struct Metrics {
    registry: Registry,
    /// Socket Mode connections opened (each attempt that reached the WebSocket handshake).
    pub connections_opened: Counter,
    /// Socket Mode connections that said `hello` and carry traffic now.
    pub connections_up: Gauge,
    /// `hello` frames received.
    pub hellos: Counter,
    /// Envelopes acked.
    pub acks_sent: Counter,
    pub frames_malformed: Counter,
    pub envelopes_unparsable: Counter,
    pub envelopes_ignored: Counter,
    pub duplicates_skipped: Counter,
    pub interactions_handled: Counter,
    pub handler_panics: Counter,
    /// Events API deliveries dropped because `slack.socket.max_queued` interactions were waiting.
    pub overload_events_dropped: Counter,
    /// Interactive payloads answered "busy" instead of handled, for the same reason.
    pub overload_busy_answers: Counter,
    /// Interactive payloads dropped without an answer: the busy answers were backed up too.
    pub overload_unanswered: Counter,
    /// Socket Mode ack latency (envelope read → ack written), fed through `LatencySink`.
    pub ack_seconds: Histogram,
    /// A question to the agent → its full answer, fed through `LatencySink`.
    pub agent_answer_seconds: Histogram,
    /// Web API calls by method and result, and 429s.
    pub slack_api: SlackApiMetrics,
    /// The alarm pipeline.
    pub alarms: AlarmMetrics,
    /// Bedrock, Confluence and GitHub.
    pub integrations: IntegrationMetrics,
    reconnects: Family<Reason, Counter>,
    /// Every reconnect, whatever the reason (the snapshot's `reconnects`).
    reconnects_total: Counter,
    event_retries: Family<Reason, Counter>,
    /// Redeliveries by `retry_reason` as Slack wrote it (for logs and tests).
    redeliveries: Mutex<BTreeMap<String, u64>>,
}

/// A point-in-time copy of the Socket Mode counters, for logs and tests.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricsSnapshot {
    pub connections_opened: u64,
    pub reconnects: u64,
    pub acks_sent: u64,
    pub frames_malformed: u64,
    pub envelopes_unparsable: u64,
    pub envelopes_ignored: u64,
    pub duplicates_skipped: u64,
    pub interactions_handled: u64,
    pub handler_panics: u64,
    pub overload_events_dropped: u64,
    pub overload_busy_answers: u64,
    pub overload_unanswered: u64,
    pub redeliveries: BTreeMap<String, u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let r = &mut registry;
        let metrics = Self {
            connections_opened: counter(
                r,
                "chatops_slack_connections_opened",
                "Socket Mode connections opened.",
            ),
            connections_up: gauge(
                r,
                "chatops_slack_connections",
                "Socket Mode connections open now (said hello).",
            ),
            hellos: counter(
                r,
                "chatops_slack_hellos",
                "Socket Mode hello frames received.",
            ),
            acks_sent: counter(r, "chatops_slack_acks", "Socket Mode envelopes acked."),
            frames_malformed: counter(
                r,
                "chatops_slack_frames_malformed",
                "Socket Mode frames that did not parse (acked when they had an envelope id).",
            ),
            envelopes_unparsable: counter(
                r,
                "chatops_slack_envelopes_unparsable",
                "Envelopes whose payload did not parse (acked and dropped).",
            ),
            envelopes_ignored: counter(
                r,
                "chatops_slack_envelopes_ignored",
                "Envelopes the bot ignores on purpose.",
            ),
            duplicates_skipped: counter(
                r,
                "chatops_slack_events_duplicate",
                "Events API deliveries already handled (by event id), skipped.",
            ),
            interactions_handled: counter(
                r,
                "chatops_slack_interactions_handled",
                "Interactions handed to a handler and finished.",
            ),
            handler_panics: counter(r, "chatops_slack_handler_panics", "Handlers that panicked."),
            overload_events_dropped: counter(
                r,
                "chatops_slack_overload_events_dropped",
                "Events API deliveries dropped: slack.socket.max_queued interactions were waiting.",
            ),
            overload_busy_answers: counter(
                r,
                "chatops_slack_overload_busy_answers",
                "Interactive payloads answered \"busy, try again\" past slack.socket.max_queued.",
            ),
            overload_unanswered: counter(
                r,
                "chatops_slack_overload_unanswered",
                "Interactive payloads dropped unanswered: the busy answers were backed up too.",
            ),
            ack_seconds: histogram(
                r,
                "chatops_slack_ack",
                "Socket Mode envelope read to ack written.",
                exponential_buckets(0.000_25, 2.0, 14),
            ),
            agent_answer_seconds: histogram(
                r,
                "chatops_bedrock_answer",
                "A question to the agent to its full answer.",
                exponential_buckets(0.25, 2.0, 11),
            ),
            slack_api: SlackApiMetrics::register(r),
            alarms: AlarmMetrics::register(r),
            integrations: IntegrationMetrics::register(r),
            reconnects: family(
                r,
                "chatops_slack_reconnects",
                "Socket Mode reconnects and replacements, by reason.",
            ),
            reconnects_total: Counter::default(),
            event_retries: family(
                r,
                "chatops_slack_event_retries",
                "Events API retries seen (retry_attempt > 0), by Slack's retry_reason.",
            ),
            redeliveries: Mutex::default(),
            // A placeholder while `r` borrows the registry the fields above registered on.
            registry: Registry::default(),
        };
        Self {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// A Socket Mode connection is being replaced or reconnected, for `reason` (a closed set of
    /// words: Slack's disconnect reasons, "lost", "other").
    pub fn reconnected(&self, reason: &'static str) {
        self.reconnects_total.inc();
        self.reconnects.get_or_create(&Reason { reason }).inc();
    }

    /// An Events API retry: Slack's `retry_reason`, kept as written for the snapshot and as one
    /// of Slack's documented words (else "other") for the label.
    pub fn record_redelivery(&self, reason: &str) {
        let reason = if reason.is_empty() {
            "unspecified"
        } else {
            reason
        };
        let label = RETRY_REASONS
            .iter()
            .find(|known| **known == reason)
            .copied()
            .unwrap_or("other");
        self.event_retries
            .get_or_create(&Reason { reason: label })
            .inc();
        let mut map = self.redeliveries.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(reason.to_owned()).or_default() += 1;
    }

    /// Log the Socket Mode counters once a minute until `stop`.
    pub async fn log_every_minute(self: Arc<Self>, stop: CancellationToken) {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => info!(metrics = ?self.snapshot(), "Socket Mode counters."),
            }
        }
    }

    /// The whole registry as OpenMetrics text (`CONTENT_TYPE`), ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            connections_opened: self.connections_opened.get(),
            reconnects: self.reconnects_total.get(),
            acks_sent: self.acks_sent.get(),
            frames_malformed: self.frames_malformed.get(),
            envelopes_unparsable: self.envelopes_unparsable.get(),
            envelopes_ignored: self.envelopes_ignored.get(),
            duplicates_skipped: self.duplicates_skipped.get(),
            interactions_handled: self.interactions_handled.get(),
            handler_panics: self.handler_panics.get(),
            overload_events_dropped: self.overload_events_dropped.get(),
            overload_busy_answers: self.overload_busy_answers.get(),
            overload_unanswered: self.overload_unanswered.get(),
            redeliveries: self
                .redeliveries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Metrics({:?})", self.snapshot())
    }
}

/// The four latencies land in their histograms.
impl LatencySink for Metrics {
    fn record(&self, kind: LatencyKind, value: Duration) {
        let histogram = match kind {
            LatencyKind::AlarmStateChangeToPost => &self.alarms.state_change_to_post_seconds,
            LatencyKind::AlarmVisibleToPost => &self.alarms.visible_to_post_seconds,
            LatencyKind::SocketAck => &self.ack_seconds,
            LatencyKind::AgentAnswer => &self.agent_answer_seconds,
        };
        histogram.observe(value.as_secs_f64());
    }
}

/// Slack's documented `retry_reason`s (Events API), and Socket Mode's "timeout".
const RETRY_REASONS: [&str; 8] = [
    "timeout",
    "http_timeout",
    "http_error",
    "connection_failed",
    "ssl_error",
    "too_many_redirects",
    "unknown_error",
    "unspecified",
];

/// A counter registered as `name` (exposed as `name_total`).
fn counter(registry: &mut Registry, name: &str, help: &str) -> Counter {
    let counter = Counter::default();
    registry.register(name, help, counter.clone());
    counter
}

fn gauge(registry: &mut Registry, name: &str, help: &str) -> Gauge {
    let gauge = Gauge::default();
    registry.register(name, help, gauge.clone());
    gauge
}

/// A histogram in seconds, registered as `name` (exposed as `name_seconds`).
fn histogram(
    registry: &mut Registry,
    name: &str,
    help: &str,
    buckets: impl Iterator<Item = f64>,
) -> Histogram {
    let histogram = Histogram::new(buckets);
    registry.register_with_unit(name, help, Unit::Seconds, histogram.clone());
    histogram
}

/// A family of counters by `L`, registered as `name` (exposed as `name_total`).
fn family<L>(registry: &mut Registry, name: &str, help: &str) -> Family<L, Counter>
where
    L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<L, Counter>::default();
    registry.register(name, help, family.clone());
    family
}

#[cfg(test)]
mod tests;

//! In-process counters for the Socket Mode path, logged periodically and readable by tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// A monotonically increasing counter.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter the daemon keeps. Names match the log fields of `MetricsSnapshot`.
#[derive(Default, Debug)]
pub struct Metrics {
    pub connections_opened: Counter,
    pub reconnects: Counter,
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
    /// Redeliveries by `retry_reason` (Slack sets it on Events API retries only).
    redeliveries: Mutex<BTreeMap<String, u64>>,
}

/// A point-in-time copy, for logs and tests.
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

impl Metrics {
    pub fn record_redelivery(&self, reason: &str) {
        let reason = if reason.is_empty() {
            "unspecified"
        } else {
            reason
        };
        let mut map = self.redeliveries.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(reason.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            connections_opened: self.connections_opened.get(),
            reconnects: self.reconnects.get(),
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

//! A human-readable, ordered log of what happened inside the fake, for demo transcripts.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What kind of thing a timeline entry reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineKind {
    /// A WebSocket connection was accepted, said hello, or ended.
    Connection,
    /// A WebSocket handshake was refused.
    Handshake,
    /// An envelope was queued to a connection.
    Envelope,
    /// An unacked envelope was delivered again.
    Redelivery,
    /// A client acknowledged an envelope.
    Ack,
    /// A client sent a frame that is not a valid ack.
    Malformed,
    /// A Web API call was answered.
    ApiCall,
    /// A response_url hook was posted to.
    Hook,
    /// A fault was injected or fired.
    Fault,
}

impl TimelineKind {
    fn label(self) -> &'static str {
        match self {
            TimelineKind::Connection => "conn",
            TimelineKind::Handshake => "handshake",
            TimelineKind::Envelope => "envelope",
            TimelineKind::Redelivery => "redeliver",
            TimelineKind::Ack => "ack",
            TimelineKind::Malformed => "malformed",
            TimelineKind::ApiCall => "api",
            TimelineKind::Hook => "hook",
            TimelineKind::Fault => "fault",
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    /// Time since the fake started.
    pub at: Duration,
    /// What kind of event.
    pub kind: TimelineKind,
    /// One line of text, e.g. `conn-1 <- events_api app_mention "<@U0BOT> help"`.
    pub text: String,
}

impl fmt::Display for TimelineEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{:>9.3}s] {:<9} {}",
            self.at.as_secs_f64(),
            self.kind.label(),
            self.text
        )
    }
}

/// The append-only timeline store.
#[derive(Debug)]
pub(crate) struct Timeline {
    started: Instant,
    entries: Mutex<Vec<TimelineEntry>>,
}

impl Timeline {
    pub(crate) fn new(started: Instant) -> Self {
        Timeline {
            started,
            entries: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn push(&self, kind: TimelineKind, text: String) {
        let entry = TimelineEntry {
            at: self.started.elapsed(),
            kind,
            text,
        };
        lock(&self.entries).push(entry);
    }

    /// Entries from position `from` on (for tailing the log).
    pub(crate) fn since(&self, from: usize) -> Vec<TimelineEntry> {
        let entries = lock(&self.entries);
        entries.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }
}

/// Locks a std mutex, recovering the data if a panicking thread poisoned it (records stay usable).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_returns_the_tail_in_order() {
        let timeline = Timeline::new(Instant::now());
        timeline.push(TimelineKind::Connection, "conn-1 opened".into());
        timeline.push(TimelineKind::Ack, "conn-1 acked e1".into());
        let tail = timeline.since(1);
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].kind, TimelineKind::Ack);
        assert!(timeline.since(5).is_empty());
        let line = tail[0].to_string();
        assert!(
            line.contains("ack") && line.contains("conn-1 acked e1"),
            "{line}"
        );
    }
}

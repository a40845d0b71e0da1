//! What the fake SQS remembers for tests and demos: every call, and a human-readable timeline
//! printed in the same format as the fake Slack's.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::aws::faults::SqsFault;

/// How many calls and timeline entries are kept; later ones are counted but not stored.
pub(crate) const MAX_RECORDS: usize = 200_000;

/// One request to the SQS endpoint.
#[derive(Debug, Clone)]
pub struct SqsCall {
    /// Position in the order calls were answered, starting at 1.
    pub seq: u64,
    /// The operation from `X-Amz-Target` (`ReceiveMessage`), or the raw target if unknown.
    pub operation: String,
    /// The queue the request named (by name), if any.
    pub queue: Option<String>,
    /// The JSON request body.
    pub request: Value,
    /// When the request arrived.
    pub at: Instant,
    /// When the answer was ready (later than `at` by the long-poll wait for ReceiveMessage).
    pub answered_at: Instant,
    /// HTTP status of the answer.
    pub status: u16,
    /// The error's short type (`QueueDoesNotExist`, `ThrottlingException`, …) if it failed.
    pub error: Option<String>,
    /// The injected fault that answered or delayed it, if any.
    pub fault: Option<SqsFault>,
    /// Message ids it sent, received or deleted.
    pub message_ids: Vec<String>,
}

impl SqsCall {
    /// Whether it was answered with HTTP 200.
    pub fn ok(&self) -> bool {
        self.status == 200
    }

    /// How long the answer took.
    pub fn elapsed(&self) -> Duration {
        self.answered_at.saturating_duration_since(self.at)
    }
}

/// What kind of thing a timeline entry reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqsTimelineKind {
    /// A queue was created or the fake started or stopped.
    Queue,
    /// A message was put into a queue (by a client or the control API).
    Send,
    /// Messages were received.
    Receive,
    /// Messages were deleted.
    Delete,
    /// A message became visible again or its visibility was changed.
    Visibility,
    /// A message was moved to its dead-letter queue.
    Redrive,
    /// A request was answered (calls that are not already reported above, and errors).
    ApiCall,
    /// A fault was armed or fired.
    Fault,
}

impl SqsTimelineKind {
    fn label(self) -> &'static str {
        match self {
            SqsTimelineKind::Queue => "sqs-queue",
            SqsTimelineKind::Send => "sqs-send",
            SqsTimelineKind::Receive => "sqs-recv",
            SqsTimelineKind::Delete => "sqs-del",
            SqsTimelineKind::Visibility => "sqs-vis",
            SqsTimelineKind::Redrive => "sqs-dlq",
            SqsTimelineKind::ApiCall => "sqs-api",
            SqsTimelineKind::Fault => "sqs-fault",
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct SqsTimelineEntry {
    /// Time since the fake started.
    pub at: Duration,
    /// The moment itself, for merging with other fakes' timelines.
    pub instant: Instant,
    /// What kind of event.
    pub kind: SqsTimelineKind,
    /// One line of text.
    pub text: String,
}

impl fmt::Display for SqsTimelineEntry {
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

/// Timeline lines produced while the state lock is held, written out after it is released.
#[derive(Debug, Default)]
pub(crate) struct Notes(Vec<(SqsTimelineKind, String)>);

impl Notes {
    pub(crate) fn push(&mut self, kind: SqsTimelineKind, text: String) {
        self.0.push((kind, text));
    }

    pub(crate) fn take(&mut self) -> Vec<(SqsTimelineKind, String)> {
        std::mem::take(&mut self.0)
    }
}

/// The append-only timeline.
#[derive(Debug)]
pub(crate) struct Timeline {
    started: Instant,
    entries: Mutex<Vec<SqsTimelineEntry>>,
}

impl Timeline {
    pub(crate) fn new(started: Instant) -> Self {
        Timeline {
            started,
            entries: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn push(&self, kind: SqsTimelineKind, text: String) {
        tracing::debug!(target: "chatops_sandbox::aws", "{text}");
        let instant = Instant::now();
        let mut entries = lock(&self.entries);
        if entries.len() < MAX_RECORDS {
            entries.push(SqsTimelineEntry {
                at: instant.saturating_duration_since(self.started),
                instant,
                kind,
                text,
            });
        }
    }

    pub(crate) fn since(&self, from: usize) -> Vec<SqsTimelineEntry> {
        let entries = lock(&self.entries);
        entries.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }
}

/// Locks a std mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_print_like_the_slack_timeline() {
        let timeline = Timeline::new(Instant::now());
        timeline.push(SqsTimelineKind::Receive, "alerts -> 1 message".into());
        let entries = timeline.since(0);
        assert_eq!(entries.len(), 1);
        let line = entries[0].to_string();
        assert!(
            line.starts_with('[') && line.contains("s] sqs-recv  alerts -> 1 message"),
            "{line}"
        );
        assert!(timeline.since(2).is_empty());
    }
}

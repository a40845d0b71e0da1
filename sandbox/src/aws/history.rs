//! Per-message history for latency measurements: when each message became visible and when it
//! was received, deleted or dead-lettered.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// How many message histories are kept; the oldest are forgotten first.
const MAX_HISTORIES: usize = 200_000;

/// Everything that happened to one message, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHistory {
    /// The SQS message id (unchanged by redrive).
    pub message_id: String,
    /// The queue it is in now (the DLQ after a redrive).
    pub queue: String,
    /// When it was sent.
    pub sent_at: Instant,
    /// Each moment it became receivable: sent (after any delay), visibility timeout expired,
    /// visibility changed to 0, or arrived in a dead-letter queue.
    pub visible_at: Vec<Instant>,
    /// Each receive, in order.
    pub receives: Vec<ReceiveRecord>,
    /// When it was deleted, if it was.
    pub deleted_at: Option<Instant>,
    /// When it was moved to a dead-letter queue, if it was.
    pub dead_lettered_at: Option<Instant>,
}

/// One delivery of a message to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveRecord {
    /// The queue it was received from.
    pub queue: String,
    /// When it had become visible before this receive.
    pub visible_at: Instant,
    /// When the ReceiveMessage call handed it out.
    pub received_at: Instant,
    /// `ApproximateReceiveCount` after this receive.
    pub receive_count: u32,
}

/// "Visible → received" for one delivery, the number the benchmark starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveLatency {
    /// The SQS message id.
    pub message_id: String,
    /// The queue it was received from.
    pub queue: String,
    /// When it had become visible.
    pub visible_at: Instant,
    /// When it was received.
    pub received_at: Instant,
    /// `ApproximateReceiveCount` after this receive.
    pub receive_count: u32,
}

impl ReceiveLatency {
    /// Time from becoming visible to being received.
    pub fn wait(&self) -> Duration {
        self.received_at.saturating_duration_since(self.visible_at)
    }
}

/// Histories by message id, bounded.
#[derive(Debug, Default)]
pub(crate) struct HistoryLog {
    by_id: HashMap<String, MessageHistory>,
    order: VecDeque<String>,
}

impl HistoryLog {
    pub(crate) fn sent(&mut self, message_id: &str, queue: &str, at: Instant, visible: Instant) {
        if self.order.len() >= MAX_HISTORIES {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
        self.order.push_back(message_id.to_string());
        self.by_id.insert(
            message_id.to_string(),
            MessageHistory {
                message_id: message_id.to_string(),
                queue: queue.to_string(),
                sent_at: at,
                visible_at: vec![visible],
                receives: Vec::new(),
                deleted_at: None,
                dead_lettered_at: None,
            },
        );
    }

    pub(crate) fn became_visible(&mut self, message_id: &str, at: Instant) {
        if let Some(history) = self.by_id.get_mut(message_id) {
            history.visible_at.push(at);
        }
    }

    pub(crate) fn received(&mut self, message_id: &str, record: ReceiveRecord) {
        if let Some(history) = self.by_id.get_mut(message_id) {
            history.receives.push(record);
        }
    }

    pub(crate) fn deleted(&mut self, message_id: &str, at: Instant) {
        if let Some(history) = self.by_id.get_mut(message_id) {
            history.deleted_at.get_or_insert(at);
        }
    }

    pub(crate) fn dead_lettered(&mut self, message_id: &str, dlq: &str, at: Instant) {
        if let Some(history) = self.by_id.get_mut(message_id) {
            history.dead_lettered_at = Some(at);
            history.queue = dlq.to_string();
            history.visible_at.push(at);
        }
    }

    pub(crate) fn get(&self, message_id: &str) -> Option<MessageHistory> {
        self.by_id.get(message_id).cloned()
    }

    /// Every receive of every remembered message, ordered by receive time.
    pub(crate) fn latencies(&self) -> Vec<ReceiveLatency> {
        let mut all: Vec<ReceiveLatency> = self
            .order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .flat_map(|history| {
                history.receives.iter().map(|receive| ReceiveLatency {
                    message_id: history.message_id.clone(),
                    queue: receive.queue.clone(),
                    visible_at: receive.visible_at,
                    received_at: receive.received_at,
                    receive_count: receive.receive_count,
                })
            })
            .collect();
        all.sort_by_key(|latency| latency.received_at);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_measure_from_the_visibility_that_preceded_each_receive() {
        let start = Instant::now();
        let mut log = HistoryLog::default();
        log.sent("m1", "alerts", start, start);
        let first = ReceiveRecord {
            queue: "alerts".into(),
            visible_at: start,
            received_at: start + Duration::from_millis(5),
            receive_count: 1,
        };
        log.received("m1", first);
        log.became_visible("m1", start + Duration::from_secs(30));
        log.received(
            "m1",
            ReceiveRecord {
                queue: "alerts".into(),
                visible_at: start + Duration::from_secs(30),
                received_at: start + Duration::from_millis(30_020),
                receive_count: 2,
            },
        );
        let latencies = log.latencies();
        assert_eq!(latencies.len(), 2);
        assert_eq!(latencies[0].wait(), Duration::from_millis(5));
        assert_eq!(latencies[1].wait(), Duration::from_millis(20));
        assert_eq!(latencies[1].receive_count, 2);
        let history = log.get("m1").expect("m1 was recorded");
        assert_eq!(history.visible_at.len(), 2);
        assert!(log.get("m2").is_none());
    }
}

//! One queue's messages and the SQS rules for them: delays, visibility timeouts, receive counts
//! and receipt handles (only the latest handle of a message is valid).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::aws::error::SqsError;
use crate::aws::history::{HistoryLog, ReceiveRecord};
use crate::aws::ids;
use crate::aws::record::{Notes, SqsTimelineKind as Kind};

/// Deleted message ids and spent receipt handles remembered per queue.
const MAX_REMEMBERED: usize = 100_000;

/// A message attribute: `DataType` plus a string or binary value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttributeValue {
    pub(crate) data_type: String,
    pub(crate) string: Option<String>,
    pub(crate) binary: Option<Vec<u8>>,
}

impl AttributeValue {
    pub(crate) fn string(value: &str) -> Self {
        AttributeValue {
            data_type: "String".into(),
            string: Some(value.to_string()),
            binary: None,
        }
    }
}

/// `RedrivePolicy`: where messages go after `max_receive_count` receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedrivePolicy {
    pub(crate) dead_letter_target_arn: String,
    pub(crate) max_receive_count: u32,
}

impl RedrivePolicy {
    /// The dead-letter queue's name: the last `:`-separated part of its ARN.
    pub(crate) fn dlq_name(&self) -> &str {
        self.dead_letter_target_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
    }
}

/// A queue's settings (the attributes CreateQueue and GetQueueAttributes speak about).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueConfig {
    pub(crate) visibility_timeout: Duration,
    pub(crate) delay: Duration,
    pub(crate) receive_wait: Duration,
    pub(crate) retention: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) redrive: Option<RedrivePolicy>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            visibility_timeout: Duration::from_secs(30),
            delay: Duration::ZERO,
            receive_wait: Duration::ZERO,
            retention: Duration::from_secs(345_600),
            max_message_size: 262_144,
            redrive: None,
        }
    }
}

/// Whether a message can be received now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hidden {
    Visible,
    Delayed(Instant),
    InFlight(Instant),
}

/// A message as the queue holds it.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub(crate) id: String,
    pub(crate) body: String,
    pub(crate) attributes: BTreeMap<String, AttributeValue>,
    pub(crate) trace_header: Option<String>,
    pub(crate) sent_epoch_ms: u64,
    pub(crate) first_receive_epoch_ms: Option<u64>,
    pub(crate) receive_count: u32,
    pub(crate) receipt: Option<String>,
    hidden: Hidden,
    visible_since: Instant,
}

impl StoredMessage {
    pub(crate) fn new(
        id: String,
        body: String,
        attributes: BTreeMap<String, AttributeValue>,
        sent_epoch_ms: u64,
        now: Instant,
    ) -> Self {
        StoredMessage {
            id,
            body,
            attributes,
            trace_header: None,
            sent_epoch_ms,
            first_receive_epoch_ms: None,
            receive_count: 0,
            receipt: None,
            hidden: Hidden::Visible,
            visible_since: now,
        }
    }
}

/// Message counts by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) visible: usize,
    pub(crate) in_flight: usize,
    pub(crate) delayed: usize,
}

/// One standard queue.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) arn: String,
    pub(crate) config: QueueConfig,
    pub(crate) created_epoch_s: u64,
    messages: BTreeMap<u64, StoredMessage>,
    receipts: HashMap<String, u64>,
    spent_receipts: HashSet<String>,
    deleted: Vec<String>,
}

impl Queue {
    pub(crate) fn new(
        name: String,
        url: String,
        arn: String,
        config: QueueConfig,
        created: u64,
    ) -> Self {
        Queue {
            name,
            url,
            arn,
            config,
            created_epoch_s: created,
            messages: BTreeMap::new(),
            receipts: HashMap::new(),
            spent_receipts: HashSet::new(),
            deleted: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    /// Makes messages whose delay or visibility timeout has run out visible, as of the moment it
    /// ran out.
    pub(crate) fn settle(&mut self, now: Instant, history: &mut HistoryLog, notes: &mut Notes) {
        for message in self.messages.values_mut() {
            match message.hidden {
                Hidden::Delayed(until) if until <= now => {
                    message.hidden = Hidden::Visible;
                    message.visible_since = until;
                }
                Hidden::InFlight(until) if until <= now => {
                    message.hidden = Hidden::Visible;
                    message.visible_since = until;
                    history.became_visible(&message.id, until);
                    notes.push(
                        Kind::Visibility,
                        format!(
                            "{} {} visible again (visibility timeout ran out {:.3}s ago)",
                            self.name,
                            message.id,
                            now.saturating_duration_since(until).as_secs_f64()
                        ),
                    );
                }
                _ => {}
            }
        }
    }

    /// Adds a message (its delay, if any, starts now); returns when it becomes visible.
    pub(crate) fn enqueue(
        &mut self,
        seq: u64,
        mut message: StoredMessage,
        delay: Duration,
        now: Instant,
    ) -> Instant {
        let visible = now + delay;
        message.hidden = if delay.is_zero() {
            Hidden::Visible
        } else {
            Hidden::Delayed(visible)
        };
        message.visible_since = visible;
        self.messages.insert(seq, message);
        visible
    }

    pub(crate) fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for message in self.messages.values() {
            match message.hidden {
                Hidden::Visible => counts.visible += 1,
                Hidden::InFlight(_) => counts.in_flight += 1,
                Hidden::Delayed(_) => counts.delayed += 1,
            }
        }
        counts
    }

    /// Up to `max` visible messages, oldest first (call `settle` first).
    pub(crate) fn visible_seqs(&self, max: usize) -> Vec<u64> {
        self.messages
            .iter()
            .filter(|(_, m)| m.hidden == Hidden::Visible)
            .map(|(seq, _)| *seq)
            .take(max)
            .collect()
    }

    pub(crate) fn receive_count(&self, seq: u64) -> Option<u32> {
        self.messages.get(&seq).map(|m| m.receive_count)
    }

    /// Hands a visible message out: new receipt handle, receive count + 1, hidden for `timeout`.
    pub(crate) fn deliver(
        &mut self,
        seq: u64,
        timeout: Duration,
        now: Instant,
        now_epoch_ms: u64,
        history: &mut HistoryLog,
    ) -> Option<StoredMessage> {
        let message = self.messages.get_mut(&seq)?;
        if let Some(old) = message.receipt.take() {
            self.receipts.remove(&old);
        }
        message.receive_count += 1;
        message.first_receive_epoch_ms.get_or_insert(now_epoch_ms);
        let receipt = ids::receipt_handle(&self.name, &message.id, message.receive_count);
        self.receipts.insert(receipt.clone(), seq);
        message.receipt = Some(receipt);
        history.received(
            &message.id,
            ReceiveRecord {
                queue: self.name.clone(),
                visible_at: message.visible_since,
                received_at: now,
                receive_count: message.receive_count,
            },
        );
        if timeout.is_zero() {
            message.visible_since = now;
            history.became_visible(&message.id, now);
        } else {
            message.hidden = Hidden::InFlight(now + timeout);
        }
        Some(message.clone())
    }

    /// Takes a message out for moving to another queue; its receipt handle stops being valid.
    pub(crate) fn take(&mut self, seq: u64) -> Option<StoredMessage> {
        let mut message = self.messages.remove(&seq)?;
        if let Some(receipt) = message.receipt.take() {
            self.receipts.remove(&receipt);
        }
        Some(message)
    }

    /// Deletes by receipt handle: `Ok(Some(id))` when deleted now, `Ok(None)` when that handle
    /// already deleted it, `ReceiptHandleIsInvalid` for unknown or superseded handles.
    pub(crate) fn delete(
        &mut self,
        handle: &str,
        now: Instant,
        history: &mut HistoryLog,
    ) -> Result<Option<String>, SqsError> {
        let Some(seq) = self.receipts.remove(handle) else {
            if self.spent_receipts.contains(handle) {
                return Ok(None);
            }
            return Err(SqsError::receipt_handle_is_invalid(handle));
        };
        let Some(message) = self.messages.remove(&seq) else {
            return Err(SqsError::receipt_handle_is_invalid(handle));
        };
        if self.spent_receipts.len() >= MAX_REMEMBERED {
            self.spent_receipts.clear();
        }
        self.spent_receipts.insert(handle.to_string());
        if self.deleted.len() < MAX_REMEMBERED {
            self.deleted.push(message.id.clone());
        }
        history.deleted(&message.id, now);
        Ok(Some(message.id))
    }

    /// ChangeMessageVisibility: the new timeout counts from now; 0 makes the message visible.
    pub(crate) fn change_visibility(
        &mut self,
        handle: &str,
        timeout: Duration,
        now: Instant,
        history: &mut HistoryLog,
    ) -> Result<String, SqsError> {
        let seq = *self
            .receipts
            .get(handle)
            .ok_or_else(|| SqsError::receipt_handle_is_invalid(handle))?;
        let message = self
            .messages
            .get_mut(&seq)
            .ok_or_else(|| SqsError::receipt_handle_is_invalid(handle))?;
        match message.hidden {
            Hidden::InFlight(until) if until > now => {}
            _ => return Err(SqsError::message_not_inflight()),
        }
        if timeout.is_zero() {
            message.hidden = Hidden::Visible;
            message.visible_since = now;
            history.became_visible(&message.id, now);
        } else {
            message.hidden = Hidden::InFlight(now + timeout);
        }
        Ok(message.id.clone())
    }

    /// Drops every message; returns how many there were.
    pub(crate) fn purge(&mut self) -> usize {
        let count = self.messages.len();
        self.messages.clear();
        self.receipts.clear();
        count
    }

    /// The earliest moment a hidden message becomes visible.
    pub(crate) fn next_visible_at(&self) -> Option<Instant> {
        self.messages
            .values()
            .filter_map(|m| match m.hidden {
                Hidden::Delayed(until) | Hidden::InFlight(until) => Some(until),
                Hidden::Visible => None,
            })
            .min()
    }

    /// Bodies of the messages still in the queue, oldest first.
    pub(crate) fn bodies(&self) -> Vec<String> {
        self.messages.values().map(|m| m.body.clone()).collect()
    }

    /// Ids of deleted messages, in deletion order.
    pub(crate) fn deleted_ids(&self) -> Vec<String> {
        self.deleted.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> Queue {
        Queue::new(
            "alerts".into(),
            "http://127.0.0.1:1/123456789012/alerts".into(),
            "arn:aws:sqs:eu-west-1:123456789012:alerts".into(),
            QueueConfig::default(),
            0,
        )
    }

    fn message(id: &str, now: Instant) -> StoredMessage {
        StoredMessage::new(id.into(), "body".into(), BTreeMap::new(), 0, now)
    }

    #[test]
    fn a_received_message_reappears_after_its_timeout_and_old_handles_die() {
        let start = Instant::now();
        let (mut history, mut notes) = (HistoryLog::default(), Notes::default());
        let mut q = queue();
        q.enqueue(1, message("m1", start), Duration::ZERO, start);
        history.sent("m1", "alerts", start, start);
        let timeout = Duration::from_secs(30);
        let first = q
            .deliver(1, timeout, start, 0, &mut history)
            .and_then(|m| m.receipt)
            .expect("delivered");
        assert_eq!(q.counts().in_flight, 1);
        q.settle(start + Duration::from_secs(29), &mut history, &mut notes);
        assert!(q.visible_seqs(10).is_empty());
        q.settle(start + Duration::from_secs(31), &mut history, &mut notes);
        assert_eq!(q.visible_seqs(10), vec![1]);
        let later = start + Duration::from_secs(31);
        let second = q
            .deliver(1, timeout, later, 0, &mut history)
            .expect("again");
        assert_eq!(second.receive_count, 2);
        let stale = q.delete(&first, later, &mut history);
        assert_eq!(
            stale.map_err(|e| e.short_type().to_string()),
            Err("ReceiptHandleIsInvalid".into())
        );
        let handle = second.receipt.unwrap_or_default();
        assert_eq!(
            q.delete(&handle, later, &mut history),
            Ok(Some("m1".into()))
        );
        assert_eq!(q.delete(&handle, later, &mut history), Ok(None));
        assert_eq!(q.deleted_ids(), vec!["m1".to_string()]);
        let recorded = history.get("m1").expect("history");
        assert_eq!(recorded.visible_at, vec![start, start + timeout]);
    }

    #[test]
    fn visibility_can_only_change_while_in_flight() {
        let start = Instant::now();
        let mut history = HistoryLog::default();
        let mut q = queue();
        q.enqueue(1, message("m1", start), Duration::ZERO, start);
        let handle = q
            .deliver(1, Duration::from_secs(5), start, 0, &mut history)
            .and_then(|m| m.receipt)
            .expect("delivered");
        let extended = q.change_visibility(&handle, Duration::from_secs(60), start, &mut history);
        assert_eq!(extended, Ok("m1".into()));
        assert_eq!(q.next_visible_at(), Some(start + Duration::from_secs(60)));
        let too_late = start + Duration::from_secs(61);
        let error = q.change_visibility(&handle, Duration::from_secs(5), too_late, &mut history);
        assert_eq!(error, Err(SqsError::message_not_inflight()));
        let unknown = q.change_visibility("AQEBnope", Duration::ZERO, start, &mut history);
        assert!(unknown.is_err());
    }

    #[test]
    fn delayed_messages_wait_their_delay() {
        let start = Instant::now();
        let (mut history, mut notes) = (HistoryLog::default(), Notes::default());
        let mut q = queue();
        let visible = q.enqueue(1, message("m1", start), Duration::from_secs(2), start);
        assert_eq!(visible, start + Duration::from_secs(2));
        assert_eq!(q.counts().delayed, 1);
        q.settle(start + Duration::from_secs(2), &mut history, &mut notes);
        assert_eq!(q.counts().visible, 1);
        assert_eq!(q.purge(), 1);
        assert_eq!(q.len(), 0);
    }
}

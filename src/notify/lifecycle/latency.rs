//! The delivery latencies of a notification shown in a channel: from its alarm's
//! `StateChangeTime`, and from SQS taking it (`SentTimestamp`), to now. A few atomics or a
//! short lock per sink; nothing is allocated.

use std::time::SystemTime;

use super::CardKeeper;
use crate::alarms::{Event, Notification};
use crate::notify::queue::QueueMessage;
use crate::telemetry::latency::LatencyKind;

impl CardKeeper {
    /// `n` (from `message`) is in Slack in one more channel: posted, updated, noted in its
    /// thread or shown on a storm digest. Not called for a redelivery already delivered, nor
    /// for a notification older than its card's state (nothing is shown).
    pub(super) fn shown(&self, n: &Notification, message: &QueueMessage) {
        let now = SystemTime::now();
        let since = |start: SystemTime| now.duration_since(start).unwrap_or_default();
        if let Some(sent) = message.sent_at {
            self.latencies
                .record(LatencyKind::AlarmVisibleToPost, since(sent));
        }
        if let Event::Alarm(alarm) = &n.event {
            if let Some(changed) = alarm.changed_at {
                self.latencies
                    .record(LatencyKind::AlarmStateChangeToPost, since(changed.into()));
            }
        }
    }
}

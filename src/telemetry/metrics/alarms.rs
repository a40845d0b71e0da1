//! Alarm pipeline metrics: what happened to each notification, the queues' depths, and the two delivery latencies.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::{counter, gauge, histogram};

/// Counters move once per notification per channel; the gauges are set by a periodic
/// GetQueueAttributes (`notify::queue_depth`).
#[derive(Clone, Debug)]
pub struct AlarmMetrics {
    /// SQS messages received.
    pub received: Counter,
    /// New cards posted to a channel.
    pub posted: Counter,
    /// Cards updated in place (a transition, or the same state again).
    pub updated: Counter,
    /// Notifications folded into a storm digest (a line added or changed).
    pub folded: Counter,
    /// Redeliveries of a notification a channel already has, skipped.
    pub deduplicated: Counter,
    /// Messages not delivered: left in the queue to come back (and reach the DLQ).
    pub failed: Counter,
    /// Messages waiting in the alarm queue.
    pub queue_messages: Gauge,
    /// Messages in the dead-letter queue: alarms that failed `maxReceiveCount` times.
    pub dead_letter_messages: Gauge,
    /// An alarm's `StateChangeTime` to its card posted or updated.
    pub state_change_to_post_seconds: Histogram,
    /// The SQS message's `SentTimestamp` to its card posted or updated.
    pub visible_to_post_seconds: Histogram,
}

impl AlarmMetrics {
    pub(super) fn register(r: &mut Registry) -> Self {
        // 50 ms to about 14 minutes.
        let delivery = || exponential_buckets(0.05, 2.0, 15);
        Self {
            received: counter(r, "chatops_alarms_received", "SQS messages received."),
            posted: counter(r, "chatops_alarms_posted", "New alarm cards posted."),
            updated: counter(r, "chatops_alarms_updated", "Alarm cards updated in place."),
            folded: counter(
                r,
                "chatops_alarms_folded",
                "Notifications folded into a storm digest.",
            ),
            deduplicated: counter(
                r,
                "chatops_alarms_deduplicated",
                "Redelivered notifications a channel already had, skipped.",
            ),
            failed: counter(
                r,
                "chatops_alarms_failed",
                "Messages not delivered, left in the queue to come back.",
            ),
            queue_messages: gauge(
                r,
                "chatops_alarms_queue_messages",
                "Messages waiting in the alarm queue (ApproximateNumberOfMessages, read periodically).",
            ),
            dead_letter_messages: gauge(
                r,
                "chatops_alarms_dead_lettered_messages",
                "Messages in the dead-letter queue (its depth, read periodically; -1 until read or when it cannot be).",
            ),
            state_change_to_post_seconds: histogram(
                r,
                "chatops_alarm_state_change_to_post",
                "An alarm's StateChangeTime to its card posted or updated in Slack.",
                delivery(),
            ),
            visible_to_post_seconds: histogram(
                r,
                "chatops_alarm_visible_to_post",
                "The SQS message becoming visible (SentTimestamp) to its card posted or updated in Slack.",
                delivery(),
            ),
        }
    }

    /// Standalone counters on no registry (a keeper or consumer built without metrics).
    pub fn unregistered() -> Self {
        Self::register(&mut Registry::default())
    }
}

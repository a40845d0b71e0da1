//! With `[metrics]` on: the alarm queue's and its dead-letter queue's depths, read with GetQueueAttributes once a minute into `AlarmMetrics`' gauges.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::queue_health::{self, DeadLetter, QueueHealth};
use crate::telemetry::metrics::AlarmMetrics;

/// How often the depths are read: a DLQ alarm in CloudWatch works on minutes too, and each
/// read costs two or three SQS requests.
pub const DEPTH_INTERVAL: Duration = Duration::from_secs(60);
/// A read that takes longer than this is given up until the next one.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// The periodic reader.
pub struct QueueDepths {
    sdk: aws_config::SdkConfig,
    queue_url: String,
    metrics: AlarmMetrics,
}

impl QueueDepths {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: &str, metrics: AlarmMetrics) -> Self {
        // Unknown until read: a depth of 0 would claim a fact not yet known.
        metrics.queue_messages.set(-1);
        metrics.dead_letter_messages.set(-1);
        Self {
            sdk: sdk.clone(),
            queue_url: queue_url.to_owned(),
            metrics,
        }
    }

    /// Read now, then every `DEPTH_INTERVAL`, until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(DEPTH_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warned = false;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let read = tokio::time::timeout(
                READ_TIMEOUT,
                queue_health::inspect(&self.sdk, &self.queue_url),
            );
            let read = tokio::select! {
                _ = stop.cancelled() => return,
                read = read => read,
            };
            match read {
                Ok(Ok(health)) => {
                    warned = false;
                    self.show(&health);
                }
                Ok(Err(e)) if !warned => {
                    warned = true;
                    warn!(error = %e, "Could not read the alarm queue's depth for the metrics; trying again every minute.");
                }
                Ok(Err(e)) => debug!(error = %e, "Could not read the alarm queue's depth."),
                Err(_) => {
                    debug!(timeout = ?READ_TIMEOUT, "Reading the alarm queue's depth timed out.")
                }
            }
        }
    }

    /// Set the gauges from one read.
    fn show(&self, health: &QueueHealth) {
        self.metrics.queue_messages.set(gauge(health.depth.waiting));
        let dead = match &health.dead_letter {
            DeadLetter::Found { depth, .. } => gauge(depth.waiting + depth.in_flight),
            DeadLetter::NotSet | DeadLetter::Unreadable { .. } => -1,
        };
        self.metrics.dead_letter_messages.set(dead);
    }
}

fn gauge(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

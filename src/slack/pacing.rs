//! Per-channel pacing of messages: Slack allows about one per second per channel, with short bursts.
//!
//! `SlackMessenger` asks its `ChannelPacer` for a turn before every attempt of `chat.postMessage`,
//! `chat.update`, `chat.startStream` and `chat.stopStream` that can reach Slack, retries included;
//! other methods (`chat.appendStream` among them) are not paced.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use super::interaction::ChannelId;

/// Above this many tracked channels, channels that have their whole burst back are forgotten.
const PRUNE_ABOVE: usize = 1000;
/// Calls that waited at least this long for their channel's slot are logged.
const NOTICEABLE_WAIT: Duration = Duration::from_millis(100);

/// GCRA (virtual scheduling) per channel: every channel has a theoretical arrival time (TAT);
/// a call goes out at `max(now, TAT - (burst - 1) × interval)` and pushes the TAT one interval on.
/// After an idle period `burst` calls go out back to back, then one per `interval`.
pub struct ChannelPacer {
    interval: Duration,
    /// How far a channel's TAT may run ahead of now before calls wait: `(burst - 1) × interval`.
    burst_tolerance: Duration,
    state: Mutex<PacerState>,
}

struct PacerState {
    /// Only channels whose TAT may still be in the future; a past TAT behaves like no entry.
    theoretical_arrival: HashMap<ChannelId, Instant>,
    /// Size that triggers the next prune; grows while most tracked channels are busy.
    prune_above: usize,
}

impl PacerState {
    /// Drops channels whose TAT has passed. Exact: such a channel paces as if never seen.
    fn prune_if_large(&mut self, now: Instant) {
        if self.theoretical_arrival.len() <= self.prune_above {
            return;
        }
        self.theoretical_arrival.retain(|_, tat| *tat > now);
        self.prune_above = PRUNE_ABOVE.max(2 * self.theoretical_arrival.len());
    }
}

impl ChannelPacer {
    /// `burst` below 1 counts as 1.
    pub fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst_tolerance: interval.saturating_mul(burst.max(1) - 1),
            state: Mutex::new(PacerState {
                theoretical_arrival: HashMap::new(),
                prune_above: PRUNE_ABOVE,
            }),
        }
    }

    /// Reserves `channel`'s next slot and returns when it starts. Slots in one channel are handed
    /// out in call order and never go backwards, so calls leave in the order they reserved.
    pub fn reserve(&self, channel: &ChannelId) -> Instant {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.prune_if_large(now);
        let tat = match state.theoretical_arrival.get(channel) {
            Some(tat) if *tat > now => *tat,
            _ => now,
        };
        let slot = tat
            .checked_sub(self.burst_tolerance)
            .map_or(now, |earliest| earliest.max(now));
        state
            .theoretical_arrival
            .insert(channel.clone(), tat + self.interval);
        slot
    }

    /// Reserves `channel`'s next slot and sleeps until it; returns how long that took.
    pub async fn wait_turn(&self, channel: &ChannelId) -> Duration {
        let asked_at = Instant::now();
        let slot = self.reserve(channel);
        if slot > asked_at {
            tokio::time::sleep_until(slot).await;
        }
        asked_at.elapsed()
    }

    /// `wait_turn` for one attempt of `method`, logging a noticeable wait.
    pub async fn take_turn(&self, method: &'static str, channel: &ChannelId) {
        let waited = self.wait_turn(channel).await;
        if waited >= NOTICEABLE_WAIT {
            debug!(
                method,
                channel = channel.0.as_str(),
                ?waited,
                "Paced a call to stay within Slack's rate limit (per channel, or the method's tier)."
            );
        }
    }
}

#[cfg(test)]
mod tests;

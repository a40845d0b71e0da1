//! When buffered answer text goes out: the pure decision behind the writer's appends and updates.

use std::time::Duration;

use tokio::time::Instant;

/// How often text goes out. Streaming: about once a second per stream, sooner when a big piece
/// has piled up (never closer than `min_gap`), so `chat.appendStream` (Tier 4, 100+/min per
/// workspace) sees at most a few calls a second even with several answers at once. Updates:
/// at most about once a second per answer, as `chat.update` also takes its channel's pace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Pending text goes out once this long has passed since the last flush.
    pub interval: Duration,
    /// This many pending characters go out after only `min_gap`.
    pub size: usize,
    pub min_gap: Duration,
}

impl FlushPolicy {
    pub const STREAM: Self = Self {
        interval: Duration::from_secs(1),
        size: 2_000,
        min_gap: Duration::from_millis(400),
    };
    pub const UPDATE: Self = Self {
        interval: Duration::from_secs(1),
        size: usize::MAX,
        min_gap: Duration::from_secs(1),
    };

    /// Whether `pending_chars` waiting since a flush `since_last` ago should go out now.
    pub fn due(&self, pending_chars: usize, since_last: Duration) -> bool {
        pending_chars > 0
            && (since_last >= self.interval
                || (pending_chars >= self.size && since_last >= self.min_gap))
    }

    /// When pending text becomes due by time alone; `None` when nothing is pending.
    pub fn next_at(&self, pending_chars: usize, last_flush: Instant) -> Option<Instant> {
        (pending_chars > 0).then(|| {
            if pending_chars >= self.size {
                last_flush + self.min_gap
            } else {
                last_flush + self.interval
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn nothing_pending_is_never_due() {
        assert!(!FlushPolicy::STREAM.due(0, Duration::from_secs(60)));
        assert_eq!(FlushPolicy::STREAM.next_at(0, Instant::now()), None);
    }

    #[test]
    fn small_pieces_wait_for_the_interval() {
        let policy = FlushPolicy::STREAM;
        assert!(!policy.due(10, MS(999)));
        assert!(policy.due(10, MS(1000)));
        let last = Instant::now();
        assert_eq!(policy.next_at(10, last), Some(last + MS(1000)));
    }

    #[test]
    fn a_big_pile_goes_early_but_not_back_to_back() {
        let policy = FlushPolicy::STREAM;
        assert!(!policy.due(5_000, MS(100)));
        assert!(policy.due(5_000, MS(400)));
        assert!(
            !FlushPolicy::UPDATE.due(50_000, MS(500)),
            "updates stay ≤ 1/s"
        );
    }

    #[test]
    fn a_token_a_millisecond_for_ten_seconds_flushes_about_ten_times() {
        let policy = FlushPolicy::STREAM;
        let (mut flushes, mut pending, mut last) = (0, 0, 0u64);
        for now in 0..10_000u64 {
            pending += 1;
            if policy.due(pending, MS(now - last)) {
                flushes += 1;
                pending = 0;
                last = now;
            }
        }
        assert!(
            (9..=11).contains(&flushes),
            "{flushes} flushes for 10,000 pieces"
        );
    }
}

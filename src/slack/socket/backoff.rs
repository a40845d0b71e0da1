//! Capped exponential backoff with full jitter, for reconnects.

use std::time::Duration;

use rand::Rng;

/// Doubles the ceiling each failure up to `max`; each delay is drawn uniformly in `[ceiling/2, ceiling]`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    /// The delay before the next attempt, and count one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.failures.min(20);
        self.failures = self.failures.saturating_add(1);
        let ceiling = self.base.saturating_mul(1 << exp).min(self.max);
        let half = ceiling / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps_and_stays_within_jitter_bounds() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let mut ceilings = vec![];
        for _ in 0..10 {
            let d = b.next_delay();
            ceilings.push(d);
            assert!(d <= Duration::from_secs(2), "{d:?} over the cap");
        }
        assert!(
            ceilings[0] >= Duration::from_millis(50) && ceilings[0] <= Duration::from_millis(100)
        );
        assert!(
            ceilings[9] >= Duration::from_secs(1),
            "capped delays stay in [max/2, max]"
        );
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}

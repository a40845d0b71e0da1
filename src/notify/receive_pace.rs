//! How long a receive loop pauses before its next receive: long enough that a steady trickle
//! fills its batches, never so long that a backlog waits behind a pause.

use std::time::{Duration, Instant};

/// A pause shorter than this is not taken (Tokio's timers tick in milliseconds).
const SHORTEST_PAUSE: Duration = Duration::from_millis(1);

/// The share of a batch a paced receive aims for. Aiming just under full keeps a steady rate's
/// receives partial, so they are not mistaken for a backlog.
const AIM: f64 = 0.9;

/// One loop's pacing. At a steady rate `r` and receive round trip `t`, the pause settles where
/// `r × (pause + t)` is 90 % of a batch, within `0..=longest`.
#[derive(Debug)]
pub struct ReceivePace {
    longest: Duration,
    /// The pause taken before the receive in progress.
    paused: Duration,
    /// When the previous receive returned.
    last_return: Option<Instant>,
    /// Whether the previous receive came back full.
    was_full: bool,
}

/// What to do after a receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextReceive {
    /// Pause this long first.
    pub pause: Duration,
    /// The receive came back full without a pause before it: messages are waiting, the standby
    /// loops should poll too.
    pub backlog: bool,
}

impl ReceivePace {
    /// `longest`: `alarms.receive_linger`. Zero never pauses.
    pub fn new(longest: Duration) -> Self {
        Self {
            longest,
            paused: Duration::ZERO,
            last_return: None,
            was_full: false,
        }
    }

    /// A receive returned `received` messages of at most `batch`, at `now`.
    pub fn after_receive(&mut self, received: usize, batch: usize, now: Instant) -> NextReceive {
        let elapsed = self
            .last_return
            .map(|last| now.saturating_duration_since(last));
        self.last_return = Some(now);
        let full = received >= batch.max(1);
        let was_full = std::mem::replace(&mut self.was_full, full);
        let (pause, backlog) = if received == 0 {
            // A long poll that ended empty: the queue is quiet, poll again at once.
            (Duration::ZERO, false)
        } else if full && self.paused.is_zero() {
            // Full without a pause before it: a backlog.
            (Duration::ZERO, true)
        } else if full && was_full {
            // Full twice in a row after pauses: the rate is rising, halve the pause.
            (self.paused / 2, false)
        } else {
            // Partial, or full once (a steady rate's batches sometimes round up): pace to the
            // rate this receive showed.
            (self.pause_for(received, batch, elapsed), false)
        };
        let pause = if pause < SHORTEST_PAUSE {
            Duration::ZERO
        } else {
            pause.min(self.longest)
        };
        self.paused = pause;
        NextReceive { pause, backlog }
    }

    /// The pause that fills `AIM` of a batch at the rate `received` over `elapsed` showed.
    fn pause_for(&self, received: usize, batch: usize, elapsed: Option<Duration>) -> Duration {
        let Some(elapsed) = elapsed else {
            return self.longest;
        };
        // The receive's own round trip: the part of `elapsed` that was not a pause.
        let round_trip = elapsed.saturating_sub(self.paused);
        let fill = elapsed.as_secs_f64() * AIM * batch as f64 / received as f64;
        let pause = (fill - round_trip.as_secs_f64()).clamp(0.0, self.longest.as_secs_f64());
        Duration::from_secs_f64(pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BATCH: usize = 10;

    /// A loop receiving from a queue that gains one message every `gap`, with a receive round
    /// trip of `round_trip`: the batch sizes of its receives after it settled, and its pauses.
    fn settled(
        longest: Duration,
        gap: Duration,
        round_trip: Duration,
    ) -> (Vec<usize>, Vec<Duration>) {
        let mut pace = ReceivePace::new(longest);
        let start = Instant::now();
        let mut now = start;
        let mut taken = 0usize;
        let mut sizes = Vec::new();
        let mut pauses = Vec::new();
        for i in 0..60 {
            now += round_trip;
            let arrived = ((now - start).as_secs_f64() / gap.as_secs_f64()) as usize;
            let received = (arrived - taken).min(BATCH);
            taken += received;
            sizes.push(received);
            let next = pace.after_receive(received, BATCH, now);
            // Settled, a steady trickle is not a backlog (the first pauses may build one).
            assert!(i < 40 || !next.backlog, "{sizes:?}");
            pauses.push(next.pause);
            now += next.pause;
        }
        (sizes.split_off(40), pauses.split_off(40))
    }

    #[test]
    fn a_steady_trickle_settles_near_full_batches() {
        // 1,000/s with a 1 ms round trip: 8 ms pauses, 9 a receive.
        let (sizes, pauses) = settled(
            Duration::from_millis(10),
            Duration::from_millis(1),
            Duration::from_millis(1),
        );
        assert!(sizes.iter().all(|&n| (8..=10).contains(&n)), "{sizes:?}");
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        assert!(mean >= 8.5, "{sizes:?}");
        assert!(pauses.iter().all(|p| p.as_millis() >= 6), "{pauses:?}");
    }

    #[test]
    fn the_pause_never_exceeds_the_longest() {
        // 1,000/s with a 5 ms longest pause: about 6 a receive, never full.
        let (sizes, _) = settled(
            Duration::from_millis(5),
            Duration::from_millis(1),
            Duration::from_millis(1),
        );
        assert!(sizes.iter().all(|&n| (5..=7).contains(&n)), "{sizes:?}");
        let mut pace = ReceivePace::new(Duration::from_millis(5));
        let now = Instant::now();
        pace.after_receive(1, BATCH, now);
        let next = pace.after_receive(1, BATCH, now + Duration::from_secs(20));
        assert_eq!(
            next.pause,
            Duration::from_millis(5),
            "a slow trickle pauses the longest"
        );
    }

    #[test]
    fn a_slow_round_trip_needs_no_pause() {
        // 450/s with a 20 ms round trip (a far SQS endpoint): each receive brings 9 anyway.
        let (sizes, pauses) = settled(
            Duration::from_millis(10),
            Duration::from_micros(2_222),
            Duration::from_millis(20),
        );
        assert!(pauses.iter().all(Duration::is_zero), "{pauses:?}");
        assert!(sizes.iter().all(|&n| (8..=10).contains(&n)), "{sizes:?}");
    }

    #[test]
    fn full_twice_after_pauses_halves_and_full_without_one_is_a_backlog() {
        let mut pace = ReceivePace::new(Duration::from_millis(8));
        let mut now = Instant::now();
        let mut next = pace.after_receive(1, BATCH, now);
        assert_eq!(next.pause, Duration::from_millis(8));
        let mut pauses = vec![];
        loop {
            now += next.pause + Duration::from_millis(1);
            next = pace.after_receive(BATCH, BATCH, now);
            if next.backlog {
                break;
            }
            pauses.push(next.pause.as_millis());
            assert!(
                pauses.len() < 10,
                "a backlog is found within a few receives"
            );
        }
        // Paced once to the rate (90 % of 9 ms less the 1 ms round trip), then halved.
        assert_eq!(pauses, vec![7, 3, 1, 0]);
    }

    #[test]
    fn an_empty_long_poll_and_a_zero_longest_never_pause() {
        let mut pace = ReceivePace::new(Duration::from_millis(10));
        let now = Instant::now();
        let next = pace.after_receive(0, BATCH, now);
        assert_eq!(
            next,
            NextReceive {
                pause: Duration::ZERO,
                backlog: false
            }
        );
        let mut never = ReceivePace::new(Duration::ZERO);
        assert_eq!(never.after_receive(3, BATCH, now).pause, Duration::ZERO);
        assert!(never.after_receive(BATCH, BATCH, now).backlog);
    }
}

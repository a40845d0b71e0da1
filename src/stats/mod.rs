//! Latency percentiles for `@bot stats`: a sink that keeps one bounded sketch per latency kind
//! per minute (`minutes.rs`), flushes closed minutes to the store, and merges the last hour and
//! the last 24 hours on read, so a restart does not reset the day. No raw value is kept.

pub mod minutes;
pub mod sketch;
pub mod summary;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use tracing::warn;

use self::minutes::{Minute, Minutes};
use self::sketch::LatencySketch;
use self::summary::{KindSummary, Summary, Window};
use crate::store::latencies::{LatencySketches, StoredSketch};
use crate::store::Blocking;
use crate::telemetry::latency::{LatencyKind, LatencySink};

/// How often closed minutes are flushed to the store.
const FLUSH_EVERY: Duration = Duration::from_secs(10);
/// Minutes in the short and the long window (the current, partial minute included).
const HOUR: Minute = 60;
const DAY: Minute = 24 * 60;

/// The stats sink: give it to `Latencies`, run `flush_loop`, ask `summary`.
pub struct LatencyStats {
    minutes: Minutes,
    store: Blocking<dyn LatencySketches>,
    /// Held while minutes move from memory to the store, and while a read looks at both, so a
    /// read never misses a minute in transit.
    moving: tokio::sync::Mutex<()>,
}

impl LatencySink for LatencyStats {
    fn record(&self, kind: LatencyKind, value: Duration) {
        self.minutes
            .record(kind, value, minute_of(SystemTime::now()));
    }
}

impl LatencyStats {
    pub fn new(store: Blocking<dyn LatencySketches>) -> Arc<Self> {
        Arc::new(Self {
            minutes: Minutes::default(),
            store,
            moving: tokio::sync::Mutex::new(()),
        })
    }

    /// Flush closed minutes every few seconds until `stop`. The owner flushes everything
    /// (`flush(now, true)`) once the last latency is recorded, so the next process finds it.
    pub async fn flush_loop(self: Arc<Self>, stop: CancellationToken) {
        let mut every = tokio::time::interval(FLUSH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = every.tick() => {}
            }
            if let Err(e) = self.flush(SystemTime::now(), false).await {
                warn!(
                    error = format!("{e:#}"),
                    "Failed to store latency sketches; they are kept in memory for the next try."
                );
            }
        }
    }

    /// At stop, once the last latency is recorded: every minute to the store, the current
    /// one too, so the next process finds it.
    pub async fn flush_at_stop(&self) {
        if let Err(e) = self.flush(SystemTime::now(), true).await {
            warn!(
                error = format!("{e:#}"),
                "Failed to store the last latency sketches."
            );
        }
    }

    /// Move the minutes closed by `now` (with `all`, every minute) to the store. A failed
    /// write puts them back, to be tried again.
    pub async fn flush(&self, now: SystemTime, all: bool) -> anyhow::Result<usize> {
        let _moving = self.moving.lock().await;
        let closed = self.minutes.take_closed(minute_of(now), all);
        if closed.is_empty() {
            return Ok(0);
        }
        let count = closed.len();
        let closed = self
            .store
            .run(move |store| {
                let rows = closed
                    .iter()
                    .map(|c| {
                        Ok(StoredSketch {
                            kind: c.kind.name().to_owned(),
                            minute: c.minute,
                            sketch: c.sketch.encode()?,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>();
                match rows.and_then(|rows| store.save_sketches(&rows)) {
                    Ok(()) => Ok(Ok(closed)),
                    Err(e) => Ok(Err((e, closed))),
                }
            })
            .await?;
        match closed {
            Ok(stored) => {
                self.minutes.give_back(stored);
                Ok(count)
            }
            Err((e, closed)) => {
                let dropped = self.minutes.put_back(closed);
                if dropped > 0 {
                    warn!(dropped, "The store refused latency sketches for an hour; the oldest minutes are dropped.");
                }
                Err(e)
            }
        }
    }

    /// The percentiles of every kind over the last hour and the last 24 hours at `now`: the
    /// store's minutes and memory's, merged.
    pub async fn summary(&self, now: SystemTime) -> anyhow::Result<Summary> {
        let now = minute_of(now);
        let (hour_from, day_from) = (now - HOUR + 1, now - DAY + 1);
        let _moving = self.moving.lock().await;
        let stored = self
            .store
            .run(move |store| {
                let rows = store.sketches_since(day_from)?;
                let mut merged = Merged::default();
                let mut unreadable = 0;
                for row in rows {
                    let Some(kind) = kind_named(&row.kind) else {
                        continue; // a kind this version no longer measures
                    };
                    match LatencySketch::decode(&row.sketch) {
                        Ok(sketch) => merged.add(kind, row.minute, &sketch, hour_from),
                        Err(_) => unreadable += 1,
                    }
                }
                if unreadable > 0 {
                    warn!(
                        unreadable,
                        "Latency sketches in the store do not decode; left out."
                    );
                }
                Ok(merged)
            })
            .await?;
        let mut merged = stored;
        for kind in LatencyKind::ALL {
            for (minute, sketch) in self.minutes.unflushed(kind, day_from) {
                merged.add(kind, minute, &sketch, hour_from);
            }
        }
        Ok(merged.summary())
    }
}

/// Each kind's hour and day, merged.
#[derive(Default)]
struct Merged {
    kinds: Vec<(LatencyKind, LatencySketch, LatencySketch)>,
}

impl Merged {
    fn add(
        &mut self,
        kind: LatencyKind,
        minute: Minute,
        sketch: &LatencySketch,
        hour_from: Minute,
    ) {
        let index = match self.kinds.iter().position(|(k, _, _)| *k == kind) {
            Some(index) => index,
            None => {
                self.kinds
                    .push((kind, LatencySketch::new(), LatencySketch::new()));
                self.kinds.len() - 1
            }
        };
        let (_, hour, day) = &mut self.kinds[index];
        if minute >= hour_from {
            hour.merge(sketch);
        }
        day.merge(sketch);
    }

    fn summary(self) -> Summary {
        let of = |kind: LatencyKind| self.kinds.iter().find(|(k, _, _)| *k == kind);
        Summary {
            kinds: LatencyKind::ALL
                .into_iter()
                .map(|kind| KindSummary {
                    kind,
                    hour: of(kind).and_then(|(_, hour, _)| Window::of(hour)),
                    day: of(kind).and_then(|(_, _, day)| Window::of(day)),
                })
                .collect(),
        }
    }
}

fn kind_named(name: &str) -> Option<LatencyKind> {
    LatencyKind::ALL.into_iter().find(|k| k.name() == name)
}

/// The minute since the Unix epoch that `at` falls in.
pub fn minute_of(at: SystemTime) -> Minute {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 60) as Minute)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// A store that refuses writes while `refuse` is set.
    #[derive(Default)]
    struct Flaky {
        refuse: AtomicBool,
        rows: Mutex<Vec<StoredSketch>>,
    }

    impl LatencySketches for Flaky {
        fn save_sketches(&self, sketches: &[StoredSketch]) -> anyhow::Result<()> {
            anyhow::ensure!(!self.refuse.load(Ordering::SeqCst), "disk full");
            self.rows.lock().unwrap().extend_from_slice(sketches);
            Ok(())
        }
        fn sketches_since(&self, since: i64) -> anyhow::Result<Vec<StoredSketch>> {
            let rows = self.rows.lock().unwrap();
            Ok(rows.iter().filter(|r| r.minute >= since).cloned().collect())
        }
        fn forget_sketches_before(&self, _: i64, _: usize) -> anyhow::Result<usize> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn a_refused_flush_keeps_the_minutes_for_the_next_one_and_reads_still_see_them() {
        let store = Arc::new(Flaky::default());
        let stats = LatencyStats::new(Blocking::new(store.clone() as Arc<dyn LatencySketches>));
        let now = SystemTime::now();
        stats.record(LatencyKind::AgentAnswer, Duration::from_secs(3));
        let later = now + Duration::from_secs(120);
        store.refuse.store(true, Ordering::SeqCst);
        assert!(stats.flush(later, false).await.is_err());
        let seen = stats.summary(later).await.unwrap();
        let day = seen.kind(LatencyKind::AgentAnswer).unwrap().day.clone();
        assert_eq!(day.map(|d| d.count), Some(1), "still in memory");
        store.refuse.store(false, Ordering::SeqCst);
        assert_eq!(stats.flush(later, false).await.unwrap(), 1);
        assert_eq!(store.rows.lock().unwrap().len(), 1);
        assert_eq!(
            stats.summary(later).await.unwrap(),
            seen,
            "now from the store"
        );
    }
}

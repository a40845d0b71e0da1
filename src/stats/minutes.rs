//! The sketches in memory: per latency kind, the current minute's, and closed minutes waiting
//! to be flushed to the store. Recording is one short uncontended lock and a few integer
//! operations; it allocates nothing (sketches are reused once flushed).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::sketch::LatencySketch;
use crate::telemetry::latency::LatencyKind;

/// A minute since the Unix epoch.
pub type Minute = i64;

/// Reset sketches kept per kind for the next minutes (the flush hands them back).
const SPARES: usize = 1;
/// Closed minutes kept per kind while the store refuses them: an hour (about 2 MB for the
/// four kinds); older ones are dropped, so a long store outage cannot grow memory.
pub const MAX_UNFLUSHED: usize = 60;

/// One kind's minutes.
struct Slot {
    minute: Minute,
    current: LatencySketch,
    /// Closed minutes not flushed yet (normally at most one).
    closed: Vec<(Minute, LatencySketch)>,
    spares: Vec<LatencySketch>,
}

impl Slot {
    fn new() -> Self {
        Self {
            minute: Minute::MIN,
            current: LatencySketch::new(),
            closed: Vec::with_capacity(4),
            spares: (0..SPARES).map(|_| LatencySketch::new()).collect(),
        }
    }

    /// Start `minute`: the current sketch, if it holds anything, is closed.
    fn roll(&mut self, minute: Minute) {
        if !self.current.is_empty() {
            let fresh = self.spares.pop().unwrap_or_default();
            let done = std::mem::replace(&mut self.current, fresh);
            self.closed.push((self.minute, done));
        }
        self.minute = minute;
    }
}

/// Every kind's minutes.
pub struct Minutes {
    slots: [Mutex<Slot>; LatencyKind::ALL.len()],
}

impl Default for Minutes {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| Mutex::new(Slot::new())),
        }
    }
}

/// A closed minute of one kind, taken out of memory to be stored.
pub struct ClosedMinute {
    pub kind: LatencyKind,
    pub minute: Minute,
    pub sketch: LatencySketch,
}

impl Minutes {
    /// The hot path: count `value` in `kind`'s sketch of `minute`.
    pub fn record(&self, kind: LatencyKind, value: Duration, minute: Minute) {
        let mut slot = self.slot(kind);
        if slot.minute != minute {
            slot.roll(minute);
        }
        slot.current.record(value);
    }

    /// Take every minute before `now` out of memory (with `all`, the current one too: the bot
    /// is stopping), to be stored.
    pub fn take_closed(&self, now: Minute, all: bool) -> Vec<ClosedMinute> {
        let mut taken = vec![];
        for kind in LatencyKind::ALL {
            let mut slot = self.slot(kind);
            if all || slot.minute < now {
                let minute = slot.minute;
                slot.roll(minute);
            }
            taken.extend(slot.closed.drain(..).map(|(minute, sketch)| ClosedMinute {
                kind,
                minute,
                sketch,
            }));
        }
        taken
    }

    /// Sketches already stored, to be reused (reset here, off the hot path).
    pub fn give_back(&self, flushed: Vec<ClosedMinute>) {
        for mut closed in flushed {
            let mut slot = self.slot(closed.kind);
            if slot.spares.len() < SPARES {
                closed.sketch.reset();
                slot.spares.push(closed.sketch);
            }
        }
    }

    /// Minutes taken whose store write failed: kept for the next flush, at most
    /// `MAX_UNFLUSHED` per kind (the oldest go first). Returns how many were dropped.
    pub fn put_back(&self, closed: Vec<ClosedMinute>) -> usize {
        let mut dropped = 0;
        for closed in closed {
            let mut slot = self.slot(closed.kind);
            slot.closed.push((closed.minute, closed.sketch));
            slot.closed.sort_by_key(|(minute, _)| *minute);
            while slot.closed.len() > MAX_UNFLUSHED {
                slot.closed.remove(0);
                dropped += 1;
            }
        }
        dropped
    }

    /// Copies of what memory holds for `kind` from `since` on (the current minute and any not
    /// flushed yet), for a read.
    pub fn unflushed(&self, kind: LatencyKind, since: Minute) -> Vec<(Minute, LatencySketch)> {
        let slot = self.slot(kind);
        let current = (!slot.current.is_empty()).then(|| (slot.minute, slot.current.clone()));
        slot.closed
            .iter()
            .map(|(minute, sketch)| (*minute, sketch.clone()))
            .chain(current)
            .filter(|(minute, _)| *minute >= since)
            .collect()
    }

    fn slot(&self, kind: LatencyKind) -> MutexGuard<'_, Slot> {
        let index = match kind {
            LatencyKind::AlarmStateChangeToPost => 0,
            LatencyKind::AlarmVisibleToPost => 1,
            LatencyKind::SocketAck => 2,
            LatencyKind::AgentAnswer => 3,
        };
        self.slots[index].lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn minutes_close_when_the_next_begins_and_are_taken_once() {
        let minutes = Minutes::default();
        minutes.record(LatencyKind::SocketAck, MS, 100);
        minutes.record(LatencyKind::SocketAck, 2 * MS, 100);
        minutes.record(LatencyKind::SocketAck, 3 * MS, 101);
        minutes.record(LatencyKind::AgentAnswer, MS, 101);
        // At minute 101, only minute 100 is closed.
        let taken = minutes.take_closed(101, false);
        assert_eq!(taken.len(), 1);
        assert_eq!(
            (taken[0].kind, taken[0].minute, taken[0].sketch.count()),
            (LatencyKind::SocketAck, 100, 2)
        );
        minutes.give_back(taken);
        assert!(minutes.take_closed(101, false).is_empty());
        // Minute 101 is still in memory, and readable.
        let unflushed = minutes.unflushed(LatencyKind::SocketAck, 0);
        assert_eq!(unflushed.len(), 1);
        assert_eq!((unflushed[0].0, unflushed[0].1.count()), (101, 1));
        // A quiet minute 102 closes 101 without a new value; a stop takes everything.
        let taken = minutes.take_closed(102, false);
        assert_eq!(taken.len(), 2);
        minutes.record(LatencyKind::SocketAck, MS, 102);
        let taken = minutes.take_closed(102, true);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].minute, 102);
        assert!(minutes.unflushed(LatencyKind::SocketAck, 0).is_empty());
    }

    #[test]
    fn minutes_the_store_refused_are_kept_an_hour_at_most() {
        let minutes = Minutes::default();
        for minute in 0..(MAX_UNFLUSHED as Minute + 5) {
            minutes.record(LatencyKind::SocketAck, MS, minute);
            let taken = minutes.take_closed(minute + 1, false);
            let dropped = minutes.put_back(taken);
            assert_eq!(dropped, usize::from(minute >= MAX_UNFLUSHED as Minute));
        }
        let kept = minutes.unflushed(LatencyKind::SocketAck, 0);
        assert_eq!(kept.len(), MAX_UNFLUSHED);
        assert_eq!(kept[0].0, 5, "the oldest went first");
    }
}

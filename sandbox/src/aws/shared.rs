//! The state shared by the HTTP handler and the control API, and the signal long polls wait on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::aws::faults::FaultTable;
use crate::aws::record::{lock, SqsCall, SqsTimelineKind, Timeline, MAX_RECORDS};
use crate::aws::store::SqsState;

/// Everything the server task and the control API share.
pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) started: Instant,
    state: Mutex<SqsState>,
    /// Bumped whenever a message may have become receivable (long polls re-check then).
    pub(crate) arrivals: watch::Sender<u64>,
    pub(crate) faults: FaultTable,
    pub(crate) calls: Mutex<Vec<SqsCall>>,
    call_seq: AtomicU64,
    pub(crate) calls_signal: watch::Sender<u64>,
    pub(crate) timeline: Timeline,
    pub(crate) shutdown: watch::Sender<bool>,
    /// A fake Secrets Manager answering `secretsmanager.*` calls on this port too.
    pub(crate) secrets: Mutex<Option<Arc<crate::secretsmanager::Shared>>>,
}

impl Shared {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        let started = Instant::now();
        Shared {
            addr,
            started,
            state: Mutex::new(SqsState::new(format!("http://{addr}"))),
            arrivals: watch::channel(0).0,
            faults: FaultTable::default(),
            calls: Mutex::new(Vec::new()),
            call_seq: AtomicU64::new(0),
            calls_signal: watch::channel(0).0,
            timeline: Timeline::new(started),
            shutdown: watch::channel(false).0,
            secrets: Mutex::new(None),
        }
    }

    /// Runs `f` on the state under the lock, then writes its timeline notes and, if a message
    /// became receivable or a visibility deadline moved, wakes the long polls.
    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut SqsState) -> T) -> T {
        let (result, notes, woke) = {
            let mut state = lock(&self.state);
            let result = f(&mut state);
            (result, state.notes.take(), std::mem::take(&mut state.woke))
        };
        for (kind, text) in notes {
            self.timeline.push(kind, text);
        }
        if woke {
            self.arrivals.send_modify(|n| *n = n.wrapping_add(1));
        }
        result
    }

    /// Reads the state (hidden messages whose time came are settled on the way).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&mut SqsState) -> T) -> T {
        self.with_state(f)
    }

    pub(crate) fn note(&self, kind: SqsTimelineKind, text: String) {
        self.timeline.push(kind, text);
    }

    pub(crate) fn next_call_seq(&self) -> u64 {
        self.call_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn record_call(&self, call: SqsCall) {
        {
            let mut calls = lock(&self.calls);
            if calls.len() < MAX_RECORDS {
                calls.push(call);
            }
        }
        self.calls_signal.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

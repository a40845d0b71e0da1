//! One answer at a time per thread: a thread is busy from the question until its answer ends.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The threads with an answer in progress, keyed by (channel, thread root ts).
#[derive(Clone, Default)]
pub struct BusyThreads {
    busy: Arc<Mutex<HashSet<(String, String)>>>,
}

/// Holds a thread busy until dropped.
pub struct ThreadBusy {
    key: (String, String),
    busy: Arc<Mutex<HashSet<(String, String)>>>,
}

impl BusyThreads {
    /// Mark the thread busy; `None` if an answer is already in progress there.
    pub fn try_start(&self, channel: &str, thread_ts: &str) -> Option<ThreadBusy> {
        let key = (channel.to_owned(), thread_ts.to_owned());
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.insert(key.clone()).then(|| ThreadBusy {
            key,
            busy: self.busy.clone(),
        })
    }
}

impl Drop for ThreadBusy {
    fn drop(&mut self) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_takes_one_answer_at_a_time_and_is_free_again_after() {
        let threads = BusyThreads::default();
        let first = threads.try_start("C1", "1.1").expect("free");
        assert!(threads.try_start("C1", "1.1").is_none(), "busy");
        assert!(threads.try_start("C1", "2.2").is_some(), "another thread");
        assert!(threads.try_start("C2", "1.1").is_some(), "another channel");
        drop(first);
        assert!(threads.try_start("C1", "1.1").is_some(), "free again");
    }
}

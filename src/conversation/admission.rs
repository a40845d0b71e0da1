//! At most `max_concurrent` answers at once; the rest wait in arrival order, each knowing how
//! many wait ahead of it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// The answers running and the questions waiting.
pub struct Admission {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    max: usize,
    running: usize,
    waiting: VecDeque<u64>,
    next_id: u64,
}

/// Where a question stands on arrival.
pub enum Entry {
    /// It may run now.
    Admitted(Turn),
    /// It waits; `ahead` questions wait before it.
    Queued { ahead: usize, waiting: Waiting },
}

/// The right to run one answer; dropping it lets the next question in.
pub struct Turn {
    admission: Arc<Admission>,
}

/// A place in the queue; dropping it before its turn leaves the queue.
pub struct Waiting {
    id: u64,
    admission: Arc<Admission>,
    admitted: bool,
}

impl Admission {
    pub fn new(max_concurrent: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                max: max_concurrent.max(1),
                running: 0,
                waiting: VecDeque::new(),
                next_id: 0,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Enter: run now if there is room and nobody waits, else join the end of the queue.
    pub fn enter(self: &Arc<Self>) -> Entry {
        let mut state = self.state();
        if state.running < state.max && state.waiting.is_empty() {
            state.running += 1;
            return Entry::Admitted(Turn {
                admission: self.clone(),
            });
        }
        let id = state.next_id;
        state.next_id += 1;
        state.waiting.push_back(id);
        Entry::Queued {
            ahead: state.waiting.len() - 1,
            waiting: Waiting {
                id,
                admission: self.clone(),
                admitted: false,
            },
        }
    }

    /// Answers running now (for logs and tests).
    pub fn running(&self) -> usize {
        self.state().running
    }
}

impl Waiting {
    /// Wait until this question is first in line and an answer slot is free.
    pub async fn turn(mut self) -> Turn {
        loop {
            let changed = self.admission.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.admission.state();
                if state.waiting.front() == Some(&self.id) && state.running < state.max {
                    state.waiting.pop_front();
                    state.running += 1;
                    self.admitted = true;
                    drop(state);
                    // The next in line may be able to run too.
                    self.admission.changed.notify_waiters();
                    return Turn {
                        admission: self.admission.clone(),
                    };
                }
            }
            changed.await;
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.admitted {
            return;
        }
        self.admission.state().waiting.retain(|id| *id != self.id);
        self.admission.changed.notify_waiters();
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.admission.state().running -= 1;
        self.admission.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn queued(entry: Entry) -> (usize, Waiting) {
        match entry {
            Entry::Queued { ahead, waiting } => (ahead, waiting),
            Entry::Admitted(_) => panic!("expected to wait"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_limit_questions_wait_in_order_with_their_place() {
        let admission = Admission::new(2);
        let Entry::Admitted(first) = admission.enter() else {
            panic!("room for the first")
        };
        let Entry::Admitted(_second) = admission.enter() else {
            panic!("room for the second")
        };
        let (ahead, third) = queued(admission.enter());
        assert_eq!(ahead, 0);
        let (ahead, fourth) = queued(admission.enter());
        assert_eq!(ahead, 1);
        let fourth = tokio::spawn(fourth.turn());
        let third = tokio::spawn(third.turn());
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!third.is_finished() && !fourth.is_finished());
        drop(first);
        let third = third.await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!fourth.is_finished(), "the fourth waits for a free slot");
        assert_eq!(admission.running(), 2);
        drop(third);
        let _fourth = fourth.await.unwrap();
        assert_eq!(admission.running(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_question_that_gives_up_leaves_the_queue() {
        let admission = Admission::new(1);
        let Entry::Admitted(running) = admission.enter() else {
            panic!("room for the first")
        };
        let (_, gives_up) = queued(admission.enter());
        let (ahead, patient) = queued(admission.enter());
        assert_eq!(ahead, 1);
        drop(gives_up);
        let (ahead, _last) = queued(admission.enter());
        assert_eq!(ahead, 1, "only the patient one is ahead now");
        drop(running);
        let _turn = patient.turn().await;
        assert_eq!(admission.running(), 1);
    }
}

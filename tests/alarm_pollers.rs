//! The receive loops (`notify::pollers`) against an in-memory queue with real long polls, in
//! virtual time: one long poll while quiet, more under a backlog, receiving while batches wait
//! (up to `max_in_flight`), lingering after a partial batch, and stopping without losing work.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chatops_bot::notify::consumer::{Consumer, ConsumerSettings, NotificationSink, StopSignals};
use chatops_bot::notify::pollers::{self, PollerSettings};
use chatops_bot::notify::queue::{AlarmQueue, DeleteFailure, QueueError, QueueMessage};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};

/// A queue whose receive waits (a long poll) until a message is there or `wait` passed.
#[derive(Default)]
struct LongPollQueue {
    waiting: Mutex<VecDeque<QueueMessage>>,
    added: Notify,
    /// Receives that returned messages: how many each.
    batches: Mutex<Vec<usize>>,
    open_polls: AtomicUsize,
    most_open_polls: AtomicUsize,
    deleted: Mutex<Vec<String>>,
    handed_back: Mutex<Vec<String>>,
}

impl LongPollQueue {
    fn push(&self, ids: impl IntoIterator<Item = String>) {
        self.waiting
            .lock()
            .unwrap()
            .extend(ids.into_iter().map(|id| QueueMessage {
                receipt: format!("r-{id}"),
                body: format!("body {id}"),
                id,
                attributes: BTreeMap::new(),
                receive_count: 1,
                sent_at: None,
            }));
        self.added.notify_waiters();
    }

    fn take(&self, max: u8) -> Vec<QueueMessage> {
        let mut waiting = self.waiting.lock().unwrap();
        let n = waiting.len().min(usize::from(max));
        waiting.drain(..n).collect()
    }
}

#[async_trait]
impl AlarmQueue for LongPollQueue {
    async fn receive(
        &self,
        max: u8,
        wait: Duration,
        _visibility: Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        let open = self.open_polls.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_open_polls.fetch_max(open, Ordering::SeqCst);
        let deadline = Instant::now() + wait;
        let batch = loop {
            let added = self.added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            let batch = self.take(max);
            if !batch.is_empty() {
                break batch;
            }
            tokio::select! {
                _ = added => {}
                _ = tokio::time::sleep_until(deadline) => break vec![],
            }
        };
        self.open_polls.fetch_sub(1, Ordering::SeqCst);
        if !batch.is_empty() {
            self.batches.lock().unwrap().push(batch.len());
        }
        Ok(batch)
    }

    async fn delete(&self, messages: &[&QueueMessage]) -> Result<Vec<DeleteFailure>, QueueError> {
        let mut deleted = self.deleted.lock().unwrap();
        deleted.extend(messages.iter().map(|m| m.id.clone()));
        Ok(vec![])
    }

    async fn extend(&self, message: &QueueMessage, visibility: Duration) -> Result<(), QueueError> {
        if visibility.is_zero() {
            self.handed_back.lock().unwrap().push(message.id.clone());
        }
        Ok(())
    }
}

/// Takes `delay` per message; counts deliveries running at once.
#[derive(Default)]
struct SlowSink {
    delay: Duration,
    running: AtomicUsize,
    most_running: AtomicUsize,
    delivered: AtomicUsize,
}

#[async_trait]
impl NotificationSink for SlowSink {
    async fn deliver(&self, _message: &QueueMessage) -> anyhow::Result<()> {
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(running, Ordering::SeqCst);
        sleep(self.delay).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.delivered.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

struct Rig {
    queue: Arc<LongPollQueue>,
    sink: Arc<SlowSink>,
    signals: StopSignals,
    tasks: JoinSet<()>,
}

fn start(settings: PollerSettings, delay: Duration) -> Rig {
    let queue = Arc::new(LongPollQueue::default());
    let sink = Arc::new(SlowSink {
        delay,
        ..SlowSink::default()
    });
    let consumer = Arc::new(Consumer::new(
        queue.clone(),
        sink.clone(),
        ConsumerSettings {
            wait: Duration::from_secs(20),
            visibility: Duration::from_secs(60),
            batch: 10,
        },
    ));
    let signals = StopSignals::default();
    let mut tasks = JoinSet::new();
    pollers::spawn(consumer, settings, &signals, &mut tasks);
    Rig {
        queue,
        sink,
        signals,
        tasks,
    }
}

fn ids(range: std::ops::Range<usize>) -> impl Iterator<Item = String> {
    range.map(|i| format!("m{i}"))
}

/// Wait (virtual time, bounded) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..100_000 {
        if done() {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn stop(mut rig: Rig) -> Rig {
    rig.signals.stop.cancel();
    while let Some(joined) = rig.tasks.join_next().await {
        joined.unwrap();
    }
    rig
}

#[tokio::test(start_paused = true)]
async fn a_quiet_queue_costs_one_long_poll_and_a_backlog_wakes_the_others() {
    let settings = PollerSettings {
        pollers: 4,
        max_in_flight: 200,
        linger: Duration::ZERO,
    };
    let rig = start(settings, Duration::from_millis(1));
    sleep(Duration::from_secs(30)).await;
    assert_eq!(
        rig.queue.most_open_polls.load(Ordering::SeqCst),
        1,
        "quiet: one long poll"
    );

    rig.queue.push(ids(0..500));
    until("all 500 are deleted", || {
        rig.queue.deleted.lock().unwrap().len() == 500
    })
    .await;
    assert!(
        rig.queue.most_open_polls.load(Ordering::SeqCst) > 1,
        "full receives woke the standby pollers"
    );
    // Once receives come back partial, the standby pollers leave: one long poll again.
    sleep(Duration::from_secs(45)).await;
    assert_eq!(rig.queue.open_polls.load(Ordering::SeqCst), 1);
    let rig = stop(rig).await;
    assert_eq!(rig.sink.delivered.load(Ordering::SeqCst), 500);
}

#[tokio::test(start_paused = true)]
async fn pollers_keep_receiving_while_batches_wait_up_to_max_in_flight() {
    let settings = PollerSettings {
        pollers: 1,
        max_in_flight: 30,
        linger: Duration::ZERO,
    };
    let rig = start(settings, Duration::from_secs(10));
    rig.queue.push(ids(0..100));
    sleep(Duration::from_secs(1)).await;
    assert_eq!(
        rig.sink.running.load(Ordering::SeqCst),
        30,
        "one poller took three batches while the first still waited, and no more"
    );
    until("all 100 are deleted", || {
        rig.queue.deleted.lock().unwrap().len() == 100
    })
    .await;
    assert_eq!(rig.sink.most_running.load(Ordering::SeqCst), 30);
    stop(rig).await;
}

/// Non-empty receives for one message every 10 ms after a first one, with this linger.
async fn receives_for_a_trickle(linger: Duration) -> Vec<usize> {
    let settings = PollerSettings {
        pollers: 1,
        max_in_flight: 200,
        linger,
    };
    let rig = start(settings, Duration::ZERO);
    sleep(Duration::from_secs(1)).await;
    for i in 0..4 {
        rig.queue.push(ids(i..i + 1));
        sleep(Duration::from_millis(10)).await;
    }
    until("all 4 are deleted", || {
        rig.queue.deleted.lock().unwrap().len() == 4
    })
    .await;
    let rig = stop(rig).await;
    let batches = rig.queue.batches.lock().unwrap().clone();
    batches
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_lingers_so_a_trickle_shares_receives() {
    assert_eq!(
        receives_for_a_trickle(Duration::ZERO).await,
        vec![1, 1, 1, 1]
    );
    assert_eq!(
        receives_for_a_trickle(Duration::from_millis(50)).await,
        vec![1, 3],
        "the three that came during the linger share one receive"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_finishes_the_batches_in_flight() {
    let settings = PollerSettings {
        pollers: 2,
        max_in_flight: 50,
        linger: Duration::ZERO,
    };
    let rig = start(settings, Duration::from_secs(2));
    rig.queue.push(ids(0..30));
    sleep(Duration::from_millis(100)).await;
    assert_eq!(rig.sink.running.load(Ordering::SeqCst), 30);
    let rig = stop(rig).await;
    assert_eq!(rig.sink.delivered.load(Ordering::SeqCst), 30);
    assert_eq!(rig.queue.deleted.lock().unwrap().len(), 30);
    assert!(rig.queue.handed_back.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn at_the_end_of_the_grace_every_batch_in_flight_is_handed_back() {
    let settings = PollerSettings {
        pollers: 1,
        max_in_flight: 50,
        linger: Duration::ZERO,
    };
    let rig = start(settings, Duration::from_secs(600));
    rig.queue.push(ids(0..30));
    sleep(Duration::from_millis(100)).await;
    rig.signals.stop.cancel();
    sleep(Duration::from_secs(1)).await;
    rig.signals.abandon_work.cancel();
    let rig = stop(rig).await;
    assert_eq!(rig.sink.delivered.load(Ordering::SeqCst), 0);
    assert!(rig.queue.deleted.lock().unwrap().is_empty());
    let mut handed_back = rig.queue.handed_back.lock().unwrap().clone();
    handed_back.sort();
    let mut expected: Vec<String> = ids(0..30).collect();
    expected.sort();
    assert_eq!(handed_back, expected);
}

#[tokio::test(start_paused = true)]
async fn a_steady_trickle_is_paced_into_near_full_receives_on_one_long_poll() {
    let settings = PollerSettings {
        pollers: 4,
        max_in_flight: 200,
        linger: Duration::from_millis(10),
    };
    let rig = start(settings, Duration::from_millis(2));
    sleep(Duration::from_secs(1)).await;
    // 1,000 alarms a second for two seconds.
    for i in 0..2_000 {
        rig.queue.push(ids(i..i + 1));
        sleep(Duration::from_millis(1)).await;
    }
    until("all 2,000 are deleted", || {
        rig.queue.deleted.lock().unwrap().len() == 2_000
    })
    .await;
    assert_eq!(
        rig.queue.most_open_polls.load(Ordering::SeqCst),
        1,
        "a trickle never wakes the standby pollers"
    );
    let rig = stop(rig).await;
    let batches = rig.queue.batches.lock().unwrap().clone();
    let mean = 2_000.0 / batches.len() as f64;
    assert!(
        mean >= 8.0,
        "{mean:.1} a receive ({} receives); a 5 ms linger gave about 5",
        batches.len()
    );
    assert!(batches.iter().all(|&n| n <= 10));
}

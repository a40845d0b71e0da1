//! The SQS consumer's step, `poll_once`, against an in-memory queue (time paused for the heartbeat).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chatops_bot::notify::consumer::{
    Consumer, ConsumerSettings, NotificationSink, PollOutcome, StopSignals,
};
use chatops_bot::notify::queue::{AlarmQueue, DeleteFailure, QueueError, QueueMessage};

#[derive(Default)]
struct MemoryQueue {
    waiting: Mutex<Vec<QueueMessage>>,
    deleted: Mutex<Vec<String>>,
    extended: Mutex<Vec<String>>,
    handed_back: Mutex<Vec<String>>,
    refuse_deletes: Mutex<Vec<String>>,
}

impl MemoryQueue {
    fn with(ids: &[&str]) -> Self {
        let q = MemoryQueue::default();
        *q.waiting.lock().unwrap() = ids
            .iter()
            .map(|id| QueueMessage {
                id: id.to_string(),
                receipt: format!("r-{id}"),
                body: format!("body {id}"),
                attributes: BTreeMap::new(),
                receive_count: 1,
                sent_at: None,
            })
            .collect();
        q
    }
}

#[async_trait]
impl AlarmQueue for MemoryQueue {
    async fn receive(
        &self,
        max: u8,
        _wait: Duration,
        _visibility: Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        let mut waiting = self.waiting.lock().unwrap();
        let n = waiting.len().min(max as usize);
        Ok(waiting.drain(..n).collect())
    }
    async fn delete(&self, messages: &[&QueueMessage]) -> Result<Vec<DeleteFailure>, QueueError> {
        let refuse = self.refuse_deletes.lock().unwrap().clone();
        let mut failures = vec![];
        for m in messages {
            if refuse.contains(&m.id) {
                failures.push(DeleteFailure {
                    id: m.id.clone(),
                    reason: "ReceiptHandleIsInvalid".into(),
                });
            } else {
                self.deleted.lock().unwrap().push(m.id.clone());
            }
        }
        Ok(failures)
    }
    async fn extend(&self, message: &QueueMessage, visibility: Duration) -> Result<(), QueueError> {
        let to = if visibility.is_zero() {
            &self.handed_back
        } else {
            &self.extended
        };
        to.lock().unwrap().push(message.id.clone());
        Ok(())
    }
}

/// Fails bodies containing "bad"; sleeps `delay` first.
struct Sink {
    delay: Duration,
    seen: Mutex<Vec<String>>,
}

#[async_trait]
impl NotificationSink for Sink {
    async fn deliver(&self, message: &QueueMessage) -> anyhow::Result<()> {
        tokio::time::sleep(self.delay).await;
        self.seen.lock().unwrap().push(message.id.clone());
        anyhow::ensure!(!message.body.contains("bad"), "Slack is down");
        Ok(())
    }
}

fn consumer(queue: Arc<MemoryQueue>, delay: Duration) -> (Consumer, Arc<Sink>) {
    let sink = Arc::new(Sink {
        delay,
        seen: Mutex::new(vec![]),
    });
    let settings = ConsumerSettings {
        wait: Duration::from_secs(20),
        visibility: Duration::from_secs(30),
        batch: 10,
    };
    (Consumer::new(queue, sink.clone(), settings), sink)
}

#[tokio::test(start_paused = true)]
async fn delivered_messages_are_deleted_and_failed_ones_stay() {
    let queue = Arc::new(MemoryQueue::with(&["a", "bad-b", "c"]));
    let (consumer, sink) = consumer(queue.clone(), Duration::ZERO);
    let outcome = consumer.poll_once().await.unwrap();
    assert_eq!(
        outcome,
        PollOutcome {
            received: 3,
            delivered: 2,
            failed: 1,
            delete_failures: 0,
            ..PollOutcome::default()
        }
    );
    assert_eq!(
        *queue.deleted.lock().unwrap(),
        vec!["a".to_owned(), "c".to_owned()]
    );
    assert_eq!(sink.seen.lock().unwrap().len(), 3);
    assert!(
        queue.extended.lock().unwrap().is_empty(),
        "fast handling needs no heartbeat"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_handling_keeps_the_batch_hidden_with_a_heartbeat() {
    let queue = Arc::new(MemoryQueue::with(&["a", "b"]));
    let (consumer, _) = consumer(queue.clone(), Duration::from_secs(40));
    let outcome = consumer.poll_once().await.unwrap();
    assert_eq!(outcome.delivered, 2);
    // 40 s of handling with a 30 s visibility: renewed at 15 s and 30 s, for both messages.
    assert_eq!(queue.extended.lock().unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn failed_deletes_are_counted_not_hidden() {
    let queue = Arc::new(MemoryQueue::with(&["a", "b"]));
    queue.refuse_deletes.lock().unwrap().push("b".into());
    let (consumer, _) = consumer(queue.clone(), Duration::ZERO);
    let outcome = consumer.poll_once().await.unwrap();
    assert_eq!(outcome.delete_failures, 1);
    assert_eq!(*queue.deleted.lock().unwrap(), vec!["a".to_owned()]);
}

#[tokio::test(start_paused = true)]
async fn an_empty_poll_does_nothing() {
    let queue = Arc::new(MemoryQueue::default());
    let (consumer, _) = consumer(queue.clone(), Duration::ZERO);
    assert_eq!(consumer.poll_once().await.unwrap(), PollOutcome::default());
}

#[tokio::test(start_paused = true)]
async fn a_poll_that_returns_after_stop_hands_its_batch_back_unhandled() {
    let queue = Arc::new(MemoryQueue::with(&["a", "b"]));
    let (consumer, sink) = consumer(queue.clone(), Duration::ZERO);
    let signals = StopSignals::default();
    signals.stop.cancel();
    let outcome = consumer.poll(&signals).await.unwrap();
    assert_eq!(outcome.handed_back, 2);
    assert!(sink.seen.lock().unwrap().is_empty(), "nothing handled");
    assert!(queue.deleted.lock().unwrap().is_empty());
    assert_eq!(*queue.handed_back.lock().unwrap(), vec!["a", "b"]);
}

#[tokio::test(start_paused = true)]
async fn at_the_end_of_the_grace_unfinished_deliveries_are_handed_back() {
    let queue = Arc::new(MemoryQueue::with(&["a", "bad-b", "c"]));
    let (consumer, _) = consumer(queue.clone(), Duration::from_secs(60));
    let signals = StopSignals::default();
    let poll = consumer.poll(&signals);
    let stop_then_give_up = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        signals.stop.cancel();
        tokio::time::sleep(Duration::from_secs(9)).await;
        signals.abandon_work.cancel();
    };
    let (outcome, ()) = tokio::join!(poll, stop_then_give_up);
    let outcome = outcome.unwrap();
    assert_eq!((outcome.abandoned, outcome.handed_back), (3, 3));
    assert!(queue.deleted.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn failed_deliveries_are_handed_back_when_stopping() {
    let queue = Arc::new(MemoryQueue::with(&["a", "bad-b"]));
    let (consumer, _) = consumer(queue.clone(), Duration::from_secs(1));
    let signals = StopSignals::default();
    let poll = consumer.poll(&signals);
    let stop = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        signals.stop.cancel();
    };
    let (outcome, ()) = tokio::join!(poll, stop);
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.delivered, outcome.failed, outcome.handed_back),
        (1, 1, 1)
    );
    assert_eq!(*queue.deleted.lock().unwrap(), vec!["a"]);
    assert_eq!(*queue.handed_back.lock().unwrap(), vec!["bad-b"]);
}

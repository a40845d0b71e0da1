//! The Socket Mode dedupe ledger: event ids recorded in the store in batches, on one thread.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{anyhow, Context};
use async_trait::async_trait;
use tokio::sync::oneshot;

use super::Store;
use crate::slack::socket::dispatch::EventLedger;

/// Most event ids recorded in one transaction.
const MAX_BATCH: usize = 512;

/// Records event ids on a `store-ledger` thread. Ids that arrive while a transaction runs go into
/// the next one together, so a burst costs one commit per batch instead of one per event, and no
/// handler runs before its id is committed (a restart never handles an event twice).
pub struct StoreLedger {
    requests: mpsc::Sender<Request>,
}

struct Request {
    event_id: String,
    first: oneshot::Sender<anyhow::Result<bool>>,
}

impl StoreLedger {
    pub fn new<S: Store + ?Sized>(store: Arc<S>) -> anyhow::Result<Self> {
        let (requests, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("store-ledger".into())
            .spawn(move || record_batches(&*store, &queue))
            .context("Failed to start the event ledger thread")?;
        Ok(Self { requests })
    }
}

/// Until every `StoreLedger` handle is dropped: take what is queued, record it, answer each.
fn record_batches<S: Store + ?Sized>(store: &S, queue: &mpsc::Receiver<Request>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter().take(MAX_BATCH - 1));
        let ids: Vec<&str> = batch.iter().map(|r| r.event_id.as_str()).collect();
        match store.record_events(&ids, SystemTime::now()) {
            Ok(firsts) => {
                for (request, first) in batch.into_iter().zip(firsts) {
                    let _ = request.first.send(Ok(first));
                }
            }
            Err(e) => {
                let cause = format!("{e:#}");
                for request in batch {
                    let _ = request.first.send(Err(anyhow!("{cause}")));
                }
            }
        }
    }
}

#[async_trait]
impl EventLedger for StoreLedger {
    async fn first_delivery(&self, event_id: &str) -> anyhow::Result<bool> {
        let (first, answer) = oneshot::channel();
        let stopped = || anyhow!("the event ledger thread has stopped");
        self.requests
            .send(Request {
                event_id: event_id.to_owned(),
                first,
            })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_deliveries_of_one_event_are_first_exactly_once() {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let ledger = Arc::new(StoreLedger::new(store.clone()).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..400 {
            let ledger = ledger.clone();
            // 100 distinct events, each delivered 4 times at once.
            tasks.spawn(async move {
                (
                    i % 100,
                    ledger.first_delivery(&format!("Ev{:03}", i % 100)).await,
                )
            });
        }
        let mut firsts = vec![0; 100];
        while let Some(done) = tasks.join_next().await {
            let (event, first) = done.unwrap();
            if first.unwrap() {
                firsts[event] += 1;
            }
        }
        assert!(firsts.iter().all(|&n| n == 1), "{firsts:?}");
        assert!(store.event_seen_at("Ev042").unwrap().is_some());
        assert!(!ledger.first_delivery("Ev042").await.unwrap());
    }
}

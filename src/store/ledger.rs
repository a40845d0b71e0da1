//! The Socket Mode dedupe ledger: event ids recorded in the store in batches, on one thread.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::batcher::{Batcher, Gather};
use super::{EventLedger, Store};

/// Most event ids recorded in one transaction.
const MAX_BATCH: usize = 512;

/// Records event ids on a `store-ledger` thread. Ids that arrive while a transaction runs go into
/// the next one together, so a burst costs one commit per batch instead of one per event, and no
/// handler runs before its id is committed (a restart never handles an event twice).
pub struct StoreLedger {
    batcher: Batcher<String, bool>,
}

impl StoreLedger {
    pub fn new<S: Store + ?Sized>(store: Arc<S>) -> anyhow::Result<Self> {
        let batcher = Batcher::spawn(
            "store-ledger",
            MAX_BATCH,
            Gather::Queued,
            move |ids: &[String]| {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                store.record_events(&ids, SystemTime::now())
            },
        )?;
        Ok(Self { batcher })
    }
}

#[async_trait]
impl EventLedger for StoreLedger {
    async fn first_delivery(&self, event_id: &str) -> anyhow::Result<bool> {
        self.batcher.submit(event_id.to_owned()).await
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
        let seen = crate::store::unblock(move || store.event_seen_at("Ev042"));
        assert!(seen.await.unwrap().is_some());
        assert!(!ledger.first_delivery("Ev042").await.unwrap());
    }
}

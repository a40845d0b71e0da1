//! One async lock per (key, channel), so work on one card or digest never interleaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

/// Above this many idle entries, unused locks are dropped.
const PRUNE_ABOVE: usize = 10_000;

type LockMap = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

#[derive(Default)]
pub struct KeyLocks(Mutex<LockMap>);

impl KeyLocks {
    pub async fn lock(&self, key: &str, channel: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() > PRUNE_ABOVE {
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry((key.to_owned(), channel.to_owned()))
                .or_default()
                .clone()
        };
        lock.lock_owned().await
    }
}

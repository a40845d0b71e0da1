//! Durable state behind one `Store` trait; SQLite is the default implementation.

pub mod cards;
pub mod digests;
mod migrations;
mod sqlite;
mod sqlite_cards;
mod sqlite_digests;

use std::time::{Duration, SystemTime};

pub use sqlite::SqliteStore;

use crate::slack::socket::dispatch::EventLedger;

/// Everything the bot must remember across restarts.
pub trait Store: Send + Sync + 'static {
    /// Record that the Events API delivery `event_id` was seen at `now`; true if it is the first time.
    fn record_event(&self, event_id: &str, now: SystemTime) -> anyhow::Result<bool>;
    /// Forget event ids seen before `cutoff`. Returns how many were removed.
    fn forget_events_before(&self, cutoff: SystemTime) -> anyhow::Result<usize>;
}

/// How long event ids are kept for deduplication. Slack retries within minutes; keep an hour.
pub const EVENT_ID_RETENTION: Duration = Duration::from_secs(60 * 60);

/// Adapts any `Store` to the Socket Mode dispatcher's dedupe interface.
pub struct StoreLedger<S: ?Sized>(pub std::sync::Arc<S>);

impl<S: Store + ?Sized> EventLedger for StoreLedger<S> {
    fn first_delivery(&self, event_id: &str) -> anyhow::Result<bool> {
        self.0.record_event(event_id, SystemTime::now())
    }
}

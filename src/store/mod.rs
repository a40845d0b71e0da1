//! Durable state behind one `Store` trait; SQLite is the default implementation.

pub mod actions;
pub mod answers;
pub mod aws_runs;
pub mod batcher;
mod blocking;
pub mod cards;
pub mod deploys;
pub mod digests;
pub mod latencies;
mod ledger;
mod migrations;
pub mod reports;
pub mod retention;
pub mod retention_deploys;
mod sqlite;
mod sqlite_actions;
mod sqlite_answers;
mod sqlite_aws_runs;
mod sqlite_cards;
mod sqlite_claims;
mod sqlite_deploys;
mod sqlite_digests;
mod sqlite_latencies;
mod sqlite_reports;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use blocking::{unblock, Blocking};
pub use ledger::StoreLedger;
pub use sqlite::SqliteStore;

/// Everything the bot must remember across restarts.
pub trait Store: Send + Sync + 'static {
    /// Record that the Events API delivery `event_id` was seen at `now`; true if it is the first time.
    fn record_event(&self, event_id: &str, now: SystemTime) -> anyhow::Result<bool>;
    /// `record_event` for many ids at once (one transaction): whether each was new, in order.
    fn record_events(&self, event_ids: &[&str], now: SystemTime) -> anyhow::Result<Vec<bool>> {
        event_ids
            .iter()
            .map(|id| self.record_event(id, now))
            .collect()
    }
    /// Forget event ids seen before `cutoff`. Returns how many were removed.
    fn forget_events_before(&self, cutoff: SystemTime) -> anyhow::Result<usize>;
}

/// Remembers which Events API deliveries were handled, across connections and restarts. The
/// Socket Mode dispatcher asks it before handling; `StoreLedger` is the real one.
#[async_trait]
pub trait EventLedger: Send + Sync + 'static {
    /// Record `event_id`; true if this is its first delivery.
    async fn first_delivery(&self, event_id: &str) -> anyhow::Result<bool>;
}

/// How long event ids are kept for deduplication. Slack retries within minutes; keep an hour.
pub const EVENT_ID_RETENTION: Duration = Duration::from_secs(60 * 60);

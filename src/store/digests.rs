//! Storm digests: one Slack message per storm and channel, listing the notifications folded into it.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// One notification on a digest, keyed like its card would be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestEntry {
    /// The card key (an alarm's key, or the SQS message id of a one-off notification).
    pub key: String,
    pub name: String,
    /// The latest state label, e.g. `ALARM`, `OK`, `FAILED`.
    pub state: String,
    pub at: Option<SystemTime>,
    /// The notification kind's name (`alarm`, `pipeline`, …).
    pub kind: String,
}

/// A digest message and everything on it.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestRecord {
    pub channel: String,
    /// The digest message; empty until it has been posted.
    pub ts: String,
    pub opened_at: SystemTime,
    /// When the latest notification was folded in; the storm lasts while this is recent.
    pub last_added: SystemTime,
    /// Whether the end of the storm was handled (the full list posted in the thread if needed).
    pub closed: bool,
    /// In the order they arrived; one entry per key.
    pub lines: Vec<DigestEntry>,
}

impl DigestRecord {
    /// Add a notification, or replace the line of the same key. Returns true if it was new.
    pub fn upsert(&mut self, entry: DigestEntry) -> bool {
        match self.lines.iter_mut().find(|line| line.key == entry.key) {
            Some(line) => {
                *line = entry;
                false
            }
            None => {
                self.lines.push(entry);
                true
            }
        }
    }
}

/// Where storm digests are kept.
pub trait DigestStore: Send + Sync + 'static {
    /// The most recently extended digest of `channel`.
    fn latest_digest(&self, channel: &str) -> anyhow::Result<Option<DigestRecord>>;
    fn digest(&self, channel: &str, ts: &str) -> anyhow::Result<Option<DigestRecord>>;
    /// Insert or replace the digest of (channel, ts). `ts` must be set.
    fn save_digest(&self, digest: &DigestRecord) -> anyhow::Result<()>;
    /// Digests not yet closed whose last notification came before `cutoff`.
    fn quiet_open_digests(&self, cutoff: SystemTime) -> anyhow::Result<Vec<DigestRecord>>;
}

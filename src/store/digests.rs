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

/// A digest message. Its lines are kept apart, one row each, so adding one costs the same
/// however long the storm is.
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
    /// How many lines (distinct keys) the digest has.
    pub line_count: usize,
}

/// What a digest card shows: counts by state over every line, and only the first lines.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestSummary {
    pub record: DigestRecord,
    /// Lines per state label as given (not normalised), in no particular order.
    pub counts: Vec<(String, usize)>,
    /// The first lines in the order they arrived, at most as many as asked for.
    pub first_lines: Vec<DigestEntry>,
}

/// Add `entry` to `lines`, or replace the line of the same key in place. Returns true if new.
pub fn upsert_line(lines: &mut Vec<DigestEntry>, entry: DigestEntry) -> bool {
    match lines.iter_mut().find(|line| line.key == entry.key) {
        Some(line) => {
            *line = entry;
            false
        }
        None => {
            lines.push(entry);
            true
        }
    }
}

/// Where storm digests are kept.
pub trait DigestStore: Send + Sync + 'static {
    /// The most recently extended digest of `channel`.
    fn latest_digest(&self, channel: &str) -> anyhow::Result<Option<DigestRecord>>;
    fn digest(&self, channel: &str, ts: &str) -> anyhow::Result<Option<DigestRecord>>;
    /// In one transaction: create the digest (channel, ts) if it is new, move its `last_added`
    /// forward to `digest.last_added`, and add each line (after the others) or replace the line
    /// of the same key in place, keeping the counts by state. Its cost is in the number of
    /// `lines`, not in the digest's size. `ts` must be set; `closed` is never changed here.
    fn add_digest_lines(&self, digest: &DigestRecord, lines: &[DigestEntry]) -> anyhow::Result<()>;
    /// The digest's counts by state and its first `shown` lines.
    fn digest_summary(
        &self,
        channel: &str,
        ts: &str,
        shown: usize,
    ) -> anyhow::Result<Option<DigestSummary>>;
    /// Every line of the digest, in the order they arrived (for the full list at its close).
    fn digest_lines(&self, channel: &str, ts: &str) -> anyhow::Result<Vec<DigestEntry>>;
    /// Mark the digest closed: its storm is over and its full list was posted if needed.
    fn close_digest(&self, channel: &str, ts: &str) -> anyhow::Result<()>;
    /// Digests not yet closed whose last notification came before `cutoff`.
    fn quiet_open_digests(&self, cutoff: SystemTime) -> anyhow::Result<Vec<DigestRecord>>;
}

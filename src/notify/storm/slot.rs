//! An open storm digest: lines wait in memory until the next flush saves them and updates Slack.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tracing::info;

use super::{card_of, StormSettings};
use crate::alarms::card::{self, MAX_LINES_SHOWN};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::messenger::Messenger;
use crate::store::digests::{upsert_line, DigestEntry, DigestRecord, DigestStore};
use crate::store::Blocking;

/// An open digest: lines are added under a short lock, and whoever next holds `flushed` saves
/// every line added so far and updates Slack. Concurrent additions share one `chat.update`.
pub(super) struct DigestSlot {
    pending: Mutex<Pending>,
    flushed: tokio::sync::Mutex<Flushed>,
}

#[derive(Default)]
struct Flushed {
    /// The highest version shown in Slack and saved in the store.
    shown: u64,
    /// The highest version whose flush failed: the waiters it covered fail with it rather than
    /// each retrying in turn (during an outage that would hold every message for minutes).
    failed: u64,
}

struct Pending {
    /// The digest itself (its `line_count` is not kept here: the store counts).
    record: DigestRecord,
    /// Lines added since the last flush that saved them, in order, one per key.
    unsaved: Vec<DigestEntry>,
    version: u64,
}

/// A failed flush, with the lines it took if they were not saved (they go back to `unsaved`).
struct ShowError {
    error: anyhow::Error,
    unsaved: Option<Vec<DigestEntry>>,
}

impl DigestSlot {
    pub(super) fn new(record: DigestRecord) -> Arc<Self> {
        Arc::new(Self {
            pending: Mutex::new(Pending {
                record,
                unsaved: Vec::new(),
                version: 0,
            }),
            flushed: tokio::sync::Mutex::default(),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn ts(&self) -> String {
        self.pending().record.ts.clone()
    }

    /// The storm goes on: something was folded in within the window.
    pub(super) fn storming(&self, now: SystemTime, window: Duration) -> bool {
        self.pending().record.last_added + window >= now
    }

    /// The storm goes on and this digest is younger than `storm_max_duration`: it takes new lines.
    pub(super) fn accepting(&self, now: SystemTime, settings: &StormSettings) -> bool {
        let pending = self.pending();
        pending.record.last_added + settings.window >= now
            && now < pending.record.opened_at + settings.max_duration
    }

    /// Add or replace a line; `arrived` extends the storm. Returns the version that includes it.
    pub(super) fn add(&self, entry: DigestEntry, arrived: Option<SystemTime>) -> u64 {
        let mut pending = self.pending();
        upsert_line(&mut pending.unsaved, entry);
        if let Some(now) = arrived {
            pending.record.last_added = pending.record.last_added.max(now);
        }
        pending.version += 1;
        pending.version
    }

    /// Make the store and Slack show at least `version`; returns the digest's ts.
    pub(super) async fn flush_through<S: DigestStore + ?Sized>(
        &self,
        version: u64,
        slack: &dyn Messenger,
        store: &Blocking<S>,
    ) -> anyhow::Result<String> {
        let mut flushed = self.flushed.lock().await;
        if flushed.shown >= version {
            return Ok(self.ts());
        }
        if flushed.failed >= version {
            anyhow::bail!("The storm digest could not be updated (a shared update failed)");
        }
        let (record, lines, snapshot_version) = {
            let mut pending = self.pending();
            let lines = std::mem::take(&mut pending.unsaved);
            (pending.record.clone(), lines, pending.version)
        };
        match self.show(record, lines, slack, store).await {
            Ok(ts) => {
                flushed.shown = snapshot_version;
                Ok(ts)
            }
            Err(ShowError { error, unsaved }) => {
                if let Some(lines) = unsaved {
                    self.restore(lines);
                }
                flushed.failed = snapshot_version;
                Err(error)
            }
        }
    }

    /// Put back lines a failed flush took; lines added since then are newer and win.
    fn restore(&self, lines: Vec<DigestEntry>) {
        let mut pending = self.pending();
        let newer = std::mem::replace(&mut pending.unsaved, lines);
        for entry in newer {
            upsert_line(&mut pending.unsaved, entry);
        }
    }

    /// Post the digest (its first flush) or save the new lines and update it in place.
    async fn show<S: DigestStore + ?Sized>(
        &self,
        mut record: DigestRecord,
        lines: Vec<DigestEntry>,
        slack: &dyn Messenger,
        store: &Blocking<S>,
    ) -> Result<String, ShowError> {
        let channel = ChannelId(record.channel.clone());
        if record.ts.is_empty() {
            // Nothing is saved yet: every line of the new digest is in `lines`.
            let entries: Vec<card::DigestLine> = lines.iter().map(card_of).collect();
            let view = card::DigestView::of(&entries);
            let message = card::digest_card(&view, span(&record));
            let posted = slack
                .post(&channel, None, &message)
                .await
                .context("Failed to post the storm digest");
            let ts = match posted {
                Ok(ts) => ts.0,
                Err(error) => return Err(keep(error, lines)),
            };
            info!(channel = %record.channel, digest_ts = %ts, "Storm: notifications now fold into a digest.");
            self.pending().record.ts = ts.clone();
            record.ts = ts.clone();
            if let Err(error) = save_lines(store, &record, &lines).await {
                return Err(keep(error, lines));
            }
            return Ok(ts);
        }
        if let Err(error) = save_lines(store, &record, &lines).await {
            return Err(keep(error, lines));
        }
        let shown = show_saved(store, slack, &record.channel, &record.ts).await;
        shown.map_err(|error| ShowError {
            error,
            unsaved: None,
        })?;
        Ok(record.ts)
    }
}

fn keep(error: anyhow::Error, lines: Vec<DigestEntry>) -> ShowError {
    ShowError {
        error,
        unsaved: Some(lines),
    }
}

async fn save_lines<S: DigestStore + ?Sized>(
    store: &Blocking<S>,
    record: &DigestRecord,
    lines: &[DigestEntry],
) -> anyhow::Result<()> {
    let (record, lines) = (record.clone(), lines.to_vec());
    store
        .run(move |store| store.add_digest_lines(&record, &lines))
        .await
}

/// How long the storm has lasted, as the card's title says it.
pub(super) fn span(record: &DigestRecord) -> Duration {
    record
        .last_added
        .duration_since(record.opened_at)
        .unwrap_or_default()
        .max(Duration::from_secs(1))
}

/// Update the digest message from what the store holds: its counts and only the lines shown.
pub(super) async fn show_saved<S: DigestStore + ?Sized>(
    store: &Blocking<S>,
    slack: &dyn Messenger,
    channel: &str,
    ts: &str,
) -> anyhow::Result<()> {
    let (owned_channel, owned_ts) = (channel.to_owned(), ts.to_owned());
    let summary = store
        .run(move |store| store.digest_summary(&owned_channel, &owned_ts, MAX_LINES_SHOWN))
        .await?
        .with_context(|| format!("No digest {ts} in {channel}"))?;
    let view = card::DigestView {
        total: summary.record.line_count,
        counts: summary.counts,
        first: summary.first_lines.iter().map(card_of).collect(),
    };
    let message = card::digest_card(&view, span(&summary.record));
    slack
        .update(
            &ChannelId(channel.to_owned()),
            &MessageTs(ts.to_owned()),
            &message,
        )
        .await
        .context("Failed to update the storm digest")?;
    Ok(())
}

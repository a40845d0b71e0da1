//! Storm control: past `storm_threshold` new cards in a channel, notifications fold into one digest.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use time::OffsetDateTime;
use tracing::info;

use super::card::{self, DigestLine};
use super::key_locks::KeyLocks;
use super::{Notification, NotificationKind};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::messenger::Messenger;
use crate::store::cards::CardStore;
use crate::store::digests::{DigestEntry, DigestRecord};

/// `alarms.storm_threshold` and `alarms.storm_window`.
#[derive(Clone, Copy, Debug)]
pub struct StormSettings {
    /// More new cards than this in one channel within `window` start a digest; 0 is off.
    pub threshold: usize,
    pub window: Duration,
}

/// Decides when a channel is in a storm and keeps each channel's digest message up to date.
pub struct Storms {
    settings: StormSettings,
    slack: Arc<dyn Messenger>,
    store: Arc<dyn CardStore>,
    /// When the latest new cards arrived, per channel (at most `threshold + 1` kept).
    recent: Mutex<HashMap<String, VecDeque<SystemTime>>>,
    /// The open digest of each channel in a storm.
    open: Mutex<HashMap<String, Arc<DigestSlot>>>,
    /// For changes to digests that are no longer open.
    closed_locks: KeyLocks,
}

/// An open digest: lines are added under a short lock, and Slack is updated by whoever next holds
/// `flushed`, with every line added so far. Concurrent additions share one `chat.update`.
struct DigestSlot {
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
    record: DigestRecord,
    version: u64,
}

/// The digest entry for a notification, keyed like its card (`key`).
pub fn digest_entry(n: &Notification, key: String) -> DigestEntry {
    DigestEntry {
        key,
        name: n.name(),
        state: n.state_label().unwrap_or("INFO").to_owned(),
        at: n.occurred_at().map(SystemTime::from),
        kind: n.kind().as_str().to_owned(),
    }
}

fn render(record: &DigestRecord) -> card::RenderedCard {
    let lines: Vec<DigestLine> = record
        .lines
        .iter()
        .map(|entry| DigestLine {
            name: entry.name.clone(),
            state: entry.state.clone(),
            at: entry.at.map(OffsetDateTime::from),
            kind: NotificationKind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == entry.kind)
                .unwrap_or(NotificationKind::Other),
        })
        .collect();
    let span = record
        .last_added
        .duration_since(record.opened_at)
        .unwrap_or_default();
    card::digest(&lines, span.max(Duration::from_secs(1)))
}

impl DigestSlot {
    fn new(record: DigestRecord) -> Arc<Self> {
        Arc::new(Self {
            pending: Mutex::new(Pending { record, version: 0 }),
            flushed: tokio::sync::Mutex::default(),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn active(&self, now: SystemTime, window: Duration) -> bool {
        self.pending().record.last_added + window >= now
    }

    /// Add or replace a line; `arrived` extends the storm. Returns the version that includes it.
    fn add(&self, entry: DigestEntry, arrived: Option<SystemTime>) -> u64 {
        let mut pending = self.pending();
        pending.record.upsert(entry);
        if let Some(now) = arrived {
            pending.record.last_added = pending.record.last_added.max(now);
        }
        pending.version += 1;
        pending.version
    }

    /// Make Slack and the store show at least `version`; returns the digest's ts.
    async fn flush_through(
        &self,
        version: u64,
        slack: &dyn Messenger,
        store: &dyn CardStore,
    ) -> anyhow::Result<String> {
        let mut flushed = self.flushed.lock().await;
        let (mut snapshot, snapshot_version) = {
            let pending = self.pending();
            (pending.record.clone(), pending.version)
        };
        if flushed.shown >= version {
            return Ok(snapshot.ts);
        }
        if flushed.failed >= version {
            anyhow::bail!("The storm digest could not be updated (a shared update failed)");
        }
        let result = self.show(&mut snapshot, slack, store).await;
        match result {
            Ok(()) => flushed.shown = snapshot_version,
            Err(_) => flushed.failed = snapshot_version,
        }
        result.map(|()| snapshot.ts)
    }

    /// Post or update the digest message and save it.
    async fn show(
        &self,
        snapshot: &mut DigestRecord,
        slack: &dyn Messenger,
        store: &dyn CardStore,
    ) -> anyhow::Result<()> {
        let message = render(snapshot).message;
        let channel = ChannelId(snapshot.channel.clone());
        if snapshot.ts.is_empty() {
            let ts = slack
                .post(&channel, None, &message)
                .await
                .context("Failed to post the storm digest")?;
            info!(channel = %snapshot.channel, digest_ts = %ts.0, "Storm: notifications now fold into a digest.");
            self.pending().record.ts = ts.0.clone();
            snapshot.ts = ts.0;
        } else {
            slack
                .update(&channel, &MessageTs(snapshot.ts.clone()), &message)
                .await
                .context("Failed to update the storm digest")?;
        }
        store.save_digest(snapshot)
    }
}

impl Storms {
    pub fn new(
        settings: StormSettings,
        slack: Arc<dyn Messenger>,
        store: Arc<dyn CardStore>,
    ) -> Self {
        Self {
            settings,
            slack,
            store,
            recent: Mutex::default(),
            open: Mutex::default(),
            closed_locks: KeyLocks::default(),
        }
    }

    /// Whether a new card for `channel` arriving `now` goes into the digest instead.
    pub fn should_fold(&self, channel: &str, now: SystemTime) -> anyhow::Result<bool> {
        let StormSettings { threshold, window } = self.settings;
        if threshold == 0 {
            return Ok(false);
        }
        if self.open_slot(channel, now)?.is_some() {
            return Ok(true);
        }
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let arrivals = recent.entry(channel.to_owned()).or_default();
        arrivals.retain(|at| *at + window >= now);
        arrivals.push_back(now);
        while arrivals.len() > threshold + 1 {
            arrivals.pop_front();
        }
        Ok(arrivals.len() > threshold)
    }

    /// The channel's digest if its storm is still going, from memory or (after a restart) the store.
    fn open_slot(&self, channel: &str, now: SystemTime) -> anyhow::Result<Option<Arc<DigestSlot>>> {
        let window = self.settings.window;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = open.get(channel) {
            return Ok(slot.active(now, window).then(|| slot.clone()));
        }
        let stored = self.store.latest_digest(channel)?;
        Ok(stored
            .filter(|d| !d.closed && d.last_added + window >= now)
            .map(|record| {
                open.entry(channel.to_owned())
                    .or_insert(DigestSlot::new(record))
                    .clone()
            }))
    }

    /// Put a new notification on the channel's digest (opening one if needed) and show it in
    /// Slack. Returns the digest's ts, the thread its transitions go to.
    pub async fn fold(
        &self,
        channel: &str,
        entry: DigestEntry,
        now: SystemTime,
    ) -> anyhow::Result<String> {
        let slot = match self.open_slot(channel, now)? {
            Some(slot) => slot,
            None => {
                let fresh = DigestSlot::new(DigestRecord {
                    channel: channel.to_owned(),
                    ts: String::new(),
                    opened_at: now,
                    last_added: now,
                    closed: false,
                    lines: vec![],
                });
                let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
                match open.get(channel) {
                    // Someone opened one meanwhile.
                    Some(slot) if slot.active(now, self.settings.window) => slot.clone(),
                    _ => {
                        open.insert(channel.to_owned(), fresh.clone());
                        fresh
                    }
                }
            }
        };
        let version = slot.add(entry, Some(now));
        slot.flush_through(version, &*self.slack, &*self.store)
            .await
    }

    /// Replace a line on the digest `digest_ts` (a transition of a folded alarm).
    pub async fn update_line(
        &self,
        channel: &str,
        digest_ts: &str,
        entry: DigestEntry,
    ) -> anyhow::Result<()> {
        let open = {
            let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.get(channel)
                .filter(|slot| slot.pending().record.ts == digest_ts)
                .cloned()
        };
        if let Some(slot) = open {
            let version = slot.add(entry, None);
            slot.flush_through(version, &*self.slack, &*self.store)
                .await?;
            return Ok(());
        }
        let _guard = self.closed_locks.lock(digest_ts, channel).await;
        let mut record = self
            .store
            .digest(channel, digest_ts)?
            .with_context(|| format!("No digest {digest_ts} in {channel}"))?;
        record.upsert(entry);
        self.slack
            .update(
                &ChannelId(channel.to_owned()),
                &MessageTs(digest_ts.to_owned()),
                &render(&record).message,
            )
            .await
            .context("Failed to update the storm digest")?;
        self.store.save_digest(&record)
    }

    /// Close digests whose storm is over: post the full list in the thread when the card could not
    /// show every line. Returns how many were closed.
    pub async fn close_quiet(&self, now: SystemTime) -> anyhow::Result<usize> {
        let cutoff = now - self.settings.window;
        let mut closed = 0;
        for quiet in self.store.quiet_open_digests(cutoff)? {
            let still_open = {
                let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
                open.get(&quiet.channel).is_some_and(|slot| {
                    slot.pending().record.ts == quiet.ts && slot.active(now, self.settings.window)
                })
            };
            if still_open {
                continue;
            }
            let _guard = self.closed_locks.lock(&quiet.ts, &quiet.channel).await;
            let Some(mut record) = self.store.digest(&quiet.channel, &quiet.ts)? else {
                continue;
            };
            if let Some(full_list) = render(&record).overflow {
                self.slack
                    .post(
                        &ChannelId(record.channel.clone()),
                        Some(&MessageTs(record.ts.clone())),
                        &full_list,
                    )
                    .await
                    .context("Failed to post the storm's full list")?;
            }
            record.closed = true;
            self.store.save_digest(&record)?;
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if open
                .get(&record.channel)
                .is_some_and(|slot| slot.pending().record.ts == record.ts)
            {
                open.remove(&record.channel);
            }
            info!(channel = %record.channel, digest_ts = %record.ts, lines = record.lines.len(), "Storm over: digest closed.");
            closed += 1;
        }
        Ok(closed)
    }
}

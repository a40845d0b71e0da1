//! Storm control: past `storm_threshold` new cards in a channel, notifications fold into one digest.

mod slot;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use time::OffsetDateTime;
use tracing::{info, warn};

use self::slot::{show_saved, span, DigestSlot};
use super::key_locks::KeyLocks;
use crate::alarms::card::{self, DigestLine};
use crate::alarms::{Notification, NotificationKind};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::messenger::Messenger;
use crate::store::cards::CardStore;
use crate::store::digests::{DigestEntry, DigestRecord, DigestStore};
use crate::store::Blocking;

/// `alarms.storm_threshold`, `alarms.storm_window` and `alarms.storm_max_duration`.
#[derive(Clone, Copy, Debug)]
pub struct StormSettings {
    /// More new cards than this in one channel within `window` start a digest; 0 is off.
    pub threshold: usize,
    pub window: Duration,
    /// A digest takes no new lines once this old: the next notification starts a new digest.
    pub max_duration: Duration,
}

/// Decides when a channel is in a storm and keeps each channel's digest message up to date.
/// `S` is where digests are kept (the pipeline's `CardStore`).
pub struct Storms<S: ?Sized = dyn CardStore> {
    settings: StormSettings,
    slack: Arc<dyn Messenger>,
    /// Reached only through `Blocking::run`: SQLite calls never run on an async worker.
    store: Blocking<S>,
    /// When the latest new cards arrived, per channel (at most `threshold + 1` kept).
    recent: Mutex<HashMap<String, VecDeque<SystemTime>>>,
    /// The open digest of each channel in a storm.
    open: Mutex<HashMap<String, Arc<DigestSlot>>>,
    /// Channels whose latest stored digest was already looked up (after a restart). Every later
    /// digest of theirs is opened by this process and kept in `open`, so the store is asked once
    /// per channel, not once per new card.
    looked_up: Mutex<HashSet<String>>,
    /// For changes to digests that are no longer open.
    closed_locks: KeyLocks,
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

/// A stored line as the card shows it.
fn card_of(entry: &DigestEntry) -> DigestLine {
    DigestLine {
        name: entry.name.clone(),
        state: entry.state.clone(),
        at: entry.at.map(OffsetDateTime::from),
        kind: NotificationKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == entry.kind)
            .unwrap_or(NotificationKind::Other),
    }
}

impl<S: DigestStore + ?Sized> Storms<S> {
    pub fn new(settings: StormSettings, slack: Arc<dyn Messenger>, store: Blocking<S>) -> Self {
        Self {
            settings,
            slack,
            store,
            recent: Mutex::default(),
            open: Mutex::default(),
            looked_up: Mutex::default(),
            closed_locks: KeyLocks::default(),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<DigestSlot>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a new card for `channel` arriving `now` goes into the digest instead.
    pub async fn should_fold(&self, channel: &str, now: SystemTime) -> anyhow::Result<bool> {
        let StormSettings {
            threshold, window, ..
        } = self.settings;
        if threshold == 0 {
            return Ok(false);
        }
        if self.storming_slot(channel, now).await?.is_some() {
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

    fn looked_up_already(&self, channel: &str) -> bool {
        self.looked_up
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(channel)
    }

    /// The channel's latest digest if its storm is still going, from memory or (after a restart)
    /// the store. It may be too old to take new lines (`storm_max_duration`).
    async fn storming_slot(
        &self,
        channel: &str,
        now: SystemTime,
    ) -> anyhow::Result<Option<Arc<DigestSlot>>> {
        let window = self.settings.window;
        if let Some(slot) = self.open().get(channel) {
            return Ok(slot.storming(now, window).then(|| slot.clone()));
        }
        if self.looked_up_already(channel) {
            return Ok(None);
        }
        let owned = channel.to_owned();
        let stored = self
            .store
            .run(move |store| store.latest_digest(&owned))
            .await?;
        self.looked_up
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(channel.to_owned());
        // Another call may have loaded or opened the channel's digest meanwhile: that one wins.
        Ok(stored
            .filter(|d| !d.closed && d.last_added + window >= now)
            .map(|record| {
                self.open()
                    .entry(channel.to_owned())
                    .or_insert(DigestSlot::new(record))
                    .clone()
            }))
    }

    /// Put a new notification on the channel's digest (opening one if needed, or a new one when
    /// the digest reached `storm_max_duration`) and show it in Slack. Returns the digest's ts,
    /// the thread its transitions go to.
    pub async fn fold(
        &self,
        channel: &str,
        entry: DigestEntry,
        now: SystemTime,
    ) -> anyhow::Result<String> {
        let slot = match self.storming_slot(channel, now).await? {
            Some(slot) if slot.accepting(now, &self.settings) => slot,
            capped => {
                let fresh = DigestSlot::new(DigestRecord {
                    channel: channel.to_owned(),
                    ts: String::new(),
                    opened_at: now,
                    last_added: now,
                    closed: false,
                    line_count: 0,
                });
                let mut open = self.open();
                match open.get(channel) {
                    // Someone opened one meanwhile.
                    Some(slot) if slot.accepting(now, &self.settings) => slot.clone(),
                    _ => {
                        if let Some(old) = capped {
                            info!(channel, digest_ts = %old.ts(), max_duration = ?self.settings.max_duration,
                                "Storm digest reached alarms.storm_max_duration: a new digest starts.");
                        }
                        open.insert(channel.to_owned(), fresh.clone());
                        fresh
                    }
                }
            }
        };
        let version = slot.add(entry, Some(now));
        slot.flush_through(version, &*self.slack, &self.store).await
    }

    /// Replace a line on the digest `digest_ts` (a transition of a folded alarm).
    pub async fn update_line(
        &self,
        channel: &str,
        digest_ts: &str,
        entry: DigestEntry,
    ) -> anyhow::Result<()> {
        let open = self
            .open()
            .get(channel)
            .filter(|slot| slot.ts() == digest_ts)
            .cloned();
        if let Some(slot) = open {
            let version = slot.add(entry, None);
            slot.flush_through(version, &*self.slack, &self.store)
                .await?;
            return Ok(());
        }
        let _guard = self.closed_locks.lock(digest_ts, channel).await;
        let (owned_channel, owned_ts) = (channel.to_owned(), digest_ts.to_owned());
        let stored = self
            .store
            .run(move |store| {
                let Some(record) = store.digest(&owned_channel, &owned_ts)? else {
                    return Ok(false);
                };
                store.add_digest_lines(&record, &[entry])?;
                Ok(true)
            })
            .await?;
        if !stored {
            // Retention pruned it (it was closed long ago); its thread still gets the note.
            warn!(
                channel,
                digest_ts, "The storm digest is no longer stored: its line stays as it was."
            );
            return Ok(());
        }
        show_saved(&self.store, &*self.slack, channel, digest_ts).await
    }

    /// Close digests whose storm is over: post the full list in the thread when the card could not
    /// show every line. Returns how many were closed.
    pub async fn close_quiet(&self, now: SystemTime) -> anyhow::Result<usize> {
        let window = self.settings.window;
        let mut closed = 0;
        let cutoff = now - window;
        let quiet_digests = self
            .store
            .run(move |store| store.quiet_open_digests(cutoff))
            .await?;
        for quiet in quiet_digests {
            let still_open = self
                .open()
                .get(&quiet.channel)
                .is_some_and(|slot| slot.ts() == quiet.ts && slot.storming(now, window));
            if still_open {
                continue;
            }
            let _guard = self.closed_locks.lock(&quiet.ts, &quiet.channel).await;
            // Read once, when the storm is over: the only time the whole list is needed.
            let (channel, ts) = (quiet.channel.clone(), quiet.ts.clone());
            let stored = self
                .store
                .run(move |store| match store.digest(&channel, &ts)? {
                    Some(record) if !record.closed => {
                        let lines = store.digest_lines(&channel, &ts)?;
                        Ok(Some((record, lines)))
                    }
                    _ => Ok(None),
                })
                .await?;
            let Some((record, entries)) = stored else {
                continue;
            };
            let lines: Vec<DigestLine> = entries.iter().map(card_of).collect();
            if let Some(full_list) = card::digest(&lines, span(&record)).overflow {
                self.slack
                    .post(
                        &ChannelId(record.channel.clone()),
                        Some(&MessageTs(record.ts.clone())),
                        &full_list,
                    )
                    .await
                    .context("Failed to post the storm's full list")?;
            }
            let (channel, ts) = (record.channel.clone(), record.ts.clone());
            self.store
                .run(move |store| store.close_digest(&channel, &ts))
                .await?;
            let mut open = self.open();
            if open
                .get(&record.channel)
                .is_some_and(|slot| slot.ts() == record.ts)
            {
                open.remove(&record.channel);
            }
            info!(channel = %record.channel, digest_ts = %record.ts, lines = lines.len(), "Storm over: digest closed.");
            closed += 1;
        }
        Ok(closed)
    }
}

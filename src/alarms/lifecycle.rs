//! The card lifecycle: one card per alarm and channel, updated in place, transitions in its thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use time::OffsetDateTime;
use tracing::{debug, info};

use super::card::{self, CardOptions, CardState, RenderedCard};
use super::consumer::NotificationSink;
use super::queue::QueueMessage;
use super::routing::{RouteDecision, Routes};
use super::{parse_sqs_message, Alarm, AlarmState, Event, Notification};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::messenger::Messenger;
use crate::store::cards::{CardRecord, CardStore, Transition};

/// Lifecycle settings from `[alarms]`.
#[derive(Clone, Debug)]
pub struct LifecycleSettings {
    pub reopen_window: Duration,
    pub bedrock_enabled: bool,
    pub reporting_enabled: bool,
}

/// A card becomes flapping once it has been reopened this many times.
const FLAPPING_AFTER_REOPENS: u32 = 2;

/// Delivers notifications as cards and keeps each alarm's card true.
pub struct CardKeeper {
    slack: Arc<dyn Messenger>,
    store: Arc<dyn CardStore>,
    routes: Routes,
    settings: LifecycleSettings,
    locks: KeyLocks,
}

/// One async lock per (card key, channel), so two transitions of one alarm never interleave.
#[derive(Default)]
struct KeyLocks(Mutex<HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>>);

impl KeyLocks {
    async fn lock(&self, key: &str, channel: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() > 10_000 {
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry((key.to_owned(), channel.to_owned()))
                .or_default()
                .clone()
        };
        lock.lock_owned().await
    }
}

fn system_time(at: Option<OffsetDateTime>) -> SystemTime {
    at.map(SystemTime::from).unwrap_or_else(SystemTime::now)
}

/// What the card shows about the lifecycle, from the stored record.
pub fn card_state(record: &CardRecord) -> CardState {
    let resolved_after = match (
        record.state.as_str(),
        record.episode_started,
        record.resolved_at,
    ) {
        ("OK", Some(started), Some(resolved)) => resolved.duration_since(started).ok(),
        _ => None,
    };
    CardState {
        watchers: record.watchers.clone(),
        episode_started: record.episode_started.map(OffsetDateTime::from),
        resolved_after,
        flapping: record.reopen_count >= FLAPPING_AFTER_REOPENS,
        reopen_count: record.reopen_count,
    }
}

impl CardKeeper {
    pub fn new(
        slack: Arc<dyn Messenger>,
        store: Arc<dyn CardStore>,
        routes: Routes,
        settings: LifecycleSettings,
    ) -> Self {
        Self {
            slack,
            store,
            routes,
            settings,
            locks: KeyLocks::default(),
        }
    }

    pub fn options(&self, decision: &RouteDecision) -> CardOptions {
        CardOptions {
            mention: decision.mention.clone(),
            runbook_url: decision.runbook_url.clone(),
            bedrock_enabled: self.settings.bedrock_enabled,
            reporting_enabled: self.settings.reporting_enabled,
        }
    }

    /// Deliver one SQS message to every channel its route names; each channel at most once.
    pub async fn deliver_message(&self, message: &QueueMessage) -> anyhow::Result<()> {
        let n = parse_sqs_message(&message.body, &message.attributes);
        let decision = self.routes.route(&n);
        let mut first_error = None;
        for channel in &decision.channels {
            if self.store.was_delivered(&n.message_id, channel)? {
                debug!(message_id = %n.message_id, channel, "Already delivered; skipping the redelivery.");
                continue;
            }
            let delivered = match &n.event {
                Event::Alarm(alarm) => self.alarm(&n, alarm, channel, &decision, message).await,
                // Pipeline cards carry 👀 Watching too, so remember where they are.
                Event::Pipeline(_) => self.watchable_card(&n, channel, &decision, message).await,
                _ => self
                    .post_card(&n, channel, &decision, &CardState::default())
                    .await
                    .map(|_| ()),
            };
            match delivered {
                Ok(()) => self
                    .store
                    .mark_delivered(&n.message_id, channel, SystemTime::now())?,
                Err(e) => {
                    first_error.get_or_insert(
                        e.context(format!("Failed to deliver {} to {channel}", n.message_id)),
                    );
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn post_card(
        &self,
        n: &Notification,
        channel: &str,
        decision: &RouteDecision,
        state: &CardState,
    ) -> anyhow::Result<MessageTs> {
        let RenderedCard { message, overflow } = card::card(n, state, &self.options(decision));
        let channel = ChannelId(channel.to_owned());
        let ts = self
            .slack
            .post(&channel, None, &message)
            .await
            .context("Failed to post the card")?;
        if let Some(overflow) = overflow {
            self.slack
                .post(&channel, Some(&ts), &overflow)
                .await
                .context("Failed to post the card's full text")?;
        }
        Ok(ts)
    }

    /// A card without a lifecycle that can still be watched: one record per card.
    async fn watchable_card(
        &self,
        n: &Notification,
        channel: &str,
        decision: &RouteDecision,
        message: &QueueMessage,
    ) -> anyhow::Result<()> {
        let now = system_time(n.occurred_at());
        let mut record = CardRecord {
            alarm_key: card::card_key(n),
            channel: channel.to_owned(),
            root_ts: String::new(),
            state: n.state_label().unwrap_or_default().to_owned(),
            last_change: now,
            episode_started: None,
            resolved_at: None,
            reopen_count: 0,
            watchers: vec![],
            nudged: false,
            last_body: message.body.clone(),
            last_attributes: message.attributes.clone(),
        };
        let _guard = self.locks.lock(&record.alarm_key, channel).await;
        record.root_ts = self
            .post_card(n, channel, decision, &CardState::default())
            .await?
            .0;
        self.store.save_card(&record)
    }

    async fn alarm(
        &self,
        n: &Notification,
        alarm: &Alarm,
        channel: &str,
        decision: &RouteDecision,
        message: &QueueMessage,
    ) -> anyhow::Result<()> {
        // Cards are keyed like their buttons' values (the alarm key, hashed if over Slack's limit).
        let key = card::card_key(n);
        let _guard = self.locks.lock(&key, channel).await;
        let at = system_time(alarm.changed_at);
        let state = alarm.state.to_string();
        let existing = self.store.card(&key, channel)?;
        let reopen_expired = |card: &CardRecord| {
            card.state == "OK"
                && card
                    .resolved_at
                    .is_some_and(|resolved| at > resolved + self.settings.reopen_window)
        };
        match existing {
            Some(card) if at < card.last_change => {
                info!(alarm = %key, channel, state, "Ignoring a notification older than the card's state.");
                Ok(())
            }
            Some(card) if !(alarm.state == AlarmState::Alarm && reopen_expired(&card)) => {
                self.transition(n, alarm, card, at, decision, message).await
            }
            _ => {
                let mut record = CardRecord {
                    alarm_key: key.clone(),
                    channel: channel.to_owned(),
                    root_ts: String::new(),
                    state: state.clone(),
                    last_change: at,
                    episode_started: (alarm.state == AlarmState::Alarm).then_some(at),
                    resolved_at: (alarm.state == AlarmState::Ok).then_some(at),
                    reopen_count: 0,
                    watchers: vec![],
                    nudged: false,
                    last_body: message.body.clone(),
                    last_attributes: message.attributes.clone(),
                };
                record.root_ts = self
                    .post_card(n, channel, decision, &card_state(&record))
                    .await?
                    .0;
                self.store.save_card(&record)?;
                self.record(&record, alarm, None, at)
            }
        }
    }

    async fn transition(
        &self,
        n: &Notification,
        alarm: &Alarm,
        mut card: CardRecord,
        at: SystemTime,
        decision: &RouteDecision,
        message: &QueueMessage,
    ) -> anyhow::Result<()> {
        let previous = card.state.clone();
        let state = alarm.state.to_string();
        let changed = previous != state;
        if changed {
            match alarm.state {
                AlarmState::Alarm => {
                    if previous == "OK" {
                        card.reopen_count += 1;
                    }
                    card.episode_started = Some(at);
                    card.resolved_at = None;
                    card.nudged = false;
                }
                AlarmState::Ok => card.resolved_at = Some(at),
                AlarmState::InsufficientData => {}
            }
            card.state = state;
            card.last_change = at;
        }
        card.last_body = message.body.clone();
        card.last_attributes = message.attributes.clone();
        let view = card_state(&card);
        let rendered = card::card(n, &view, &self.options(decision));
        let channel = ChannelId(card.channel.clone());
        let root = MessageTs(card.root_ts.clone());
        self.slack
            .update(&channel, &root, &rendered.message)
            .await
            .context("Failed to update the card")?;
        if changed {
            let note = card::transition_note(n, previous.parse().ok(), &view);
            self.slack
                .post(&channel, Some(&root), &note)
                .await
                .context("Failed to post the transition")?;
        }
        self.store.save_card(&card)?;
        if changed {
            self.record(&card, alarm, Some(previous), at)?;
        }
        Ok(())
    }

    fn record(
        &self,
        card: &CardRecord,
        alarm: &Alarm,
        from_state: Option<String>,
        at: SystemTime,
    ) -> anyhow::Result<()> {
        self.store.record_transition(&Transition {
            alarm_key: card.alarm_key.clone(),
            channel: card.channel.clone(),
            at,
            from_state,
            to_state: card.state.clone(),
            reason: alarm.reason.clone(),
        })
    }

    /// Toggle `user` among the watchers of the card at (`channel`, `root_ts`); returns the watchers.
    /// The card must be the one at Slack's own message reference. The button's `claimed_key` is
    /// only used to wait for a card that is still being created (a click right after it appears).
    pub async fn toggle_watch(
        &self,
        channel: &str,
        root_ts: &str,
        user: &str,
        claimed_key: &str,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let key = match self.store.card_at(channel, root_ts)? {
            Some(found) => found.alarm_key,
            None => claimed_key.to_owned(),
        };
        let _guard = self.locks.lock(&key, channel).await;
        let Some(mut card) = self
            .store
            .card(&key, channel)?
            .filter(|c| c.root_ts == root_ts)
        else {
            return Ok(None);
        };
        let now_watching = !card.watchers.iter().any(|w| w == user);
        if now_watching {
            card.watchers.push(user.to_owned());
        } else {
            card.watchers.retain(|w| w != user);
        }
        let n = parse_sqs_message(&card.last_body, &card.last_attributes);
        let decision = self.routes.route(&n);
        let rendered = card::card(&n, &card_state(&card), &self.options(&decision));
        let (channel_id, root) = (
            ChannelId(card.channel.clone()),
            MessageTs(card.root_ts.clone()),
        );
        self.slack
            .update(&channel_id, &root, &rendered.message)
            .await
            .context("Failed to update the card")?;
        self.store.save_card(&card)?;
        let note = card::watch_note(user, now_watching, &card.watchers);
        self.slack
            .post(&channel_id, Some(&root), &note)
            .await
            .context("Failed to post the watch note")?;
        Ok(Some(card.watchers))
    }

    /// Post one nudge in the thread of every alarm nobody has watched for `after`. Returns how many.
    pub async fn nudge_unwatched(&self, after: Duration) -> anyhow::Result<usize> {
        let due = self.store.unwatched_alarms(SystemTime::now() - after)?;
        let mut nudged = 0;
        for found in due {
            let _guard = self.locks.lock(&found.alarm_key, &found.channel).await;
            let Some(mut card) = self.store.card(&found.alarm_key, &found.channel)? else {
                continue;
            };
            if card.nudged || !card.watchers.is_empty() || card.state != "ALARM" {
                continue;
            }
            let n = parse_sqs_message(&card.last_body, &card.last_attributes);
            let decision = self.routes.route(&n);
            let note = card::nudge(decision.mention.as_deref(), after);
            let (channel, root) = (
                ChannelId(card.channel.clone()),
                MessageTs(card.root_ts.clone()),
            );
            self.slack
                .post(&channel, Some(&root), &note)
                .await
                .context("Failed to post a nudge")?;
            card.nudged = true;
            self.store.save_card(&card)?;
            nudged += 1;
        }
        Ok(nudged)
    }
}

#[async_trait]
impl NotificationSink for CardKeeper {
    async fn deliver(&self, message: &QueueMessage) -> anyhow::Result<()> {
        self.deliver_message(message).await
    }
}

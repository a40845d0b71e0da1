//! The card lifecycle: one card per alarm and channel, updated in place, transitions in its thread.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use tracing::{debug, info};

use super::consumer::NotificationSink;
use super::key_locks::KeyLocks;
use super::queue::QueueMessage;
use super::storm::{digest_entry, StormSettings, Storms};
use crate::alarms::card::{self, CardOptions, CardState, RenderedCard};
use crate::alarms::routing::{RouteDecision, Routes};
use crate::deploys::suspect::SuspectDeploys;

mod agent_context;
mod agent_evidence;
mod deploy_links;
mod graph_card;
mod latency;
mod post;
mod records;
mod report_facts;
mod threads;
mod watch;
use crate::alarms::{parse_sqs_message, Alarm, AlarmState, Event, Notification};
use crate::slack::interaction::MessageTs;
use crate::slack::messenger::Messenger;
use crate::store::batcher::{Batcher, Gather, PendingCount};
use crate::store::cards::{
    CardRecord, CardStore, ClaimOutcome, ClaimRequest, DeliveryCommit, PostedPart, Transition,
};
use crate::store::Blocking;
use crate::telemetry::latency::Latencies;
use crate::telemetry::metrics::AlarmMetrics;
pub use graph_card::GraphShown;
use post::{Claimed, Delivery, Part};
pub use records::card_state;
use records::{new_record, system_time, transition_of};

/// Lifecycle settings from `[alarms]`.
#[derive(Clone, Debug)]
pub struct LifecycleSettings {
    pub reopen_window: Duration,
    pub bedrock_enabled: bool,
    pub reporting_enabled: bool,
    pub storm: StormSettings,
}

/// Most deliveries committed in one store transaction.
const MAX_COMMIT_BATCH: usize = 256;
/// How long the claims writer waits after a first claim for the others of its received batch
/// (submitted one after another as the batch's deliveries start), so they share a transaction.
const CLAIM_LINGER: Duration = Duration::from_micros(300);
/// Longest a delivery's commit waits for the other deliveries in progress to share its
/// transaction (see `Gather::Pending`). It delays only the SQS delete, never the Slack post.
const COMMIT_LINGER: Duration = Duration::from_millis(3);

/// Delivers notifications as cards and keeps each alarm's card true.
pub struct CardKeeper {
    slack: Arc<dyn Messenger>,
    /// Reached only through `Blocking::run`: SQLite calls never run on an async worker.
    store: Blocking<dyn CardStore>,
    routes: Routes,
    settings: LifecycleSettings,
    locks: KeyLocks,
    storms: Storms,
    /// The store's writer for deliveries (see `commit`).
    commits: Batcher<DeliveryCommit, ()>,
    /// Deliveries in progress, whose commits the writer waits for to share a transaction.
    in_progress: PendingCount,
    /// The store's writer for claims: concurrent claims share one transaction (see `post.rs`).
    claims: Batcher<ClaimRequest, ClaimOutcome>,
    /// The store's writer for posts of deliveries in progress (see `post.rs`).
    progress: Batcher<PostedPart, ()>,
    /// With deploys on: which deploy a firing alarm points at (⏪ Roll back, `deploy_links.rs`).
    suspects: Option<Arc<SuspectDeploys>>,
    /// Where delivery latencies go (`latency.rs`).
    latencies: Latencies,
    /// Posted, updated, folded, deduplicated (`with_metrics`; on no registry until then).
    metrics: AlarmMetrics,
    /// With `alarms.graphs`: where the shown cards' graphs are queued (`graph_card.rs`).
    graphs: Option<super::graphs::GraphQueue>,
}

impl CardKeeper {
    pub fn new(
        slack: Arc<dyn Messenger>,
        store: Blocking<dyn CardStore>,
        routes: Routes,
        settings: LifecycleSettings,
        suspects: Option<Arc<SuspectDeploys>>,
    ) -> anyhow::Result<Self> {
        // The group-commit threads may block: they hold the store itself.
        let writer = store.for_blocking_thread();
        let in_progress = PendingCount::default();
        let gather = in_progress.gather(COMMIT_LINGER);
        let commits = Batcher::spawn("store-cards", MAX_COMMIT_BATCH, gather, move |batch| {
            writer.commit_deliveries(batch)?;
            Ok(vec![(); batch.len()])
        })?;
        let writer = store.for_blocking_thread();
        let progress = Batcher::spawn(
            "store-progress",
            MAX_COMMIT_BATCH,
            Gather::Queued,
            move |batch| {
                writer.record_posts(batch)?;
                Ok(vec![(); batch.len()])
            },
        )?;
        let writer = store.for_blocking_thread();
        let claims = Batcher::spawn(
            "store-claims",
            MAX_COMMIT_BATCH,
            Gather::Linger(CLAIM_LINGER),
            move |batch| writer.claim_deliveries(batch),
        )?;
        Ok(Self {
            commits,
            in_progress,
            claims,
            progress,
            storms: Storms::new(settings.storm, slack.clone(), store.clone()),
            slack,
            store,
            routes,
            settings,
            locks: KeyLocks::default(),
            suspects,
            latencies: Latencies::default(),
            metrics: AlarmMetrics::unregistered(),
            graphs: None,
        })
    }

    /// Record each delivery's latencies (`StateChangeTime` and SQS-visible → shown) there.
    pub fn with_latencies(mut self, latencies: Latencies) -> Self {
        self.latencies = latencies;
        self
    }

    /// Count what each delivery did on `metrics`.
    pub fn with_metrics(self, metrics: AlarmMetrics) -> Self {
        Self { metrics, ..self }
    }

    pub fn options(&self, decision: &RouteDecision) -> CardOptions {
        CardOptions {
            mention: decision.mention.clone(),
            runbook_url: decision.runbook_url.clone(),
            bedrock_enabled: self.settings.bedrock_enabled,
            reporting_enabled: self.settings.reporting_enabled,
            rollback_to: None,
            actions: decision.actions.clone(),
        }
    }

    /// Deliver one SQS message to every channel its route names; each channel at most once: every
    /// kind of notification claims its (message, channel) under its card's lock before posting.
    pub async fn deliver_message(&self, message: &QueueMessage) -> anyhow::Result<()> {
        let _in_progress = self.in_progress.start();
        let n = parse_sqs_message(&message.body, &message.attributes);
        // The consumer's span for this message (if any) shows the card key from here on.
        let span = tracing::Span::current();
        if !span.is_disabled() {
            span.record("card", card::card_key(&n).as_str());
        }
        let decision = self.routes.route(&n);
        let mut first_error = None;
        for channel in &decision.channels {
            let delivered = match &n.event {
                Event::Alarm(alarm) => self.alarm(&n, alarm, channel, &decision, message).await,
                // One card per pipeline execution or custom thread; the rest go to its thread.
                Event::Pipeline(_) | Event::Custom(_) => {
                    self.threaded_card(&n, channel, &decision, message).await
                }
                _ => self.one_off_card(&n, channel, &decision, message).await,
            };
            if let Err(e) = delivered {
                first_error.get_or_insert(
                    e.context(format!("Failed to deliver {} to {channel}", n.message_id)),
                );
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn post_card(
        &self,
        n: &Notification,
        delivery: &Delivery,
        options: &CardOptions,
        state: &CardState,
    ) -> anyhow::Result<MessageTs> {
        let rendered = card::card(n, state, options);
        self.post_rendered(
            delivery,
            (Part::Card, Part::CardFullText),
            None,
            rendered,
            false,
        )
        .await
        .context("Failed to post the card")
    }

    /// Show a new card: a line on the channel's storm digest while it is in a storm, else a post
    /// of its own. Sets the record's root (the digest's ts when folded).
    async fn show_new_card(
        &self,
        n: &Notification,
        record: &mut CardRecord,
        delivery: &Delivery,
        decision: &RouteDecision,
    ) -> anyhow::Result<()> {
        let arrived = SystemTime::now();
        if self.storms.should_fold(&record.channel, arrived).await? {
            let entry = digest_entry(n, record.alarm_key.clone());
            record.root_ts = self.storms.fold(&record.channel, entry, arrived).await?;
            record.in_digest = true;
            self.metrics.folded.inc();
        } else {
            let state = card_state(record);
            let options = self.card_options(decision, record).await;
            record.root_ts = self.post_card(n, delivery, &options, &state).await?.0;
            self.metrics.posted.inc();
        }
        Ok(())
    }

    /// A notification without a lifecycle: its own card, or a line on the storm digest.
    async fn one_off_card(
        &self,
        n: &Notification,
        channel: &str,
        decision: &RouteDecision,
        message: &QueueMessage,
    ) -> anyhow::Result<()> {
        let _guard = self.locks.lock(&card::card_key(n), channel).await;
        let Some(Claimed { delivery, .. }) = self.claim(n, channel, None).await? else {
            return self.already_delivered(n, channel);
        };
        let arrived = SystemTime::now();
        if self.storms.should_fold(channel, arrived).await? {
            let entry = digest_entry(n, n.message_id.clone());
            self.storms.fold(channel, entry, arrived).await?;
            self.metrics.folded.inc();
        } else {
            let options = self.options(decision);
            self.post_card(n, &delivery, &options, &CardState::default())
                .await?;
            self.metrics.posted.inc();
        }
        self.shown(n, message);
        self.commit(n, channel, None, None).await
    }

    /// Close storm digests whose storm is over (see `Storms::close_quiet`).
    pub async fn close_quiet_storms(&self) -> anyhow::Result<usize> {
        self.storms.close_quiet(SystemTime::now()).await
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
        let Some(Claimed {
            delivery,
            card: existing,
        }) = self.claim(n, channel, Some(&key)).await?
        else {
            return self.already_delivered(n, channel);
        };
        let at = system_time(alarm.changed_at);
        let state = alarm.state.to_string();
        let reopen_expired = |card: &CardRecord| {
            card.state == "OK"
                && card
                    .resolved_at
                    .is_some_and(|resolved| at > resolved + self.settings.reopen_window)
        };
        match existing {
            Some(card) if at < card.last_change => {
                info!(alarm = %key, channel, state, "Ignoring a notification older than the card's state.");
                self.commit(n, channel, None, None).await
            }
            Some(card) if !(alarm.state == AlarmState::Alarm && reopen_expired(&card)) => {
                self.transition(n, alarm, card, at, decision, message, &delivery)
                    .await
            }
            _ => {
                let mut record = new_record(key.clone(), channel, state.clone(), at, message);
                record.episode_started = (alarm.state == AlarmState::Alarm).then_some(at);
                record.resolved_at = (alarm.state == AlarmState::Ok).then_some(at);
                self.show_new_card(n, &mut record, &delivery, decision)
                    .await?;
                self.shown(n, message);
                let transition = transition_of(&record, alarm, None, at);
                let graph = self.graph_job(n, &record);
                self.commit(n, channel, Some(record), Some(transition))
                    .await?;
                self.queue_graph(graph); // after the commit: the card is in the store
                Ok(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        n: &Notification,
        alarm: &Alarm,
        mut card: CardRecord,
        at: SystemTime,
        decision: &RouteDecision,
        message: &QueueMessage,
        delivery: &Delivery,
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
        let view = card_state(&card);
        let root = MessageTs(card.root_ts.clone());
        let full_text_posted = if card.in_digest {
            let entry = digest_entry(n, card.alarm_key.clone());
            self.storms
                .update_line(&card.channel, &card.root_ts, entry)
                .await?;
            self.metrics.folded.inc();
            false
        } else {
            self.update_card(n, &card, &view, decision, delivery, changed)
                .await?
        };
        card.last_body = message.body.clone();
        card.last_attributes = message.attributes.clone();
        if changed {
            let before = previous.parse().ok();
            let note = if card.in_digest {
                card::digest_transition_note(n, before, &view)
            } else {
                card::transition_note(n, before, &view)
            };
            self.post_note(delivery, &root, note, full_text_posted)
                .await
                .context("Failed to post the transition")?;
        }
        self.shown(n, message);
        let transition = changed.then(|| transition_of(&card, alarm, Some(previous), at));
        let graph = changed.then(|| self.graph_job(n, &card)).flatten();
        let channel = card.channel.clone();
        self.commit(n, &channel, Some(card), transition).await?;
        self.queue_graph(graph); // each transition gets its own graph
        Ok(())
    }

    /// Update the card (`card` still holds the previous notification) to show `n`; if the new
    /// rendering cut text that the previous one did not, post the full text in its thread. True
    /// if it did. `more_follows`: another post of this delivery comes after.
    async fn update_card(
        &self,
        n: &Notification,
        card: &CardRecord,
        view: &CardState,
        decision: &RouteDecision,
        delivery: &Delivery,
        more_follows: bool,
    ) -> anyhow::Result<bool> {
        let options = self.card_options(decision, card).await;
        let RenderedCard { message, overflow } = card::card(n, view, &options);
        let root = MessageTs(card.root_ts.clone());
        self.slack
            .update(&delivery.channel, &root, &message)
            .await
            .context("Failed to update the card")?;
        self.metrics.updated.inc();
        let Some(overflow) = overflow else {
            return Ok(false);
        };
        let shown = parse_sqs_message(&card.last_body, &card.last_attributes);
        if card::card(&shown, view, &options).overflow.as_ref() == Some(&overflow) {
            return Ok(false); // The thread already has this full text.
        }
        self.post_part(
            delivery,
            Part::CardFullText,
            Some(&root),
            overflow,
            more_follows,
        )
        .await
        .context("Failed to post the card's full text")?;
        Ok(true)
    }

    /// Post a note in the card's thread and, if it cut its text, the full text after it, unless
    /// the card's full text (which holds every text the card cut, and the card cuts sooner than a
    /// note) was just posted there.
    async fn post_note(
        &self,
        delivery: &Delivery,
        root: &MessageTs,
        note: RenderedCard,
        card_full_text_posted: bool,
    ) -> anyhow::Result<MessageTs> {
        let note = RenderedCard {
            overflow: note.overflow.filter(|_| !card_full_text_posted),
            ..note
        };
        self.post_rendered(
            delivery,
            (Part::Note, Part::NoteFullText),
            Some(root),
            note,
            false,
        )
        .await
    }

    /// Record the delivery of `n` to `channel`, with the card and transition it produced, in one
    /// transaction shared with concurrent deliveries (a group commit on the store's writer).
    async fn commit(
        &self,
        n: &Notification,
        channel: &str,
        card: Option<CardRecord>,
        transition: Option<Transition>,
    ) -> anyhow::Result<()> {
        self.commits
            .submit(DeliveryCommit {
                message_id: n.message_id.clone(),
                channel: channel.to_owned(),
                delivered_at: SystemTime::now(),
                card,
                transition,
            })
            .await
    }
}

impl CardKeeper {
    fn already_delivered(&self, n: &Notification, channel: &str) -> anyhow::Result<()> {
        self.metrics.deduplicated.inc();
        debug!(message_id = %n.message_id, channel, "Already delivered; skipping the redelivery.");
        Ok(())
    }
}

#[async_trait]
impl NotificationSink for CardKeeper {
    async fn deliver(&self, message: &QueueMessage) -> anyhow::Result<()> {
        self.deliver_message(message).await
    }
}

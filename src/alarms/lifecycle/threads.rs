//! Notifications that share one card and thread: a pipeline execution, a custom `threadId`.

use std::time::SystemTime;

use anyhow::Context;

use super::{card_state, system_time, CardKeeper};
use crate::alarms::card::{self, CardState, RenderedCard};
use crate::alarms::queue::QueueMessage;
use crate::alarms::routing::RouteDecision;
use crate::alarms::storm::digest_entry;
use crate::alarms::{Event, Notification};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::store::cards::CardRecord;

impl CardKeeper {
    /// The first notification of a thread gets a card (or a storm digest line) that can be
    /// watched. Later ones never open a second card: a pipeline's card is updated in place and the
    /// change noted in its thread; a custom notification is posted whole in the thread, as AWS
    /// Chatbot does with `metadata.threadId`.
    pub(super) async fn threaded_card(
        &self,
        n: &Notification,
        channel: &str,
        decision: &RouteDecision,
        message: &QueueMessage,
    ) -> anyhow::Result<()> {
        let key = card::card_key(n);
        let _guard = self.locks.lock(&key, channel).await;
        match self.store.card(&key, channel)? {
            Some(card) => self.follow_up(n, card, decision, message).await,
            None => {
                let mut record = CardRecord {
                    alarm_key: key,
                    channel: channel.to_owned(),
                    root_ts: String::new(),
                    state: n.state_label().unwrap_or_default().to_owned(),
                    last_change: system_time(n.occurred_at()),
                    episode_started: None,
                    resolved_at: None,
                    reopen_count: 0,
                    watchers: vec![],
                    nudged: false,
                    last_body: message.body.clone(),
                    last_attributes: message.attributes.clone(),
                    in_digest: false,
                };
                let arrived = SystemTime::now();
                if self.storms.should_fold(channel, arrived)? {
                    let entry = digest_entry(n, record.alarm_key.clone());
                    record.root_ts = self.storms.fold(channel, entry, arrived).await?;
                    record.in_digest = true;
                } else {
                    record.root_ts = self
                        .post_card(n, channel, decision, &CardState::default())
                        .await?
                        .0;
                }
                self.commit(n, channel, Some(record), None).await
            }
        }
    }

    async fn follow_up(
        &self,
        n: &Notification,
        mut card: CardRecord,
        decision: &RouteDecision,
        message: &QueueMessage,
    ) -> anyhow::Result<()> {
        let at = system_time(n.occurred_at());
        // SQS does not keep order: an older notification is noted, but never shown on the card.
        let newer = at >= card.last_change;
        if newer {
            card.state = n.state_label().unwrap_or_default().to_owned();
            card.last_change = at;
            card.last_body = message.body.clone();
            card.last_attributes = message.attributes.clone();
        }
        let (channel, root) = (
            ChannelId(card.channel.clone()),
            MessageTs(card.root_ts.clone()),
        );
        let view = card_state(&card);
        match &n.event {
            Event::Pipeline(_) => {
                if newer && card.in_digest {
                    let entry = digest_entry(n, card.alarm_key.clone());
                    self.storms
                        .update_line(&card.channel, &card.root_ts, entry)
                        .await?;
                } else if newer {
                    let rendered = card::card(n, &view, &self.options(decision));
                    self.slack
                        .update(&channel, &root, &rendered.message)
                        .await
                        .context("Failed to update the pipeline card")?;
                }
                let note = if card.in_digest {
                    card::digest_transition_note(n, None, &view)
                } else {
                    card::transition_note(n, None, &view)
                };
                self.slack
                    .post(&channel, Some(&root), &note)
                    .await
                    .context("Failed to post the pipeline change")?;
            }
            _ => {
                let RenderedCard { message, overflow } =
                    card::card(n, &CardState::default(), &self.options(decision));
                for part in std::iter::once(message).chain(overflow) {
                    self.slack
                        .post(&channel, Some(&root), &part)
                        .await
                        .context("Failed to post in the notification's thread")?;
                }
            }
        }
        let channel = card.channel.clone();
        self.commit(n, &channel, Some(card), None).await
    }
}

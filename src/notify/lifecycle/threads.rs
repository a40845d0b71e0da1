//! Notifications that share one card and thread: a pipeline execution, a custom `threadId`.

use anyhow::Context;

use super::post::{Claimed, Delivery, Part};
use super::{card_state, new_record, system_time, CardKeeper};
use crate::alarms::card::{self, CardState};
use crate::alarms::routing::RouteDecision;
use crate::alarms::{Event, Notification};
use crate::notify::queue::QueueMessage;
use crate::notify::storm::digest_entry;
use crate::slack::interaction::MessageTs;
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
        let Some(Claimed { delivery, card }) = self.claim(n, channel, Some(&key)).await? else {
            return self.already_delivered(n, channel);
        };
        match card {
            Some(card) => self.follow_up(n, card, decision, message, &delivery).await,
            None => {
                let state = n.state_label().unwrap_or_default().to_owned();
                let at = system_time(n.occurred_at());
                let mut record = new_record(key, channel, state, at, message);
                self.show_new_card(n, &mut record, &delivery, decision)
                    .await?;
                self.shown(n, message);
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
        delivery: &Delivery,
    ) -> anyhow::Result<()> {
        let at = system_time(n.occurred_at());
        // SQS does not keep order: an older notification is noted, but never shown on the card.
        let newer = at >= card.last_change;
        if newer {
            card.state = n.state_label().unwrap_or_default().to_owned();
            card.last_change = at;
        }
        let root = MessageTs(card.root_ts.clone());
        let view = card_state(&card);
        match &n.event {
            Event::Pipeline(_) => {
                let mut full_text_posted = false;
                if newer && card.in_digest {
                    let entry = digest_entry(n, card.alarm_key.clone());
                    self.storms
                        .update_line(&card.channel, &card.root_ts, entry)
                        .await?;
                    self.metrics.folded.inc();
                } else if newer {
                    full_text_posted = self
                        .update_card(n, &card, &view, decision, delivery, true)
                        .await
                        .context("Failed to update the pipeline card")?;
                }
                let note = if card.in_digest {
                    card::digest_transition_note(n, None, &view)
                } else {
                    card::transition_note(n, None, &view)
                };
                self.post_note(delivery, &root, note, full_text_posted)
                    .await
                    .context("Failed to post the pipeline change")?;
            }
            _ => {
                let rendered = card::card(n, &CardState::default(), &self.options(decision));
                self.post_rendered(
                    delivery,
                    (Part::Card, Part::CardFullText),
                    Some(&root),
                    rendered,
                    false,
                )
                .await
                .context("Failed to post in the notification's thread")?;
                self.metrics.posted.inc();
            }
        }
        self.shown(n, message);
        if newer {
            card.last_body = message.body.clone();
            card.last_attributes = message.attributes.clone();
        }
        let channel = card.channel.clone();
        self.commit(n, &channel, Some(card), None).await
    }
}

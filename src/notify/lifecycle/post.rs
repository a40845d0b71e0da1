//! Exactly-once posting: a delivery is claimed under its card's lock before its first post, and
//! each post is named, recorded and carries a client-side id, so a redelivery completes only what
//! is missing and a post whose answer was lost is found instead of posted again.

use std::time::SystemTime;

use anyhow::Context;

use super::CardKeeper;
use crate::alarms::card::RenderedCard;
use crate::alarms::Notification;
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::{Message, PostId};
use crate::store::cards::{
    CardRecord, ClaimOutcome, ClaimRequest, DeliveryProgress, DeliveryState, PostedPart,
};

/// One claimed delivery of a notification to a channel, and what an earlier attempt posted.
pub(super) struct Delivery {
    pub message_id: String,
    pub channel: ChannelId,
    /// Set when an earlier attempt claimed this delivery and did not commit.
    earlier: Option<DeliveryProgress>,
}

/// A claimed delivery, and the card it changes as the store held it when claimed.
pub(super) struct Claimed {
    pub delivery: Delivery,
    pub card: Option<CardRecord>,
}

/// The posts a delivery can make; each is posted at most once per (message, channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// The card (or a custom notification posted whole in its thread).
    Card,
    /// The full text of everything the card cut.
    CardFullText,
    /// A transition or pipeline note in the card's thread.
    Note,
    /// The full text the note cut.
    NoteFullText,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Card => "card",
            Part::CardFullText => "card-full",
            Part::Note => "note",
            Part::NoteFullText => "note-full",
        }
    }
}

impl CardKeeper {
    /// Claim the delivery of `n` to `channel`; `None` if it was already delivered. Call it while
    /// holding the card's lock, so copies of one message never post side by side. With
    /// `card_key`, the card of (`card_key`, `channel`) is read in the same store call.
    pub(super) async fn claim(
        &self,
        n: &Notification,
        channel: &str,
        card_key: Option<&str>,
    ) -> anyhow::Result<Option<Claimed>> {
        let ClaimOutcome { state, card } = self
            .claims
            .submit(ClaimRequest {
                message_id: n.message_id.clone(),
                channel: channel.to_owned(),
                card_key: card_key.map(str::to_owned),
                at: SystemTime::now(),
            })
            .await
            .context("Failed to claim the delivery")?;
        let earlier = match state {
            DeliveryState::Delivered => return Ok(None),
            DeliveryState::Claimed(progress) => Some(progress),
            DeliveryState::New => None,
        };
        let delivery = Delivery {
            message_id: n.message_id.clone(),
            channel: ChannelId(channel.to_owned()),
            earlier,
        };
        Ok(Some(Claimed { delivery, card }))
    }

    /// Post `message` as `part` of the delivery, unless an earlier attempt did. `record`: more
    /// Slack calls follow in this delivery, so the ts is recorded at once (the last post is
    /// recorded by the delivery's commit).
    pub(super) async fn post_part(
        &self,
        delivery: &Delivery,
        part: Part,
        thread: Option<&MessageTs>,
        message: Message,
        record: bool,
    ) -> anyhow::Result<MessageTs> {
        if let Some(ts) = delivery
            .earlier
            .as_ref()
            .and_then(|earlier| earlier.posts.get(part.name()))
        {
            return Ok(MessageTs(ts.clone()));
        }
        let post_id = PostId {
            id: format!(
                "{}/{}/{}",
                delivery.message_id,
                delivery.channel.0,
                part.name()
            ),
            earlier_attempt: delivery
                .earlier
                .as_ref()
                .map(|earlier| earlier.claimed_at.unwrap_or(SystemTime::UNIX_EPOCH)),
        };
        let ts = self
            .slack
            .post(&delivery.channel, thread, &message.with_post_id(post_id))
            .await
            .with_context(|| format!("Failed to post the {}", part.name()))?;
        if record {
            self.progress
                .submit(PostedPart {
                    message_id: delivery.message_id.clone(),
                    channel: delivery.channel.0.clone(),
                    part: part.name().to_owned(),
                    ts: ts.0.clone(),
                })
                .await
                .context("Failed to record a post")?;
        }
        Ok(ts)
    }

    /// Post a rendered message and then, in its thread (or `thread`), its full text if it was
    /// cut. Returns the first post's ts.
    pub(super) async fn post_rendered(
        &self,
        delivery: &Delivery,
        (part, full_part): (Part, Part),
        thread: Option<&MessageTs>,
        rendered: RenderedCard,
        more_follows: bool,
    ) -> anyhow::Result<MessageTs> {
        let RenderedCard { message, overflow } = rendered;
        let record = more_follows || overflow.is_some();
        let ts = self
            .post_part(delivery, part, thread, message, record)
            .await?;
        if let Some(overflow) = overflow {
            let root = thread.unwrap_or(&ts).clone();
            self.post_part(delivery, full_part, Some(&root), overflow, more_follows)
                .await?;
        }
        Ok(ts)
    }
}

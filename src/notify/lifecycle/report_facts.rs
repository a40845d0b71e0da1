//! What a report is told about the alarm whose card roots a thread: the agent's view of it, every
//! transition in the store, the watchers and the console link; and the report's link on the card.

use time::OffsetDateTime;

use anyhow::Context;

use super::agent_context::alarm_thread;
use super::{card, card_state, parse_sqs_message, CardKeeper};
use crate::alarms::card::console_url;
use crate::reporting::facts::{AlarmFacts, ReportLinks, StateChange};
use crate::slack::interaction::{ChannelId, MessageTs};

impl CardKeeper {
    /// Show the thread's incident report on the card at (`channel`, `root_ts`): the card is
    /// re-rendered with the link (and keeps it on later updates). False if no card is there.
    pub async fn show_report(
        &self,
        channel: &str,
        root_ts: &str,
        url: &str,
    ) -> anyhow::Result<bool> {
        let (owned_channel, owned_root) = (channel.to_owned(), root_ts.to_owned());
        let Some(found) = self
            .store
            .run(move |store| store.card_at(&owned_channel, &owned_root))
            .await?
        else {
            return Ok(false);
        };
        let _guard = self.locks.lock(&found.alarm_key, channel).await;
        let (key, owned_channel) = (found.alarm_key.clone(), channel.to_owned());
        let Some(mut card) = self
            .store
            .run(move |store| store.card(&key, &owned_channel))
            .await?
            .filter(|c| c.root_ts == root_ts)
        else {
            return Ok(false);
        };
        if card.report_url.as_deref() == Some(url) {
            return Ok(true);
        }
        card.report_url = Some(url.to_owned());
        let n = parse_sqs_message(&card.last_body, &card.last_attributes);
        let decision = self.routes.route(&n);
        let options = self.card_options(&decision, &card).await;
        let rendered = card::card(&n, &card_state(&card), &options);
        let (channel_id, root) = (
            ChannelId(card.channel.clone()),
            MessageTs(card.root_ts.clone()),
        );
        self.slack
            .update(&channel_id, &root, &rendered.message)
            .await
            .context("Failed to show the report on the card")?;
        self.store.run(move |store| store.save_card(&card)).await?;
        Ok(true)
    }

    /// The facts of the alarm card at (`channel`, `root_ts`); `None` if no alarm card is there.
    pub async fn alarm_facts(
        &self,
        channel: &str,
        root_ts: &str,
    ) -> anyhow::Result<Option<AlarmFacts>> {
        let found = self.card_with_history(channel, root_ts).await?;
        let Some((card, transitions)) = found else {
            return Ok(None);
        };
        let Some(thread) = alarm_thread(&card, &transitions) else {
            return Ok(None);
        };
        let notification = parse_sqs_message(&card.last_body, &card.last_attributes);
        Ok(Some(AlarmFacts {
            thread,
            changes: transitions
                .into_iter()
                .map(|t| StateChange {
                    at: OffsetDateTime::from(t.at),
                    from: t.from_state,
                    to: t.to_state,
                    reason: t.reason,
                })
                .collect(),
            watchers: card.watchers.clone(),
            console_url: console_url(&notification),
        }))
    }
}

#[async_trait::async_trait]
impl ReportLinks for CardKeeper {
    async fn show_report(&self, channel: &str, root_ts: &str, url: &str) -> anyhow::Result<bool> {
        CardKeeper::show_report(self, channel, root_ts, url).await
    }
}

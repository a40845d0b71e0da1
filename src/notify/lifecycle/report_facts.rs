//! What a report is told about the alarm whose card roots a thread: the agent's view of it, every
//! transition in the store, the watchers and the console link.

use time::OffsetDateTime;

use super::agent_context::alarm_thread;
use super::{parse_sqs_message, CardKeeper};
use crate::alarms::card::console_url;
use crate::reporting::facts::{AlarmFacts, StateChange};

impl CardKeeper {
    /// The facts of the alarm card at (`channel`, `root_ts`); `None` if no alarm card is there.
    pub async fn alarm_facts(
        &self,
        channel: &str,
        root_ts: &str,
    ) -> anyhow::Result<Option<AlarmFacts>> {
        let (channel, root_ts) = (channel.to_owned(), root_ts.to_owned());
        let found = self
            .store
            .run(move |store| {
                let Some(card) = store.card_at(&channel, &root_ts)? else {
                    return Ok(None);
                };
                let transitions = store.transitions(&card.alarm_key, &card.channel)?;
                Ok(Some((card, transitions)))
            })
            .await?;
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

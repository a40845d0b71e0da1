//! 👀 Watching toggles and the "nobody is watching" nudge.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use async_trait::async_trait;

use super::{card, card_state, parse_sqs_message, CardKeeper};
use crate::context::AlarmCards;
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::store::cards::CardRecord;

impl CardKeeper {
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
        let (owned_channel, owned_root) = (channel.to_owned(), root_ts.to_owned());
        let found = self
            .store
            .run(move |store| store.card_at(&owned_channel, &owned_root))
            .await?;
        let key = match found {
            Some(found) => found.alarm_key,
            None => claimed_key.to_owned(),
        };
        let _guard = self.locks.lock(&key, channel).await;
        let owned_channel = channel.to_owned();
        let Some(mut card) = self
            .store
            .run(move |store| store.card(&key, &owned_channel))
            .await?
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
        let options = self.card_options(&decision, &card).await;
        let rendered = card::card(&n, &card_state(&card), &options);
        let (channel_id, root) = (
            ChannelId(card.channel.clone()),
            MessageTs(card.root_ts.clone()),
        );
        self.slack
            .update(&channel_id, &root, &rendered.message)
            .await
            .context("Failed to update the card")?;
        self.save_card(&card).await?;
        let note = card::watch_note(user, now_watching, &card.watchers);
        self.slack
            .post(&channel_id, Some(&root), &note)
            .await
            .context("Failed to post the watch note")?;
        Ok(Some(card.watchers))
    }

    /// Post one nudge in the thread of every alarm nobody has watched for `after`. Returns how many.
    pub async fn nudge_unwatched(&self, after: Duration) -> anyhow::Result<usize> {
        let started_before = SystemTime::now() - after;
        let due = self
            .store
            .run(move |store| store.unwatched_alarms(started_before))
            .await?;
        let mut nudged = 0;
        for found in due {
            let _guard = self.locks.lock(&found.alarm_key, &found.channel).await;
            let (key, channel) = (found.alarm_key.clone(), found.channel.clone());
            let card = self
                .store
                .run(move |store| store.card(&key, &channel))
                .await?;
            let Some(mut card) = card else {
                continue;
            };
            if card.nudged || !card.watchers.is_empty() || card.state != "ALARM" {
                continue;
            }
            // Nobody could press Watching before the card was there: an alarm delivered late
            // (a delayed or redriven message) is nudged `after` its card was posted.
            if shown_since(&card).is_some_and(|shown| shown > started_before) {
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
            self.save_card(&card).await?;
            nudged += 1;
        }
        Ok(nudged)
    }
}

impl CardKeeper {
    async fn save_card(&self, card: &CardRecord) -> anyhow::Result<()> {
        let card = card.clone();
        self.store.run(move |store| store.save_card(&card)).await
    }
}

#[async_trait]
impl AlarmCards for CardKeeper {
    async fn toggle_watch(
        &self,
        channel: &str,
        root_ts: &str,
        user: &str,
        claimed_key: &str,
    ) -> anyhow::Result<Option<Vec<String>>> {
        CardKeeper::toggle_watch(self, channel, root_ts, user, claimed_key).await
    }

    async fn alarm_thread(
        &self,
        channel: &str,
        root_ts: &str,
        claimed_key: Option<&str>,
    ) -> anyhow::Result<Option<crate::conversation::AlarmThread>> {
        CardKeeper::alarm_thread(self, channel, root_ts, claimed_key).await
    }

    async fn alarm_facts(
        &self,
        channel: &str,
        root_ts: &str,
    ) -> anyhow::Result<Option<crate::reporting::facts::AlarmFacts>> {
        CardKeeper::alarm_facts(self, channel, root_ts).await
    }
}

/// Since when the card has shown this ALARM episode: the later of the episode's start and the
/// card's post (a Slack ts is the post's wall-clock time). `None` without an episode.
fn shown_since(card: &CardRecord) -> Option<SystemTime> {
    let episode = card.episode_started?;
    let posted = ts_time(&card.root_ts);
    Some(posted.map_or(episode, |posted| posted.max(episode)))
}

/// A Slack ts (`1700000000.000100`) as a time.
fn ts_time(ts: &str) -> Option<SystemTime> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = micros.parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_posted_after_its_episode_began_counts_from_its_post() {
        let episode = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut card = CardRecord {
            alarm_key: "k".into(),
            channel: "C1".into(),
            root_ts: "1700003600.000250".into(),
            state: "ALARM".into(),
            last_change: episode,
            episode_started: Some(episode),
            resolved_at: None,
            reopen_count: 0,
            watchers: vec![],
            nudged: false,
            last_body: String::new(),
            last_attributes: Default::default(),
            in_digest: false,
            report_url: None,
        };
        let posted = UNIX_EPOCH + Duration::from_micros(1_700_003_600_000_250);
        assert_eq!(shown_since(&card), Some(posted));
        // Reopened later on the same card: the episode is the later time.
        let reopened = posted + Duration::from_secs(600);
        card.episode_started = Some(reopened);
        assert_eq!(shown_since(&card), Some(reopened));
        card.root_ts = "not-a-ts".into();
        assert_eq!(shown_since(&card), Some(reopened));
        card.episode_started = None;
        assert_eq!(shown_since(&card), None);
    }
}

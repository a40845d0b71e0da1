//! Deploys ↔ alarms: the cards' firing alarms and button links for deploys (`FiringAlarms`), and
//! the ⏪ Roll back button on the card of an alarm that fired just after a deploy.

use std::collections::HashSet;

use async_trait::async_trait;
use tracing::warn;

use super::{parse_sqs_message, CardKeeper};
use crate::alarms::card::CardOptions;
use crate::alarms::routing::RouteDecision;
use crate::alarms::Event;
use crate::deploys::alarm_links::{CardLink, FiringAlarm, FiringAlarms};
use crate::store::cards::CardRecord;

/// The state of a card whose alarm is firing.
const FIRING: &str = "ALARM";

impl CardKeeper {
    /// The route's card options for `card` (its state already the one to show), with the version
    /// to roll back to when its alarm is in ALARM on a route linked to an environment and fired
    /// within `deploy.suspect_window` after a deploy there. Only that case reads the store; a
    /// failed read is logged and the card goes without the button.
    pub(super) async fn card_options(
        &self,
        decision: &RouteDecision,
        card: &CardRecord,
    ) -> CardOptions {
        let mut options = self.options(decision);
        options.rollback_to = self.rollback_to(decision, card).await;
        options
    }

    async fn rollback_to(&self, decision: &RouteDecision, card: &CardRecord) -> Option<String> {
        let suspects = self.suspects.as_ref()?;
        let route = decision.route.as_deref()?;
        if card.state != FIRING || suspects.environments_of(route).is_empty() {
            return None;
        }
        let since = card.episode_started?;
        match suspects.offer(route, since).await {
            Ok(offer) => offer.map(|offer| offer.to_version),
            Err(e) => {
                warn!(alarm = %card.alarm_key, channel = %card.channel, route, error = format!("{e:#}"), "Failed to look for a suspect deploy; the card shows no rollback button.");
                None
            }
        }
    }
}

#[async_trait]
impl FiringAlarms for CardKeeper {
    /// One entry per alarm (its oldest card when it has one in several channels); a card folded
    /// into a storm digest counts, its `card_ts` the digest's.
    async fn firing_on(&self, routes: &[String]) -> anyhow::Result<Vec<FiringAlarm>> {
        if routes.is_empty() {
            return Ok(Vec::new());
        }
        let (alarm_routes, wanted) = (self.routes.clone(), routes.to_vec());
        // Parsing every firing card's notification is CPU work: it runs beside the store read.
        self.store
            .run(move |store| {
                let mut seen = HashSet::new();
                let mut firing = Vec::new();
                for card in store.cards_in_state(FIRING)? {
                    let n = parse_sqs_message(&card.last_body, &card.last_attributes);
                    let Event::Alarm(alarm) = &n.event else {
                        continue;
                    };
                    let Some(route) = alarm_routes.route(&n).route else {
                        continue;
                    };
                    if !wanted.contains(&route) || !seen.insert(card.alarm_key.clone()) {
                        continue;
                    }
                    firing.push(FiringAlarm {
                        name: alarm.name.clone(),
                        route,
                        since: card.episode_started.unwrap_or(card.last_change),
                        channel: card.channel,
                        card_ts: card.root_ts,
                    });
                }
                Ok(firing)
            })
            .await
    }

    async fn card_link(&self, channel: &str, root_ts: &str) -> anyhow::Result<Option<CardLink>> {
        let (channel, root_ts) = (channel.to_owned(), root_ts.to_owned());
        let found = self
            .store
            .run(move |store| store.card_at(&channel, &root_ts))
            .await?;
        let Some(card) = found else {
            return Ok(None);
        };
        let n = parse_sqs_message(&card.last_body, &card.last_attributes);
        let Event::Alarm(alarm) = &n.event else {
            return Ok(None);
        };
        Ok(Some(CardLink {
            alarm_key: card.alarm_key.clone(),
            alarm_name: alarm.name.clone(),
            route: self.routes.route(&n).route,
            firing_since: card.episode_started.filter(|_| card.state == FIRING),
        }))
    }
}

//! Which custom actions' buttons an alarm's card shows: those whose `routes` name the route the
//! notification took, or whose `[actions.match]` holds for it. Pure.

use super::notification::{Event, Notification};
use super::routing::Criteria;
use crate::config::ActionConfig;

/// One action that may sit on cards.
#[derive(Clone, Debug)]
struct Offer {
    name: String,
    routes: Vec<String>,
    criteria: Option<Criteria>,
}

/// The `[[actions]]` that appear on alarm cards; empty by default.
#[derive(Clone, Debug, Default)]
pub struct ActionOffers {
    offers: Vec<Offer>,
}

impl ActionOffers {
    /// The actions with `routes` or `[actions.match]` (loading checked every glob).
    pub fn new(actions: &[ActionConfig]) -> Self {
        let offers = actions
            .iter()
            .filter(|action| action.on_cards())
            .filter_map(|action| {
                let criteria = match &action.criteria {
                    Some(criteria) => Some(Criteria::new(criteria).ok()?),
                    None => None,
                };
                Some(Offer {
                    name: action.name.clone(),
                    routes: action.routes.clone(),
                    criteria,
                })
            })
            .collect();
        Self { offers }
    }

    /// The actions a card of `notification`, routed by `route`, shows (alarms only).
    pub fn offered(&self, notification: &Notification, route: Option<&str>) -> Vec<String> {
        if !matches!(notification.event, Event::Alarm(_)) {
            return Vec::new();
        }
        self.offers
            .iter()
            .filter(|offer| {
                route.is_some_and(|route| offer.routes.iter().any(|r| r == route))
                    || offer
                        .criteria
                        .as_ref()
                        .is_some_and(|c| c.matches(notification))
            })
            .map(|offer| offer.name.clone())
            .collect()
    }
}

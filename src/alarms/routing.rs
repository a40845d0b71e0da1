//! Routing: which channels a notification goes to, by the first `[[alarms.route]]` it matches.
//!
//! Pure: [`Routes`] is built once from a validated [`AlarmsConfig`] (globs compiled there) and
//! [`Routes::route`] only looks at the notification. `config::reach` finds routes that
//! can never match, which loading the configuration reports as problems.

use std::collections::BTreeMap;

use globset::GlobMatcher;

use super::notification::Notification;
use super::NotificationKind;
use crate::config::{compile_glob, AlarmsConfig, Placeholder, RouteConfig, RouteMatch};

/// Where one notification goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteDecision {
    /// The name of the route that matched; `None` when it goes to the default channel.
    pub route: Option<String>,
    /// The channels to post to, never empty.
    pub channels: Vec<String>,
    /// A user-group id to mention when an alarm goes into ALARM.
    pub mention: Option<String>,
    /// The route's runbook template, expanded with URL-encoded values.
    pub runbook_url: Option<String>,
    /// Custom actions whose button an alarm's card shows (`[[actions]]` with `routes` naming
    /// this route, or an `[actions.match]` that holds); see `action_offers.rs`.
    pub actions: Vec<String>,
}

/// Why [`Routes::new`] refused a configuration (loading the configuration rules both out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    #[error(
        "alarms.default_channel is not set: notifications no route matches have nowhere to go"
    )]
    NoDefaultChannel,
    #[error("route {route:?}: match.name {pattern:?} is not a valid glob: {reason}")]
    InvalidGlob {
        route: String,
        pattern: String,
        reason: String,
    },
}

/// The routes of `[alarms]`, ready to match.
#[derive(Clone, Debug)]
pub struct Routes {
    routes: Vec<CompiledRoute>,
    default_channel: String,
    offers: super::action_offers::ActionOffers,
}

#[derive(Clone, Debug)]
struct CompiledRoute {
    config: RouteConfig,
    name_glob: Option<GlobMatcher>,
}

impl Routes {
    /// Compiles every route's name glob once.
    pub fn new(config: &AlarmsConfig) -> Result<Routes, RoutesError> {
        let default_channel = config
            .default_channel
            .clone()
            .ok_or(RoutesError::NoDefaultChannel)?;
        let routes = config
            .routes
            .iter()
            .map(|route| {
                let name_glob =
                    match &route.criteria.name {
                        Some(pattern) => Some(compile_glob(pattern).map_err(|error| {
                            RoutesError::InvalidGlob {
                                route: route.name.clone(),
                                pattern: pattern.clone(),
                                reason: error.kind().to_string(),
                            }
                        })?),
                        None => None,
                    };
                Ok(CompiledRoute {
                    config: route.clone(),
                    name_glob,
                })
            })
            .collect::<Result<_, RoutesError>>()?;
        Ok(Routes {
            routes,
            default_channel,
            offers: Default::default(),
        })
    }

    /// The same routes, deciding also which custom actions' buttons alarm cards show.
    pub fn with_actions(self, offers: super::action_offers::ActionOffers) -> Self {
        Self { offers, ..self }
    }

    /// The first route whose every criterion holds for `notification`; else the default channel.
    pub fn route(&self, notification: &Notification) -> RouteDecision {
        let facts = Facts::of(notification);
        let Some(route) = self.routes.iter().find(|route| route.matches(&facts)) else {
            return RouteDecision {
                route: None,
                channels: vec![self.default_channel.clone()],
                mention: None,
                runbook_url: None,
                actions: self.offers.offered(notification, None),
            };
        };
        let config = &route.config;
        RouteDecision {
            route: Some(config.name.clone()),
            channels: config.channels.clone(),
            // A test alarm pages nobody, wherever it is routed.
            mention: config.mention.clone().filter(|_| !notification.is_test()),
            runbook_url: config
                .runbook
                .as_ref()
                .map(|template| template.expand(|placeholder| facts.value(placeholder))),
            actions: self.offers.offered(notification, Some(&config.name)),
        }
    }
}

/// A `[…match]` table (`[alarms.route.match]`, `[actions.match]`) ready to match.
#[derive(Clone, Debug)]
pub struct Criteria {
    criteria: RouteMatch,
    name_glob: Option<GlobMatcher>,
}

impl Criteria {
    pub fn new(criteria: &RouteMatch) -> Result<Self, globset::Error> {
        let name_glob = match &criteria.name {
            Some(pattern) => Some(compile_glob(pattern)?),
            None => None,
        };
        Ok(Self {
            criteria: criteria.clone(),
            name_glob,
        })
    }

    /// Whether every given criterion holds for `notification`, as for a route.
    pub fn matches(&self, notification: &Notification) -> bool {
        criteria_hold(
            &self.criteria,
            self.name_glob.as_ref(),
            &Facts::of(notification),
        )
    }
}

impl CompiledRoute {
    fn matches(&self, facts: &Facts<'_>) -> bool {
        criteria_hold(&self.config.criteria, self.name_glob.as_ref(), facts)
    }
}

fn criteria_hold(
    criteria: &RouteMatch,
    name_glob: Option<&GlobMatcher>,
    facts: &Facts<'_>,
) -> bool {
    let name_holds = name_glob.is_none_or(|glob| glob.is_match(&facts.name));
    name_holds
        && equal_if_given(criteria.account.as_deref(), facts.account)
        && equal_if_given(criteria.region.as_deref(), facts.region)
        && criteria.kind.is_none_or(|kind| kind == facts.kind)
        && criteria.state.as_deref().is_none_or(|state| {
            facts
                .state
                .is_some_and(|actual| actual.eq_ignore_ascii_case(state))
        })
        && attributes_hold(&criteria.attributes, facts.notification)
}

fn equal_if_given(wanted: Option<&str>, actual: Option<&str>) -> bool {
    wanted.is_none_or(|wanted| actual == Some(wanted))
}

fn attributes_hold(wanted: &BTreeMap<String, String>, notification: &Notification) -> bool {
    wanted
        .iter()
        .all(|(name, value)| notification.attribute(name) == Some(value.as_str()))
}

/// What routing looks at, taken from the notification once.
struct Facts<'n> {
    notification: &'n Notification,
    name: String,
    account: Option<&'n str>,
    region: Option<&'n str>,
    kind: NotificationKind,
    state: Option<&'n str>,
}

impl<'n> Facts<'n> {
    fn of(notification: &'n Notification) -> Self {
        Self {
            notification,
            name: notification.name(),
            account: notification.account(),
            region: notification.region(),
            kind: notification.kind(),
            state: notification.state_label(),
        }
    }

    /// A runbook placeholder's value; empty when the notification has none.
    fn value(&self, placeholder: Placeholder) -> String {
        match placeholder {
            Placeholder::Name => self.name.clone(),
            Placeholder::Account => self.account.unwrap_or_default().to_owned(),
            Placeholder::Region => self.region.unwrap_or_default().to_owned(),
            Placeholder::Kind => self.kind.as_str().to_owned(),
            Placeholder::State => self.state.unwrap_or_default().to_owned(),
        }
    }
}

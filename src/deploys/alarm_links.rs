//! What deploys need to know of alarms: which are firing on an environment's linked routes,
//! and which alarm card a ⏪ Roll back button sits on. The alarm pipeline implements the trait.

use std::time::SystemTime;

use async_trait::async_trait;

/// An alarm in ALARM on a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiringAlarm {
    pub name: String,
    pub route: String,
    pub channel: String,
    pub card_ts: String,
    /// When its current ALARM episode began.
    pub since: SystemTime,
}

/// The alarm card a button sits on, as deploys see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardLink {
    pub alarm_key: String,
    pub alarm_name: String,
    /// The route that matched it; `None` for the default channel.
    pub route: Option<String>,
    /// When its current ALARM episode began, while it is in ALARM.
    pub firing_since: Option<SystemTime>,
}

/// A rollback an alarm card offers: the environment, and the version to go back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackOffer {
    pub environment: String,
    pub to_version: String,
}

/// The alarm pipeline's cards, as deploys ask about them.
#[async_trait]
pub trait FiringAlarms: Send + Sync + 'static {
    /// Alarms in ALARM now whose card's route is one of `routes`, oldest first.
    async fn firing_on(&self, routes: &[String]) -> anyhow::Result<Vec<FiringAlarm>>;
    /// The alarm card at (`channel`, `root_ts`); `None` if no alarm card is there.
    async fn card_link(&self, channel: &str, root_ts: &str) -> anyhow::Result<Option<CardLink>>;
}

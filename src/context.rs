//! What every handler receives: the outside systems as traits, and who the bot is.

use std::sync::Arc;

use async_trait::async_trait;

use crate::aws_commands::AwsCommands;
use crate::config::CommandNames;
use crate::conversation::{AlarmThread, Conversations};
use crate::custom_actions::CustomActions;
use crate::deploys::Deploys;
use crate::health::Health;
use crate::reporting::facts::AlarmFacts;
use crate::reporting::service::Reporter;
use crate::slack::messenger::{BotIdentity, Messenger};
use crate::stats::LatencyStats;
use crate::store::{Blocking, Store};

/// Shared by all handlers. Handlers never build clients themselves.
pub struct Context {
    pub slack: Arc<dyn Messenger>,
    /// Reached only through `Blocking::run`: SQLite calls never run on an async worker.
    pub store: Blocking<dyn Store>,
    pub bot: BotIdentity,
    pub commands: CommandNames,
    /// The alarm cards, when `alarms.queue_url` is set.
    pub alarms: Option<Arc<dyn AlarmCards>>,
    /// Questions to the agent (it holds the `Agent` trait), when `[bedrock]` is set.
    pub conversations: Option<Arc<Conversations>>,
    /// Incident reports to Confluence (it holds the `Wiki` trait), when `[confluence]` is set.
    pub reports: Option<Arc<Reporter>>,
    /// Deploys through GitHub Actions (it holds the `DeployPipeline` trait), when `[deploy]` is set.
    pub deploys: Option<Arc<Deploys>>,
    /// Custom actions (`[[actions]]`, run through the AWS CLI), when any are configured.
    pub custom_actions: Option<Arc<CustomActions>>,
    /// The latency sketches behind `@bot stats` (they hold the store's `LatencySketches`).
    pub stats: Arc<LatencyStats>,
    /// The daemon's health as its parts report it (connections up, uptime), for `@bot echo`.
    pub health: Arc<Health>,
    /// `@bot aws …` (it holds the `AwsCli` trait and the audit trail), when `[aws_commands]` is set.
    pub aws: Option<Arc<AwsCommands>>,
}

/// What handlers may do to alarm cards: the narrow view of the alarm pipeline's card keeper
/// (`notify::lifecycle::CardKeeper` implements it). Defined here, not in `notify`, so handlers
/// never import the alarm pipeline and `context` sits below it.
#[async_trait]
pub trait AlarmCards: Send + Sync + 'static {
    /// Toggle `user` among the watchers of the card at (`channel`, `root_ts`), Slack's own
    /// reference to the clicked message. Returns the watchers, or `None` if no card is known
    /// there. `claimed_key` (the button's value) only names the lock to wait on while a card is
    /// still being created; it is never trusted to find the card.
    async fn toggle_watch(
        &self,
        channel: &str,
        root_ts: &str,
        user: &str,
        claimed_key: &str,
    ) -> anyhow::Result<Option<Vec<String>>>;

    /// The alarm whose card is at (`channel`, `root_ts`), as the agent is told about it (its
    /// last notification and recent transitions); `None` if no alarm card is there.
    /// `claimed_key` (a button's value) only names the lock to wait on while the card is still
    /// being recorded, as for `toggle_watch`.
    async fn alarm_thread(
        &self,
        channel: &str,
        root_ts: &str,
        claimed_key: Option<&str>,
    ) -> anyhow::Result<Option<AlarmThread>>;

    /// What a report shows of the alarm whose card is at (`channel`, `root_ts`): its context,
    /// every transition, the watchers and the console link; `None` if no alarm card is there.
    async fn alarm_facts(&self, channel: &str, root_ts: &str)
        -> anyhow::Result<Option<AlarmFacts>>;
}

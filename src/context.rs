//! What every handler receives: the outside systems as traits, and who the bot is.

use std::sync::Arc;

use crate::alarms::lifecycle::CardKeeper;
use crate::commands::CommandNames;
use crate::slack::messenger::{BotIdentity, Messenger};
use crate::store::Store;

/// Shared by all handlers. Handlers never build clients themselves.
pub struct Context {
    pub slack: Arc<dyn Messenger>,
    pub store: Arc<dyn Store>,
    pub bot: BotIdentity,
    pub commands: CommandNames,
    /// The alarm pipeline's card keeper, when `alarms.queue_url` is set.
    pub alarms: Option<Arc<CardKeeper>>,
}

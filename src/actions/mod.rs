//! Buttons and modal submissions on the bot's own messages.

use std::str::FromStr;

use tracing::warn;

use crate::context::Context;
use crate::reply::{HandlerResult, Reply};
use crate::slack::interaction::{ButtonClick, ViewSubmission};
use crate::slack::message::{Message, Mrkdwn};

/// Every button the bot puts on its messages. Alarm cards add theirs with the alarm pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ButtonAction {}

/// An `action_id` the bot did not issue (or no longer knows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAction(pub String);

impl FromStr for ButtonAction {
    type Err = UnknownAction;
    fn from_str(action_id: &str) -> Result<Self, Self::Err> {
        Err(UnknownAction(action_id.to_owned()))
    }
}

pub async fn on_button(_ctx: &Context, click: &ButtonClick) -> HandlerResult {
    match click.action_id.parse::<ButtonAction>() {
        Ok(action) => match action {},
        Err(UnknownAction(id)) => {
            warn!(action_id = %id, user = %click.user, "Click on a button the bot does not know.");
            let mut text = Mrkdwn::trusted(":warning: This button (`");
            text.push_escaped(&crate::slack::blocks::truncate(&id, 100));
            text.push("`) is not one I know, maybe from an older version of me. Nothing was done.");
            Ok(Reply::Ephemeral(Message::markdown(text)))
        }
    }
}

pub async fn on_view_submission(_ctx: &Context, view: &ViewSubmission) -> HandlerResult {
    warn!(callback_id = %view.callback_id, user = %view.user, "Submission of a view the bot does not know.");
    Err(crate::reply::HandlerError::User(format!(
        "This form ({}) is not one I know. Nothing was done.",
        view.callback_id
    )))
}

//! Buttons and modal submissions on the bot's own messages.

mod alarm_buttons;
pub mod ask_agent;
pub mod custom_action_buttons;
mod deploy_buttons;
pub mod report;

use tracing::warn;

use crate::context::Context;
use crate::reply::{HandlerResult, Reply};
use crate::slack::interaction::{ButtonClick, ViewSubmission};
use crate::slack::message::{Message, Mrkdwn};

use crate::buttons::{ActionId, UnknownAction};

pub async fn on_button(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    match click.action_id.parse::<ActionId>() {
        Ok(ActionId::AlarmWatch) => alarm_buttons::watch(ctx, click).await,
        Ok(ActionId::AlarmToBedrock) => ask_agent::ask(ctx, click).await,
        Ok(ActionId::AlarmReport) => report::click(ctx, click).await,
        Ok(ActionId::AlarmRollback) => deploy_buttons::roll_back(ctx, click).await,
        Ok(ActionId::DeployApprove) => deploy_buttons::approve(ctx, click).await,
        Ok(ActionId::DeployReject) => deploy_buttons::reject(ctx, click).await,
        Ok(ActionId::ActionRun) => custom_action_buttons::run(ctx, click).await,
        Ok(ActionId::ActionApprove) => custom_action_buttons::approve(ctx, click).await,
        Ok(ActionId::ActionReject) => custom_action_buttons::reject(ctx, click).await,
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

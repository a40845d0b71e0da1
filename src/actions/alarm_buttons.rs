//! The alarm card's buttons: 👀 Watching (and, when configured, Bedrock and Reporting).

use crate::context::Context;
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::slack::interaction::ButtonClick;

/// Toggle the clicking user among the card's watchers. The card is found from the message the
/// button sits on (Slack's own reference), never from the button's value.
pub async fn watch(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let Some(cards) = &ctx.alarms else {
        return Err(HandlerError::User(
            "Alarm cards are not enabled in this deployment.".into(),
        ));
    };
    let (Some(channel), Some(root)) = (&click.channel, &click.message_ts) else {
        return Err(HandlerError::User(
            "This button is not on an alarm card I can find.".into(),
        ));
    };
    let claimed_key = click.value.as_deref().unwrap_or_default();
    match cards.toggle_watch(&channel.0, &root.0, &click.user.0, claimed_key).await {
        // The card shows the new watcher list and the thread says who started or stopped.
        Ok(Some(_)) => Ok(Reply::Nothing),
        Ok(None) => Err(HandlerError::User(
            "I no longer track this card (it may predate my records), so I can't change its watchers.".into(),
        )),
        Err(e) => Err(HandlerError::Internal(e.context("Failed to toggle a watcher"))),
    }
}

/// A button whose integration is not configured here (from an older card, or another deployment).
pub fn not_configured(what: &str) -> HandlerResult {
    Err(HandlerError::User(format!(
        "{what} is not configured in this deployment, so this button does nothing."
    )))
}

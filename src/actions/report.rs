//! 📝 Reporting on an alarm card, and `@bot report` in a thread: the thread becomes (or updates)
//! its Confluence incident report; the link appears in the thread.

use crate::context::Context;
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::reporting::service::ReportRequest;
use crate::slack::interaction::{ChannelId, MessageTs, UserId};
use crate::slack::message::{Message, Mrkdwn};

/// Start the report of the thread rooted at (`channel`, `thread`). `claimed_key` (a button's
/// value) only names the card's lock while it is still being recorded.
pub async fn start(
    ctx: &Context,
    channel: &ChannelId,
    thread: &MessageTs,
    user: &UserId,
) -> HandlerResult {
    let Some(reporter) = &ctx.reports else {
        return super::alarm_buttons::not_configured(
            "Confluence reporting ([confluence] in bot.toml)",
        );
    };
    let alarm = match &ctx.alarms {
        Some(cards) => cards
            .alarm_facts(&channel.0, &thread.0)
            .await
            .map_err(|e| HandlerError::Internal(e.context("Failed to read the alarm card")))?,
        None => None,
    };
    let request = ReportRequest {
        channel: channel.clone(),
        thread: thread.clone(),
        user: user.clone(),
        alarm,
    };
    match reporter.start(request) {
        // The thread shows the progress and then the link.
        Ok(()) => Ok(Reply::Nothing),
        Err(busy) => Ok(Reply::Ephemeral(Message::markdown(Mrkdwn::escaped(
            &busy.to_string(),
        )))),
    }
}

/// 📝 Reporting on the card the button sits on.
pub async fn click(ctx: &Context, click: &crate::slack::interaction::ButtonClick) -> HandlerResult {
    let (Some(channel), Some(root)) = (&click.channel, &click.message_ts) else {
        return Err(HandlerError::User(
            "This button is not on an alarm card I can find.".into(),
        ));
    };
    start(ctx, channel, root, &click.user).await
}

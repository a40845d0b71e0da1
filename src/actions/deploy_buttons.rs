//! The deploy buttons: ✅ Approve and ✖ Reject on an approval card, ⏪ Roll back on an alarm
//! card. The request (or alarm) is found from the message the button sits on, never from the
//! button's value.

use crate::context::Context;
use crate::reply::{
    deploy_refusal_or_error as refusal_or_error, HandlerError, HandlerResult, Reply,
};
use crate::slack::interaction::ButtonClick;
use crate::slack::message::{Message, Mrkdwn};

/// The clicked message and the deploys, or why the click cannot be handled.
fn clicked<'a>(
    ctx: &'a Context,
    click: &'a ButtonClick,
) -> Result<(&'a crate::deploys::Deploys, &'a str, &'a str), HandlerError> {
    let Some(deploys) = ctx.deploys.as_deref() else {
        return Err(HandlerError::User(
            "Deploys are off here ([deploy] is not configured any more). Nothing was done.".into(),
        ));
    };
    match (&click.channel, &click.message_ts) {
        (Some(channel), Some(ts)) => Ok((deploys, &channel.0, &ts.0)),
        _ => Err(HandlerError::User(
            "This button is not on a message I can find. Nothing was done.".into(),
        )),
    }
}

pub async fn approve(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let (_, channel, ts) = clicked(ctx, click)?;
    let deploys = ctx.deploys.clone().expect("checked by clicked");
    match deploys.approve(channel, ts, &click.user.0).await {
        Ok(outcome) => Ok(answer(&outcome.human_message())),
        Err(e) => refusal_or_error(e),
    }
}

pub async fn reject(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let (deploys, channel, ts) = clicked(ctx, click)?;
    match deploys.reject(channel, ts, &click.user.0).await {
        Ok(outcome) => Ok(answer(&outcome.human_message())),
        Err(e) => refusal_or_error(e),
    }
}

/// ⏪ Roll back on a suspect alarm's card: a rollback request through the normal flow.
pub async fn roll_back(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let (_, channel, ts) = clicked(ctx, click)?;
    let deploys = ctx.deploys.clone().expect("checked by clicked");
    match deploys.rollback_from_alarm(channel, ts, &click.user).await {
        Ok(request) => Ok(answer(&format!(
            "Rollback of {} to {} requested; it goes on in its own thread in this channel.",
            request.environment, request.version
        ))),
        Err(e) => refusal_or_error(e),
    }
}

fn answer(text: &str) -> Reply {
    Reply::Ephemeral(Message::markdown(Mrkdwn::escaped(text)))
}

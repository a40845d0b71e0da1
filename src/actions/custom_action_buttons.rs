//! Custom action buttons: ⚙️ <action> on an alarm card (its alarm fills `{alarm.…}`), and ✅
//! Approve / ✖ Reject on an action's approval card. What was clicked is found from the message
//! the button sits on, never from the button's value.

use crate::buttons::ActionId;
use crate::context::Context;
use crate::custom_actions::{ActionError, AlarmValues, Ask, CustomActions};
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::slack::interaction::ButtonClick;
use crate::slack::message::{Message, Mrkdwn};

fn service(ctx: &Context) -> Result<&CustomActions, HandlerError> {
    ctx.custom_actions.as_deref().ok_or_else(|| {
        HandlerError::User(
            "Custom actions are not configured here any more. Nothing was done.".into(),
        )
    })
}

/// ⚙️ on an alarm card: the action asked for with the card's alarm, in the card's thread.
pub async fn run(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let actions = service(ctx)?;
    let name = ActionId::action_name(&click.action_id).unwrap_or_default();
    let (Some(channel), Some(root)) = (&click.channel, &click.message_ts) else {
        return Err(HandlerError::User(
            "This button is not on a card I can find.".into(),
        ));
    };
    if !actions
        .catalog()
        .get(name)
        .is_some_and(|a| a.config.on_cards())
    {
        return Err(HandlerError::User(format!(
            "The action {name:?} is not offered on alarm cards (any more). Nothing was run."
        )));
    }
    let Some(cards) = &ctx.alarms else {
        return Err(HandlerError::User(
            "Alarm cards are not enabled here.".into(),
        ));
    };
    let alarm = cards
        .alarm_thread(&channel.0, &root.0, click.value.as_deref())
        .await
        .map_err(|e| HandlerError::Internal(e.context("Failed to read the card's alarm")))?
        .ok_or_else(|| HandlerError::User("I no longer know the alarm of this card, so the action cannot take its values. Nothing was run.".into()))?;
    let ask = Ask {
        name,
        typed: Vec::new(),
        user: &click.user.0,
        channel,
        thread: Some(click.thread_ts.clone().unwrap_or_else(|| root.clone())),
        alarm: Some(alarm_values(&alarm.context)),
    };
    answer(actions.request(ask).await)
}

/// What an action takes from an alarm.
pub fn alarm_values(context: &crate::integrations::bedrock::AlarmContext) -> AlarmValues {
    AlarmValues {
        name: context.name.clone(),
        region: context.region.clone(),
        account: context.account.clone(),
        dimensions: context.dimensions.clone(),
    }
}

fn clicked(click: &ButtonClick) -> Result<(&str, &str), HandlerError> {
    match (&click.channel, &click.message_ts) {
        (Some(channel), Some(ts)) => Ok((&channel.0, &ts.0)),
        _ => Err(HandlerError::User(
            "This button is not on a message I can find. Nothing was done.".into(),
        )),
    }
}

pub async fn approve(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let (channel, ts) = clicked(click)?;
    answer(service(ctx)?.approve(channel, ts, &click.user.0).await)
}

pub async fn reject(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let (channel, ts) = clicked(click)?;
    answer(service(ctx)?.reject(channel, ts, &click.user.0).await)
}

/// The flow's answer or refusal, for the clicker (or asker) only.
pub fn answer(outcome: Result<String, ActionError>) -> HandlerResult {
    match outcome {
        Ok(text) => Ok(Reply::Ephemeral(Message::markdown(Mrkdwn::escaped(&text)))),
        Err(ActionError::Refused(text)) => Err(HandlerError::User(text)),
        Err(ActionError::Slack(e)) => Err(HandlerError::Upstream {
            service: "Slack",
            source: e.into(),
        }),
        Err(ActionError::Store(e)) => Err(HandlerError::Internal(e)),
    }
}

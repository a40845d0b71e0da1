//! `@bot run <action> [args]` (`@bot run` lists the actions) and an action's own slash command
//! `/<prefix>-<action> [args]`: custom actions asked for by text. In an alarm card's thread the
//! card's alarm fills `{alarm.…}`.

use crate::actions::custom_action_buttons::{alarm_values, answer};
use crate::context::Context;
use crate::custom_actions::{values::usage, Ask, CustomActions};
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::slack::interaction::{Mention, MessageTs, SlashCommand};
use crate::slack::message::{Message, Mrkdwn};

fn service(ctx: &Context) -> Result<&CustomActions, HandlerError> {
    ctx.custom_actions.as_deref().ok_or_else(|| {
        HandlerError::User(
            "No custom actions are configured here ([[actions]] in bot.toml).".into(),
        )
    })
}

/// The words after `run`: the action's name, then its arguments. Split on whitespace only:
/// every value is checked against its variable's pattern before anything runs.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// `@bot run …` in a channel (the thread of the mention).
pub async fn mention(ctx: &Context, mention: &Mention, text: &str) -> HandlerResult {
    let actions = service(ctx)?;
    let mut words = words(text);
    if words.is_empty() {
        return Ok(Reply::InThread(list(ctx, actions)));
    }
    let name = words.remove(0);
    // In an alarm card's thread, the card's alarm gives `{alarm.…}`.
    let alarm = match (&mention.thread_ts, &ctx.alarms) {
        (Some(root), Some(cards)) => cards
            .alarm_thread(&mention.channel.0, &root.0, None)
            .await
            .map_err(|e| HandlerError::Internal(e.context("Failed to read the thread's alarm")))?
            .map(|thread| alarm_values(&thread.context)),
        _ => None,
    };
    let ask = Ask {
        name: &name,
        typed: words,
        user: &mention.user.0,
        channel: &mention.channel,
        thread: Some(mention.reply_thread().clone()),
        alarm,
    };
    answer(actions.request(ask).await)
}

/// The action a slash command names (`/<prefix>-<name>` of an action with `slash = true`).
pub fn slash_action<'a>(ctx: &'a Context, command: &str) -> Option<&'a str> {
    let actions = ctx.custom_actions.as_deref()?;
    let name = command.strip_prefix(&format!("/{}-", ctx.commands.prefix))?;
    actions
        .catalog()
        .get(name)
        .filter(|a| a.config.slash)
        .map(|a| a.config.name.as_str())
}

/// `/<prefix>-<action> [args]`: the request opens its own thread in the channel.
pub async fn slash(ctx: &Context, slash: &SlashCommand, name: &str) -> HandlerResult {
    let actions = service(ctx)?;
    let ask = Ask {
        name,
        typed: words(&slash.text),
        user: &slash.user.0,
        channel: &slash.channel,
        thread: None::<MessageTs>,
        alarm: None,
    };
    answer(actions.request(ask).await)
}

/// `@bot run` alone: every action, its usage and what it needs.
fn list(ctx: &Context, actions: &CustomActions) -> Message {
    let mut text = Mrkdwn::trusted("*Custom actions*");
    for action in actions.catalog().all() {
        let config = &action.config;
        text.push(&format!("\n• `@{} {}`", ctx.bot.name, usage(action)));
        if config.slash {
            text.push(&format!(" or `/{}-{}`", ctx.commands.prefix, config.name));
        }
        text.push(": ");
        text.push_escaped(&config.description);
        let (service, operation) = config.service_operation();
        text.push(&format!(" _(aws {service} {operation}; "));
        text.push(&match action.approvals {
            0 => "no approval".to_owned(),
            n => format!("{n} approval(s)"),
        });
        if config.on_cards() {
            text.push("; a button on matching alarm cards");
        }
        text.push(")_");
    }
    if actions.catalog().is_empty() {
        text.push("\nNone are configured.");
    }
    Message::markdown(text)
}

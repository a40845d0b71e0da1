//! `@bot <question>`: a question to the agent, answered in the mention's thread. In an alarm
//! card's thread it continues that thread's session with the alarm's context; anywhere else it
//! starts a session for the thread it creates.

use crate::actions::ask_agent::accepted;
use crate::context::Context;
use crate::conversation::{Conversations, Question};
use crate::reply::{HandlerError, HandlerResult};
use crate::slack::interaction::Mention;

pub async fn question(
    ctx: &Context,
    conversations: &std::sync::Arc<Conversations>,
    mention: &Mention,
) -> HandlerResult {
    let thread = mention.reply_thread().clone();
    let alarm = match (&ctx.alarms, &mention.thread_ts) {
        (Some(cards), Some(root)) => cards
            .alarm_thread(&mention.channel.0, &root.0, None)
            .await
            .map_err(|e| HandlerError::Internal(e.context("Failed to read the alarm card")))?,
        _ => None,
    };
    let question = Question {
        channel: mention.channel.clone(),
        thread,
        user: mention.user.clone(),
        team: mention
            .team
            .clone()
            .unwrap_or_else(|| ctx.bot.team_id.clone()),
        text: mention.text.clone(),
        alarm,
    };
    accepted(conversations.ask(question))
}

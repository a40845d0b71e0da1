//! 🤖 To Bedrock Agent on an alarm card: ask the agent about the alarm, answered in the card's thread.

use crate::context::Context;
use crate::conversation::{Accepted, Question};
use crate::integrations::bedrock::DEFAULT_ALARM_QUESTION;
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::slack::interaction::ButtonClick;
use crate::slack::message::{Message, Mrkdwn};

/// Ask about the card the button sits on; the answer streams into its thread.
pub async fn ask(ctx: &Context, click: &ButtonClick) -> HandlerResult {
    let Some(conversations) = &ctx.conversations else {
        return super::alarm_buttons::not_configured("The Bedrock agent");
    };
    let (Some(channel), Some(root)) = (&click.channel, &click.message_ts) else {
        return Err(HandlerError::User(
            "This button is not on an alarm card I can find.".into(),
        ));
    };
    let alarm = match &ctx.alarms {
        Some(cards) => cards
            .alarm_thread(&channel.0, &root.0, click.value.as_deref())
            .await
            .map_err(|e| HandlerError::Internal(e.context("Failed to read the alarm card")))?,
        None => None,
    };
    let Some(alarm) = alarm else {
        return Err(HandlerError::User(
            "I no longer track this alarm card (it may predate my records), so I can't tell the agent about it. Mention me in its thread with your question instead.".into(),
        ));
    };
    let question = Question {
        channel: channel.clone(),
        thread: root.clone(),
        user: click.user.clone(),
        team: click
            .team
            .clone()
            .unwrap_or_else(|| ctx.bot.team_id.clone()),
        text: DEFAULT_ALARM_QUESTION.to_owned(),
        alarm: Some(alarm),
    };
    accepted(conversations.ask(question))
}

/// What the asker is told once the question is taken or refused (ephemeral; nothing when the
/// placeholder in the thread says it all).
pub fn accepted(outcome: Result<Accepted, crate::conversation::Refusal>) -> HandlerResult {
    match outcome {
        Ok(Accepted::Answering) => Ok(Reply::Nothing),
        Ok(Accepted::Queued { ahead }) => {
            let place = match ahead {
                0 => "next in line".to_owned(),
                n => format!("{n} ahead"),
            };
            Ok(Reply::Ephemeral(Message::markdown(Mrkdwn::trusted(format!(
                ":hourglass_flowing_sand: The agent is busy with other questions; yours is queued ({place}). The answer will appear in the thread."
            )))))
        }
        Err(refusal) => Err(HandlerError::User(refusal.explain())),
    }
}

//! The router: one exhaustive match from `Interaction` to handler, and the one place errors become replies.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::{error, info, warn};

use crate::context::Context;
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::slack::interaction::{ChannelId, Interaction, MessageTs, ResponseUrl, UserId};
use crate::slack::message::{Message, Mrkdwn, Visibility};
use crate::slack::socket::dispatch::InteractionHandler;
use crate::{actions, commands};

pub struct Router {
    ctx: Arc<Context>,
}

impl Router {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    async fn route(&self, interaction: &Interaction) -> HandlerResult {
        let ctx = &*self.ctx;
        match interaction {
            Interaction::Mention(mention) => commands::on_mention(ctx, mention).await,
            Interaction::DirectMessage(dm) => commands::on_direct_message(ctx, dm).await,
            // Ignored on purpose (README, "What the bot answers"): the bot reads along in no
            // thread. A reply that mentions the bot (a follow-up question to the agent, say)
            // also arrives as a `Mention` and is answered as one.
            Interaction::ThreadMessage(_) => Ok(Reply::Nothing),
            Interaction::Button(click) => actions::on_button(ctx, click).await,
            Interaction::SlashCommand(slash) => commands::on_slash(ctx, slash).await,
            Interaction::ViewSubmission(view) => actions::on_view_submission(ctx, view).await,
        }
    }
}

#[async_trait]
impl InteractionHandler for Router {
    async fn handle(&self, interaction: Interaction) {
        let kind = interaction.kind();
        let target = ReplyTarget::of(&interaction);
        let reply = match self.route(&interaction).await {
            Ok(reply) => reply,
            Err(e) => {
                log_failure(kind, &target, &e);
                Reply::Ephemeral(Message::markdown(error_text(&e)))
            }
        };
        if let Err(e) = target.deliver(&*self.ctx.slack, reply).await {
            warn!(interaction = kind, user = %target.user, error = format!("{:#}", anyhow::Error::new(e)), "Failed to deliver a reply.");
        }
    }

    async fn answer_busy(&self, interaction: Interaction) {
        let kind = interaction.kind();
        let target = ReplyTarget::of(&interaction);
        let text = Mrkdwn::trusted(
            ":hourglass_flowing_sand: I'm too busy to handle this right now, so nothing was done. Please try again in a minute.",
        );
        let reply = Reply::Ephemeral(Message::markdown(text));
        if let Err(e) = target.deliver(&*self.ctx.slack, reply).await {
            warn!(interaction = kind, user = %target.user, error = format!("{:#}", anyhow::Error::new(e)), "Failed to deliver a busy answer.");
        }
    }
}

fn log_failure(kind: &str, target: &ReplyTarget, e: &HandlerError) {
    match e {
        HandlerError::User(message) => {
            info!(interaction = kind, user = %target.user, message, "Request refused.")
        }
        HandlerError::Upstream { service, source } => {
            error!(interaction = kind, user = %target.user, service, error = format!("{source:#}"), "Upstream failure.")
        }
        HandlerError::Internal(source) => {
            error!(interaction = kind, user = %target.user, error = format!("{source:#}"), "Handler failed.")
        }
    }
}

fn error_text(e: &HandlerError) -> Mrkdwn {
    match e {
        HandlerError::User(message) => {
            let mut text = Mrkdwn::trusted(":warning: ");
            text.push_escaped(message);
            text
        }
        HandlerError::Upstream { service, .. } => Mrkdwn::trusted(format!(
            ":rotating_light: {service} failed while handling this; the details are in the bot's logs. Try again in a moment."
        )),
        HandlerError::Internal(_) => {
            Mrkdwn::trusted(":rotating_light: Something went wrong on my side; the details are in the bot's logs.")
        }
    }
}

/// Where replies to one interaction go.
struct ReplyTarget {
    user: UserId,
    channel: Option<ChannelId>,
    thread: Option<MessageTs>,
    response_url: Option<ResponseUrl>,
}

impl ReplyTarget {
    fn of(interaction: &Interaction) -> Self {
        match interaction {
            Interaction::Mention(m) => Self {
                user: m.user.clone(),
                channel: Some(m.channel.clone()),
                thread: Some(m.reply_thread().clone()),
                response_url: None,
            },
            // Answer in the DM itself: at top level, or in the DM's thread if it was a reply.
            Interaction::DirectMessage(m) => Self {
                user: m.user.clone(),
                channel: Some(m.channel.clone()),
                thread: m.thread_ts.clone(),
                response_url: None,
            },
            Interaction::ThreadMessage(m) => Self {
                user: m.user.clone(),
                channel: Some(m.channel.clone()),
                thread: Some(m.thread_ts.clone()),
                response_url: None,
            },
            Interaction::Button(b) => Self {
                user: b.user.clone(),
                channel: b.channel.clone(),
                thread: b.thread_ts.clone().or_else(|| b.message_ts.clone()),
                response_url: b.response_url.clone(),
            },
            Interaction::SlashCommand(c) => Self {
                user: c.user.clone(),
                channel: Some(c.channel.clone()),
                thread: None,
                response_url: Some(c.response_url.clone()),
            },
            Interaction::ViewSubmission(v) => Self {
                user: v.user.clone(),
                channel: None,
                thread: None,
                response_url: None,
            },
        }
    }

    async fn deliver(
        &self,
        slack: &dyn crate::slack::messenger::Messenger,
        reply: Reply,
    ) -> Result<(), crate::slack::messenger::SlackApiError> {
        match reply {
            Reply::Nothing => Ok(()),
            Reply::InThread(message) => match (&self.channel, &self.response_url) {
                (Some(channel), _) if self.thread.is_some() => slack
                    .post(channel, self.thread.as_ref(), &message)
                    .await
                    .map(|_| ()),
                (_, Some(url)) => slack.respond(url, &message, Visibility::InChannel).await,
                (Some(channel), None) => slack.post(channel, None, &message).await.map(|_| ()),
                (None, None) => Ok(()),
            },
            Reply::Ephemeral(message) => match (&self.response_url, &self.channel) {
                (Some(url), _) => slack.respond(url, &message, Visibility::Ephemeral).await,
                (None, Some(channel)) => {
                    slack
                        .post_ephemeral(channel, &self.user, self.thread.as_ref(), &message)
                        .await
                }
                // A form submission has no channel and no response_url: tell the user in their
                // DM with the bot (posting to a user id posts there).
                (None, None) => slack
                    .post(&ChannelId(self.user.0.clone()), None, &message)
                    .await
                    .map(|_| ()),
            },
        }
    }
}

//! What handlers return: a reply to show, or an error whose cause decides what the user sees.

use crate::deploys::DeployError;
use crate::slack::message::{Message, Mrkdwn};

/// Where a successful handler's answer goes; the router knows how to reach each place.
#[derive(Debug, PartialEq)]
pub enum Reply {
    Nothing,
    /// In the thread of the message that triggered it (a mention's thread, a card's thread).
    InThread(Message),
    /// Only the acting user sees it.
    Ephemeral(Message),
}

/// A handler's failure, by who can fix it.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The user asked for something that cannot be done; the message says why. Shown ephemerally.
    #[error("{0}")]
    User(String),
    /// An outside system failed; the user sees which one, operators see the cause chain.
    #[error("{service} failed")]
    Upstream {
        service: &'static str,
        #[source]
        source: anyhow::Error,
    },
    /// A bug or an unexpected state on our side.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type HandlerResult = Result<Reply, HandlerError>;

/// A refusal becomes the asker's ephemeral answer (its text is mrkdwn the service built);
/// anything else is a handler error the router reports.
pub fn deploy_refusal_or_error(error: DeployError) -> HandlerResult {
    match error {
        DeployError::Refused(text) => Ok(Reply::Ephemeral(Message::markdown(Mrkdwn::trusted(
            format!(":warning: {text}"),
        )))),
        DeployError::Slack(e) if cannot_post_here(&e) => Err(HandlerError::User(
            "I cannot post in this channel, so the request was not made. Invite me to it (/invite) and try again.".into(),
        )),
        DeployError::Slack(e) => Err(HandlerError::Upstream {
            service: "Slack",
            source: e.into(),
        }),
        DeployError::GitHub(e) => Err(HandlerError::Upstream {
            service: "GitHub",
            source: e.into(),
        }),
        DeployError::Store(e) => Err(HandlerError::Internal(e)),
    }
}

fn cannot_post_here(error: &crate::slack::messenger::SlackApiError) -> bool {
    matches!(error, crate::slack::messenger::SlackApiError::Rejected { code, .. }
        if ["channel_not_found", "not_in_channel", "is_archived"].contains(&code.as_str()))
}

//! What handlers return: a reply to show, or an error whose cause decides what the user sees.

use crate::slack::message::Message;

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

//! Amazon Bedrock Agents: the `Agent` trait and `BedrockAgent`, which asks through InvokeAgent and
//! streams the answer back in pieces.
//!
//! One Slack thread is one agent session ([`SessionId::for_thread`]). The input is built from
//! plain data ([`AlarmContext`], [`alarm_input`]), so this module knows neither Slack nor the
//! alarm pipeline's types.

mod alias;
mod answer;
mod client;
mod error;
mod request;
mod session;
mod stream;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

pub use alias::{agent_alias, AliasCheckError, AliasInfo};
pub use answer::{AgentAnswer, Citation};
pub use client::{BedrockAgent, RetryBackoff};
pub use error::{AgentError, AgentTarget};
pub use request::{
    alarm_input, AgentRequest, AlarmContext, AlarmTransition, DEFAULT_ALARM_QUESTION,
};
pub use session::{SessionId, MAX_SESSION_ID_LEN, MIN_SESSION_ID_LEN};

/// An agent that answers questions in a session, streaming its answer.
#[async_trait]
pub trait Agent: Send + Sync + 'static {
    /// Asks `request`. Every piece of the answer's text is sent on `pieces` as soon as it
    /// arrives, in order; the returned answer's `text` is their concatenation. A closed
    /// `pieces` receiver does not stop the call. On error, the pieces already sent are all the
    /// text there is.
    async fn ask(
        &self,
        request: AgentRequest,
        pieces: UnboundedSender<String>,
    ) -> Result<AgentAnswer, AgentError>;
}

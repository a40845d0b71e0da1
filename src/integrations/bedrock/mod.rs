//! Amazon Bedrock: the `Agent` trait and its three backends, one per `bedrock.backend`:
//! `BedrockAgent` (InvokeAgent, `agent.rs`), `AgentCoreRuntime` (InvokeAgentRuntime,
//! `agentcore.rs`) and `BedrockModel` (ConverseStream, `model.rs`). Each streams its answer
//! back in pieces, within the same limits and retries (`retry.rs`), with its errors mapped to
//! the same `AgentError`s. [`connect`] picks one from the config, once, in the wiring.
//!
//! One Slack thread is one session ([`SessionId::for_thread`]). The input is built from
//! plain data ([`AlarmContext`], [`alarm_input`]), so this module knows neither Slack nor the
//! alarm pipeline's types.

mod agent;
mod agentcore;
mod alias;
mod answer;
mod error;
mod model;
mod request;
mod retry;
mod runtime_body;
mod session;
mod stream;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

pub use agent::BedrockAgent;
pub use agentcore::{runtime_payload, AgentCoreRuntime};
pub use alias::{agent_alias, AliasCheckError, AliasInfo};
pub use answer::{AgentAnswer, Citation};
pub use error::{AgentError, AgentTarget};
pub use model::{converse_messages, BedrockModel};
pub use request::{
    alarm_input, AgentRequest, AlarmContext, AlarmTransition, DEFAULT_ALARM_QUESTION,
};
pub use retry::RetryBackoff;
pub use session::{
    SessionId, MAX_RUNTIME_SESSION_ID_LEN, MAX_SESSION_ID_LEN, MIN_RUNTIME_SESSION_ID_LEN,
    MIN_SESSION_ID_LEN,
};

use crate::config::{Backend, BedrockConfig};
use crate::store::model_turns::ModelTurns;
use crate::store::Blocking;

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

    /// The API operation one `ask` calls, in snake case: the `operation` label of its metrics.
    fn operation(&self) -> &'static str;
}

/// The backend `bedrock.backend` names, on `sdk`'s credentials. `turns` keeps the `model`
/// backend's conversations (`None`: each question on its own); `backoff` is the throttling
/// retry schedule (tests shorten it).
pub fn connect(
    sdk: &aws_config::SdkConfig,
    bedrock: &BedrockConfig,
    turns: Option<Blocking<dyn ModelTurns>>,
    backoff: RetryBackoff,
) -> Arc<dyn Agent> {
    match &bedrock.backend {
        Backend::Agent(agent) => {
            Arc::new(BedrockAgent::new(sdk, bedrock, agent).with_backoff(backoff))
        }
        Backend::AgentCore(runtime) => {
            Arc::new(AgentCoreRuntime::new(sdk, bedrock, runtime).with_backoff(backoff))
        }
        Backend::Model(model) => {
            Arc::new(BedrockModel::new(sdk, bedrock, model, turns).with_backoff(backoff))
        }
    }
}

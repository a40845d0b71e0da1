//! `BedrockAgent`: the `agent` backend, InvokeAgent through aws-sdk-bedrockagentruntime (one
//! attempt in `stream.rs`; the timeout and retries in `retry.rs`).

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

use super::answer::AgentAnswer;
use super::error::{AgentError, AgentTarget};
use super::request::AgentRequest;
use super::retry::{ask_within, AttemptFailed, Attempts, Limits, RetryBackoff, Streamed};
use super::stream::invoke_once;
use super::Agent;
use crate::config::{AgentBackend, BedrockConfig};

/// InvokeAgent on one agent alias.
pub struct BedrockAgent {
    client: aws_sdk_bedrockagentruntime::Client,
    target: AgentTarget,
    limits: Limits,
}

impl BedrockAgent {
    /// A client on `sdk`'s credentials, set up as every backend's is ([`Limits::sdk_config`]:
    /// the region, the endpoint, the SDK's retries off). A silent stream is cut at
    /// `idle_timeout` (tests/bedrock_agent.rs checks a 12 s silence).
    pub fn new(sdk: &aws_config::SdkConfig, bedrock: &BedrockConfig, agent: &AgentBackend) -> Self {
        let limits = Limits::of(bedrock);
        Self {
            client: aws_sdk_bedrockagentruntime::Client::new(&limits.sdk_config(sdk, bedrock)),
            target: AgentTarget::Agent {
                agent_id: agent.agent_id.clone(),
                agent_alias_id: agent.agent_alias_id.clone(),
                region: bedrock.region.clone(),
            },
            limits,
        }
    }

    /// The same agent with another retry schedule (tests use short waits).
    pub fn with_backoff(mut self, backoff: RetryBackoff) -> Self {
        self.limits.backoff = backoff;
        self
    }

    /// The agent alias this client calls.
    pub fn target(&self) -> &AgentTarget {
        &self.target
    }
}

#[async_trait]
impl Attempts for BedrockAgent {
    fn target(&self) -> &AgentTarget {
        &self.target
    }

    async fn attempt(
        &self,
        request: &AgentRequest,
        idle: Duration,
        pieces: &UnboundedSender<String>,
    ) -> Result<Streamed, AttemptFailed> {
        invoke_once(&self.client, &self.target, request, idle, pieces).await
    }
}

#[async_trait]
impl Agent for BedrockAgent {
    async fn ask(
        &self,
        request: AgentRequest,
        pieces: UnboundedSender<String>,
    ) -> Result<AgentAnswer, AgentError> {
        ask_within(self, &self.limits, &request, &pieces).await
    }

    fn operation(&self) -> &'static str {
        "invoke_agent"
    }
}

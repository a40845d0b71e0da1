//! What the fake was asked: one `AgentInvocation` per request, in arrival order, whichever of
//! the three APIs it came through (InvokeAgent, ConverseStream, InvokeAgentRuntime).

use std::collections::BTreeMap;

use serde_json::Value;

/// Which API a request came through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FakeApi {
    #[default]
    InvokeAgent,
    ConverseStream,
    InvokeAgentRuntime,
}

/// One turn of a ConverseStream request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// Its text blocks, joined.
    pub text: String,
}

/// One request as the fake received it. The common fields are filled for every API:
/// `session_id` (InvokeAgent's path, InvokeAgentRuntime's session header, ConverseStream's
/// `requestMetadata.session_id`), `input_text` (`inputText`, the payload's `prompt`, the last
/// user message) and `session_attributes` (`sessionState.sessionAttributes`, the payload's
/// `attributes`, the rest of `requestMetadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentInvocation {
    pub api: FakeApi,
    pub agent_id: String,
    pub agent_alias_id: String,
    pub session_id: String,
    /// `inputText`, empty when absent.
    pub input_text: String,
    /// `sessionState.sessionAttributes`.
    pub session_attributes: BTreeMap<String, String>,
    /// `streamingConfigurations.streamFinalResponse`, when sent.
    pub stream_final_response: Option<bool>,
    /// ConverseStream: the model id in the path.
    pub model_id: Option<String>,
    /// ConverseStream: the system prompt's text blocks, joined.
    pub system_prompt: Option<String>,
    /// ConverseStream: every message, oldest first (the last is the question).
    pub messages: Vec<FakeMessage>,
    /// ConverseStream: `inferenceConfig` as sent.
    pub inference_config: Option<Value>,
    /// ConverseStream: `guardrailConfig`'s (identifier, version).
    pub guardrail: Option<(String, String)>,
    /// InvokeAgentRuntime: the runtime ARN in the path.
    pub runtime_arn: Option<String>,
    /// InvokeAgentRuntime: the `qualifier` query parameter.
    pub qualifier: Option<String>,
    /// InvokeAgentRuntime: the JSON payload.
    pub payload: Option<Value>,
}

/// One `chunk` event as the fake wrote it to the stream, for latency measurements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentChunk {
    pub session_id: String,
    pub text: String,
    /// When the frame was handed to the connection.
    pub at: std::time::Instant,
}

//! What the fake agent was asked: one `AgentInvocation` per request, in arrival order.

use std::collections::BTreeMap;

/// One InvokeAgent request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentInvocation {
    pub agent_id: String,
    pub agent_alias_id: String,
    pub session_id: String,
    /// `inputText`, empty when absent.
    pub input_text: String,
    /// `sessionState.sessionAttributes`.
    pub session_attributes: BTreeMap<String, String>,
    /// `streamingConfigurations.streamFinalResponse`, when sent.
    pub stream_final_response: Option<bool>,
}

/// One `chunk` event as the fake wrote it to the stream, for latency measurements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentChunk {
    pub session_id: String,
    pub text: String,
    /// When the frame was handed to the connection.
    pub at: std::time::Instant,
}

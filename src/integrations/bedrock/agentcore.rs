//! `AgentCoreRuntime`: the `agentcore` backend, InvokeAgentRuntime through
//! aws-sdk-bedrockagentcore. The payload is JSON (the prompt, the session, the attributes and
//! the alarm as data); the answer is read as it arrives, event by event when it is
//! `text/event-stream`, else as one JSON body (`runtime_body.rs`).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockagentcore::error::{DisplayErrorContext, SdkError};
use aws_sdk_bedrockagentcore::operation::invoke_agent_runtime::InvokeAgentRuntimeError;
use aws_sdk_bedrockagentcore::primitives::Blob;
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use super::answer::AgentAnswer;
use super::error::{classified, from_sdk, AgentError, AgentTarget, Kind};
use super::request::AgentRequest;
use super::retry::{ask_within, emit, AttemptFailed, Attempts, Limits, RetryBackoff, Streamed};
use super::runtime_body::{event_piece, piece_of, Piece, SseEvents};
use super::Agent;
use crate::config::{AgentCoreBackend, BedrockConfig};

/// The largest whole (not streamed) answer read: 4 MiB.
const MAX_WHOLE_BODY: usize = 4 << 20;

/// InvokeAgentRuntime on one runtime (and endpoint).
pub struct AgentCoreRuntime {
    client: aws_sdk_bedrockagentcore::Client,
    runtime: AgentCoreBackend,
    target: AgentTarget,
    limits: Limits,
}

impl AgentCoreRuntime {
    /// A client on `sdk`'s credentials, set up as every backend's is ([`Limits::sdk_config`]).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        bedrock: &BedrockConfig,
        runtime: &AgentCoreBackend,
    ) -> Self {
        let limits = Limits::of(bedrock);
        Self {
            client: aws_sdk_bedrockagentcore::Client::new(&limits.sdk_config(sdk, bedrock)),
            runtime: runtime.clone(),
            target: AgentTarget::Runtime {
                runtime_arn: runtime.runtime_arn.clone(),
                qualifier: runtime.qualifier.clone(),
                region: bedrock.region.clone(),
            },
            limits,
        }
    }

    /// The same runtime with another retry schedule (tests use short waits).
    pub fn with_backoff(mut self, backoff: RetryBackoff) -> Self {
        self.limits.backoff = backoff;
        self
    }
}

/// The JSON payload: what an AgentCore agent's entrypoint receives.
pub fn runtime_payload(request: &AgentRequest) -> serde_json::Value {
    let mut payload = json!({
        "prompt": request.input_text,
        "session_id": request.session_id.as_str(),
        "attributes": request.session_attributes,
    });
    if let Some(alarm) = &request.alarm {
        payload["alarm"] = serde_json::to_value(alarm).unwrap_or_default();
    }
    payload
}

#[async_trait]
impl Attempts for AgentCoreRuntime {
    fn target(&self) -> &AgentTarget {
        &self.target
    }

    async fn attempt(
        &self,
        request: &AgentRequest,
        idle: Duration,
        pieces: &UnboundedSender<String>,
    ) -> Result<Streamed, AttemptFailed> {
        let payload = runtime_payload(request).to_string();
        let call = self
            .client
            .invoke_agent_runtime()
            .agent_runtime_arn(&self.runtime.runtime_arn)
            .set_qualifier(self.runtime.qualifier.clone())
            .runtime_session_id(request.session_id.runtime_session_id())
            .content_type("application/json")
            .accept("text/event-stream, application/json")
            .payload(Blob::new(payload.into_bytes()))
            .send();
        let mut output = match tokio::time::timeout(idle, call).await {
            Err(_) => return Err(AttemptFailed::before_text(AgentError::Stalled { idle })),
            Ok(Err(error)) => {
                return Err(AttemptFailed::before_text(invoke_error(
                    error,
                    &self.target,
                )))
            }
            Ok(Ok(output)) => output,
        };
        let streamed = output.content_type().starts_with("text/event-stream");
        let mut text = String::new();
        let mut whole = Vec::new();
        let mut events = SseEvents::default();
        // A streamed event with the whole answer, shown only if no piece of text came.
        let mut fallback = None;
        loop {
            let failed = |error, text: &String| AttemptFailed {
                error,
                sent_text: !text.is_empty(),
            };
            let bytes = match tokio::time::timeout(idle, output.response.next()).await {
                Err(_) => return Err(failed(AgentError::Stalled { idle }, &text)),
                Ok(None) => break,
                Ok(Some(Err(error))) => {
                    let detail = format!("the answer broke off: {}", DisplayErrorContext(&error));
                    return Err(failed(AgentError::Upstream { detail }, &text));
                }
                Ok(Some(Ok(bytes))) => bytes,
            };
            if !streamed {
                whole.extend_from_slice(&bytes);
                if whole.len() > MAX_WHOLE_BODY {
                    let detail = format!("the answer is larger than {MAX_WHOLE_BODY} bytes");
                    return Err(failed(AgentError::Upstream { detail }, &text));
                }
                continue;
            }
            for data in events.push(&bytes) {
                self.take(event_piece(&data), &mut text, &mut fallback, pieces)
                    .map_err(|error| failed(error, &text))?;
            }
        }
        if streamed {
            for data in events.finish() {
                self.take(event_piece(&data), &mut text, &mut fallback, pieces)
                    .map_err(|error| AttemptFailed {
                        error,
                        sent_text: !text.is_empty(),
                    })?;
            }
            if text.is_empty() {
                emit(fallback.unwrap_or_default(), &mut text, pieces);
            }
        } else {
            let body = String::from_utf8_lossy(&whole).into_owned();
            let piece = piece_of(&body);
            if piece == Piece::Nothing {
                let detail = "the AgentCore runtime answered JSON without text (expected a \
                              string, or a \"result\", \"response\", \"content\" or \"text\" \
                              field)"
                    .to_owned();
                return Err(AttemptFailed::before_text(AgentError::Invalid { detail }));
            }
            self.take(piece, &mut text, &mut fallback, pieces)
                .map_err(AttemptFailed::before_text)?;
        }
        Ok(Streamed {
            text,
            citations: Vec::new(),
            session_id: None,
        })
    }
}

impl AgentCoreRuntime {
    /// One payload's text out on `pieces` (a whole answer kept in `fallback`), or its error.
    fn take(
        &self,
        piece: Piece,
        text: &mut String,
        fallback: &mut Option<String>,
        pieces: &UnboundedSender<String>,
    ) -> Result<(), AgentError> {
        match piece {
            Piece::Text(piece) => {
                emit(piece, text, pieces);
                Ok(())
            }
            Piece::Whole(whole) => {
                *fallback = Some(whole);
                Ok(())
            }
            Piece::Nothing => Ok(()),
            Piece::Error { kind, message } => {
                let class = kind.as_deref().map_or(Kind::Other, Kind::of_code);
                let after_text = !text.is_empty();
                Err(classified(
                    class,
                    kind.as_deref(),
                    Some(&message),
                    &self.target,
                    after_text,
                ))
            }
        }
    }
}

fn invoke_error<R>(error: SdkError<InvokeAgentRuntimeError, R>, target: &AgentTarget) -> AgentError
where
    R: std::fmt::Debug,
{
    from_sdk(error, target, false, |service| {
        let kind = match service {
            InvokeAgentRuntimeError::ResourceNotFoundException(_) => Kind::NotFound,
            InvokeAgentRuntimeError::AccessDeniedException(_) => Kind::AccessDenied,
            InvokeAgentRuntimeError::ThrottlingException(_) => Kind::Throttled,
            InvokeAgentRuntimeError::ValidationException(_) => Kind::Invalid,
            _ => Kind::Other,
        };
        (kind, None)
    })
}

#[async_trait]
impl Agent for AgentCoreRuntime {
    async fn ask(
        &self,
        request: AgentRequest,
        pieces: UnboundedSender<String>,
    ) -> Result<AgentAnswer, AgentError> {
        ask_within(self, &self.limits, &request, &pieces).await
    }

    fn operation(&self) -> &'static str {
        "invoke_agent_runtime"
    }
}

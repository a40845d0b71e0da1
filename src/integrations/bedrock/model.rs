//! `BedrockModel`: the `model` backend, ConverseStream through aws-sdk-bedrockruntime on a
//! model or inference profile, with the system prompt, the inference settings and an optional
//! guardrail. A model keeps no session, so each answered turn is kept in the store
//! ([`ModelTurns`]) and a follow-up sends the earlier turns within `history_max_chars`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput,
    GuardrailStreamConfiguration, InferenceConfiguration, Message, StopReason, SystemContentBlock,
};
use tokio::sync::mpsc::UnboundedSender;
use tracing::warn;

use super::answer::AgentAnswer;
use super::error::{from_sdk, AgentError, AgentTarget, Kind};
use super::request::AgentRequest;
use super::retry::{ask_within, emit, AttemptFailed, Attempts, Limits, RetryBackoff, Streamed};
use super::Agent;
use crate::config::{BedrockConfig, ModelBackend};
use crate::store::model_turns::{ModelTurns, Turn};
use crate::store::Blocking;

/// The note added when the model stopped at `max_tokens`.
const CUT_AT_MAX_TOKENS: &str = "\n\n_(The answer was cut at bedrock.max_tokens.)_";

/// ConverseStream on one model.
pub struct BedrockModel {
    client: aws_sdk_bedrockruntime::Client,
    model: ModelBackend,
    target: AgentTarget,
    limits: Limits,
    /// Where the conversations are kept; `None` asks every question on its own (`check`).
    turns: Option<Blocking<dyn ModelTurns>>,
}

impl BedrockModel {
    /// A client on `sdk`'s credentials, set up as every backend's is ([`Limits::sdk_config`]).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        bedrock: &BedrockConfig,
        model: &ModelBackend,
        turns: Option<Blocking<dyn ModelTurns>>,
    ) -> Self {
        let limits = Limits::of(bedrock);
        Self {
            client: aws_sdk_bedrockruntime::Client::new(&limits.sdk_config(sdk, bedrock)),
            model: model.clone(),
            target: AgentTarget::Model {
                model_id: model.model_id.clone(),
                region: bedrock.region.clone(),
            },
            limits,
            turns,
        }
    }

    /// The same model with another retry schedule (tests use short waits).
    pub fn with_backoff(mut self, backoff: RetryBackoff) -> Self {
        self.limits.backoff = backoff;
        self
    }

    /// The session's earlier turns within the budget; none when they cannot be read.
    async fn history(&self, request: &AgentRequest) -> Vec<Turn> {
        let Some(turns) = &self.turns else {
            return Vec::new();
        };
        let session = request.session_id.as_str().to_owned();
        let budget = self.model.history_max_chars;
        match turns
            .run(move |turns| turns.recent_turns(&session, budget))
            .await
        {
            Ok(history) => history,
            Err(error) => {
                warn!(session_id = %request.session_id, error = format!("{error:#}"), "Could not read the model conversation; asking without it.");
                Vec::new()
            }
        }
    }

    async fn remember(&self, request: &AgentRequest, answer: &str) {
        let Some(turns) = &self.turns else {
            return;
        };
        let session = request.session_id.as_str().to_owned();
        let turn = Turn {
            question: request.input_text.clone(),
            answer: answer.to_owned(),
        };
        let added = turns
            .run(move |turns| turns.add_turn(&session, &turn, SystemTime::now()))
            .await;
        if let Err(error) = added {
            warn!(session_id = %request.session_id, error = format!("{error:#}"), "Could not keep a model turn; a follow-up will not see it.");
        }
    }
}

/// The messages: every earlier turn as a user/assistant pair, oldest first, then the question.
/// Always starts with a user turn and alternates.
pub fn converse_messages(history: &[Turn], question: &str) -> Vec<(ConversationRole, String)> {
    let mut messages = Vec::with_capacity(history.len() * 2 + 1);
    for turn in history {
        messages.push((ConversationRole::User, turn.question.clone()));
        messages.push((ConversationRole::Assistant, turn.answer.clone()));
    }
    messages.push((ConversationRole::User, question.to_owned()));
    messages
}

/// `requestMetadata` (for filtering invocation logs): the session and the attributes, each
/// value kept to the characters and the length the API allows.
fn request_metadata(request: &AgentRequest) -> HashMap<String, String> {
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || " :_@$#=/+,-.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(256)
            .collect()
    };
    let mut metadata =
        HashMap::from([("session_id".to_owned(), clean(request.session_id.as_str()))]);
    for (key, value) in request.session_attributes.iter().take(15) {
        metadata.insert(clean(key), clean(value));
    }
    metadata
}

#[async_trait]
impl Attempts for BedrockModel {
    fn target(&self) -> &AgentTarget {
        &self.target
    }

    async fn attempt(
        &self,
        request: &AgentRequest,
        idle: Duration,
        pieces: &UnboundedSender<String>,
    ) -> Result<Streamed, AttemptFailed> {
        let history = self.history(request).await;
        let mut messages = Vec::new();
        for (role, text) in converse_messages(&history, &request.input_text) {
            let message = Message::builder()
                .role(role)
                .content(ContentBlock::Text(text))
                .build()
                .map_err(|error| {
                    let detail = format!("a message could not be built: {error}");
                    AttemptFailed::before_text(AgentError::Invalid { detail })
                })?;
            messages.push(message);
        }
        let mut inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(self.model.max_tokens).unwrap_or(i32::MAX));
        if let Some(temperature) = self.model.temperature {
            inference = inference.temperature(temperature.0);
        }
        let guardrail = self.model.guardrail.as_ref().map(|guardrail| {
            GuardrailStreamConfiguration::builder()
                .guardrail_identifier(&guardrail.id)
                .guardrail_version(&guardrail.version)
                .build()
        });
        let call = self
            .client
            .converse_stream()
            .model_id(&self.model.model_id)
            .system(SystemContentBlock::Text(self.model.system_prompt.clone()))
            .set_messages(Some(messages))
            .inference_config(inference.build())
            .set_guardrail_config(guardrail)
            .set_request_metadata(Some(request_metadata(request)))
            .send();
        let mut output = match tokio::time::timeout(idle, call).await {
            Err(_) => return Err(AttemptFailed::before_text(AgentError::Stalled { idle })),
            Ok(Err(error)) => {
                return Err(AttemptFailed::before_text(converse_error(
                    error,
                    &self.target,
                )))
            }
            Ok(Ok(output)) => output,
        };
        let mut text = String::new();
        loop {
            let event = match tokio::time::timeout(idle, output.stream.recv()).await {
                Err(_) => {
                    return Err(AttemptFailed {
                        error: AgentError::Stalled { idle },
                        sent_text: !text.is_empty(),
                    })
                }
                Ok(Err(error)) => {
                    let after_text = !text.is_empty();
                    return Err(AttemptFailed {
                        error: stream_error(error, &self.target, after_text),
                        sent_text: after_text,
                    });
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(event))) => event,
            };
            match event {
                ConverseStreamOutput::ContentBlockDelta(delta) => {
                    if let Some(ContentBlockDelta::Text(piece)) = delta.delta() {
                        emit(piece.clone(), &mut text, pieces);
                    }
                }
                ConverseStreamOutput::MessageStop(stop) => {
                    if matches!(stop.stop_reason(), StopReason::MaxTokens) {
                        emit(CUT_AT_MAX_TOKENS.to_owned(), &mut text, pieces);
                    }
                }
                _ => {}
            }
        }
        Ok(Streamed {
            text,
            citations: Vec::new(),
            session_id: None,
        })
    }
}

fn converse_error<R>(error: SdkError<ConverseStreamError, R>, target: &AgentTarget) -> AgentError
where
    R: std::fmt::Debug,
{
    from_sdk(error, target, false, |service| {
        let kind = match service {
            ConverseStreamError::ResourceNotFoundException(_) => Kind::NotFound,
            ConverseStreamError::AccessDeniedException(_) => Kind::AccessDenied,
            ConverseStreamError::ThrottlingException(_) => Kind::Throttled,
            ConverseStreamError::ValidationException(_) => Kind::Invalid,
            _ => Kind::Other,
        };
        (kind, None)
    })
}

fn stream_error<R>(
    error: SdkError<ConverseStreamOutputError, R>,
    target: &AgentTarget,
    after_text: bool,
) -> AgentError
where
    R: std::fmt::Debug,
{
    from_sdk(error, target, after_text, |service| {
        let (kind, name) = match service {
            ConverseStreamOutputError::ThrottlingException(_) => {
                (Kind::Throttled, "throttlingException")
            }
            ConverseStreamOutputError::ValidationException(_) => {
                (Kind::Invalid, "validationException")
            }
            ConverseStreamOutputError::ModelStreamErrorException(_) => {
                (Kind::Other, "modelStreamErrorException")
            }
            ConverseStreamOutputError::InternalServerException(_) => {
                (Kind::Other, "internalServerException")
            }
            ConverseStreamOutputError::ServiceUnavailableException(_) => {
                (Kind::Other, "serviceUnavailableException")
            }
            _ => (
                service.code().map_or(Kind::Other, Kind::of_code),
                "exception",
            ),
        };
        (kind, Some(name))
    })
}

#[async_trait]
impl Agent for BedrockModel {
    async fn ask(
        &self,
        request: AgentRequest,
        pieces: UnboundedSender<String>,
    ) -> Result<AgentAnswer, AgentError> {
        let answer = ask_within(self, &self.limits, &request, &pieces).await?;
        self.remember(&request, &answer.text).await;
        Ok(answer)
    }

    fn operation(&self) -> &'static str {
        "converse_stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_the_user_and_alternate() {
        let history = [
            Turn {
                question: "q1".into(),
                answer: "a1".into(),
            },
            Turn {
                question: "q2".into(),
                answer: "a2".into(),
            },
        ];
        let roles: Vec<ConversationRole> = converse_messages(&history, "q3")
            .into_iter()
            .map(|(role, _)| role)
            .collect();
        use ConversationRole::{Assistant, User};
        assert_eq!(roles, [User, Assistant, User, Assistant, User]);
        assert_eq!(converse_messages(&[], "only").len(), 1);
    }
}

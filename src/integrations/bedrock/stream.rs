//! One InvokeAgent attempt: send the request, then read the event stream with a limit on every
//! wait, passing text on as it arrives.

use std::time::Duration;

use aws_sdk_bedrockagentruntime::error::SdkError;
use aws_sdk_bedrockagentruntime::operation::invoke_agent::InvokeAgentError;
use aws_sdk_bedrockagentruntime::types::error::ResponseStreamError;
use aws_sdk_bedrockagentruntime::types::{ResponseStream, SessionState, StreamingConfigurations};
use tokio::sync::mpsc::UnboundedSender;

use super::answer::{collect_citations, Utf8Pieces};
use super::error::{from_sdk, AgentError, AgentTarget, Kind};
use super::request::AgentRequest;
use super::retry::{emit, AttemptFailed, Streamed};
use super::session::SessionId;

/// Sends `request` and reads the whole stream. Every wait (the response, each event) is limited
/// to `idle`; the caller limits the whole.
pub(super) async fn invoke_once(
    client: &aws_sdk_bedrockagentruntime::Client,
    target: &AgentTarget,
    request: &AgentRequest,
    idle: Duration,
    pieces: &UnboundedSender<String>,
) -> Result<Streamed, AttemptFailed> {
    let before_text = |error| AttemptFailed {
        error,
        sent_text: false,
    };
    let attributes = request
        .session_attributes
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let AgentTarget::Agent {
        agent_id,
        agent_alias_id,
        ..
    } = target
    else {
        let detail = "InvokeAgent needs an agent target".to_owned();
        return Err(before_text(AgentError::Invalid { detail }));
    };
    let call = client
        .invoke_agent()
        .agent_id(agent_id)
        .agent_alias_id(agent_alias_id)
        .session_id(request.session_id.as_str())
        .input_text(&request.input_text)
        .session_state(
            SessionState::builder()
                .set_session_attributes(Some(attributes))
                .build(),
        )
        .streaming_configurations(
            StreamingConfigurations::builder()
                .stream_final_response(true)
                .build(),
        )
        .send();
    let mut output = match tokio::time::timeout(idle, call).await {
        Err(_) => return Err(before_text(AgentError::Stalled { idle })),
        Ok(Err(error)) => return Err(before_text(invoke_error(error, target, false))),
        Ok(Ok(output)) => output,
    };
    let session_id = SessionId::parse(output.session_id());
    let mut streamed = Streamed {
        text: String::new(),
        citations: Vec::new(),
        session_id,
    };
    let mut utf8 = Utf8Pieces::default();
    loop {
        let failed = |error, streamed: &Streamed| AttemptFailed {
            error,
            sent_text: !streamed.text.is_empty(),
        };
        let event = match tokio::time::timeout(idle, output.completion.recv()).await {
            Err(_) => return Err(failed(AgentError::Stalled { idle }, &streamed)),
            Ok(Err(error)) => {
                let after_text = !streamed.text.is_empty();
                return Err(failed(stream_error(error, target, after_text), &streamed));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(event))) => event,
        };
        match event {
            ResponseStream::Chunk(part) => {
                if let Some(bytes) = part.bytes() {
                    let text = utf8.push(bytes.as_ref());
                    emit(text, &mut streamed.text, pieces);
                }
                if let Some(attribution) = part.attribution() {
                    collect_citations(attribution, &mut streamed.citations);
                }
            }
            ResponseStream::Trace(_) | ResponseStream::Files(_) => {}
            ResponseStream::ReturnControl(_) => {
                let detail = "the agent asked the bot to run an action (returnControl), which \
                              the bot does not do; check the agent's action groups"
                    .to_owned();
                return Err(failed(AgentError::Invalid { detail }, &streamed));
            }
            _ => tracing::debug!("skipping an unknown InvokeAgent event"),
        }
    }
    let rest = utf8.finish();
    emit(rest, &mut streamed.text, pieces);
    Ok(streamed)
}

fn invoke_error<R>(
    error: SdkError<InvokeAgentError, R>,
    target: &AgentTarget,
    after_text: bool,
) -> AgentError
where
    R: std::fmt::Debug,
{
    from_sdk(error, target, after_text, |service| {
        let kind = match service {
            InvokeAgentError::ResourceNotFoundException(_) => Kind::NotFound,
            InvokeAgentError::AccessDeniedException(_) => Kind::AccessDenied,
            InvokeAgentError::ThrottlingException(_) => Kind::Throttled,
            InvokeAgentError::ValidationException(_) | InvokeAgentError::ConflictException(_) => {
                Kind::Invalid
            }
            _ => Kind::Other,
        };
        (kind, None)
    })
}

fn stream_error<R>(
    error: SdkError<ResponseStreamError, R>,
    target: &AgentTarget,
    after_text: bool,
) -> AgentError
where
    R: std::fmt::Debug,
{
    from_sdk(error, target, after_text, |service| {
        let kind = match service {
            ResponseStreamError::ResourceNotFoundException(_) => Kind::NotFound,
            ResponseStreamError::AccessDeniedException(_) => Kind::AccessDenied,
            ResponseStreamError::ThrottlingException(_) => Kind::Throttled,
            ResponseStreamError::ValidationException(_)
            | ResponseStreamError::ConflictException(_) => Kind::Invalid,
            _ => Kind::Other,
        };
        (kind, stream_error_name(service))
    })
}

fn stream_error_name(error: &ResponseStreamError) -> Option<&'static str> {
    let name = match error {
        ResponseStreamError::InternalServerException(_) => "internalServerException",
        ResponseStreamError::DependencyFailedException(_) => "dependencyFailedException",
        ResponseStreamError::BadGatewayException(_) => "badGatewayException",
        ResponseStreamError::ModelNotReadyException(_) => "modelNotReadyException",
        ResponseStreamError::ServiceQuotaExceededException(_) => "serviceQuotaExceededException",
        _ => return None,
    };
    Some(name)
}

//! The fake's ConverseStream (`POST /model/{modelId}/converse-stream`, REST JSON in, event
//! stream out: `messageStart`, `contentBlockDelta`s, `contentBlockStop`, `messageStop`,
//! `metadata`), played from the same scripts as InvokeAgent. A script that opens with an
//! exception ConverseStream cannot stream (access denied, not found) is answered as the HTTP
//! error the service gives.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use crate::bedrock::record::{AgentInvocation, FakeApi, FakeMessage};
use crate::bedrock::script::{AgentScript, StreamStep};
use crate::bedrock::server::error_response;
use crate::bedrock::shared::Shared;
use crate::bedrock::wire::{http_error_for, stream_response, Wire, CONVERSE_STREAM_EXCEPTIONS};

pub(crate) async fn converse_stream(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error_response(400, "ValidationException", "the body is not JSON");
    };
    let texts = |blocks: Option<&Value>| -> String {
        blocks
            .and_then(Value::as_array)
            .map(|blocks| {
                blocks
                    .iter()
                    .filter_map(|block| block.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default()
    };
    let messages: Vec<FakeMessage> = request
        .get("messages")
        .and_then(Value::as_array)
        .map(|messages| {
            messages
                .iter()
                .map(|message| FakeMessage {
                    role: message
                        .get("role")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    text: texts(message.get("content")),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut metadata: BTreeMap<String, String> = request
        .get("requestMetadata")
        .and_then(Value::as_object)
        .map(|entries| {
            entries
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let session_id = metadata.remove("session_id").unwrap_or_default();
    let system = texts(request.get("system"));
    let guardrail = request.get("guardrailConfig").map(|config| {
        let field = |name: &str| {
            config
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        (field("guardrailIdentifier"), field("guardrailVersion"))
    });
    let invocation = AgentInvocation {
        api: FakeApi::ConverseStream,
        session_id: session_id.clone(),
        input_text: messages
            .last()
            .filter(|message| message.role == "user")
            .map(|message| message.text.clone())
            .unwrap_or_default(),
        session_attributes: metadata,
        model_id: Some(model_id),
        system_prompt: (!system.is_empty()).then_some(system),
        messages: messages.clone(),
        inference_config: request.get("inferenceConfig").cloned(),
        guardrail,
        ..AgentInvocation::default()
    };
    if let Some(problem) = alternation_problem(&messages) {
        shared.record_and_pick(invocation);
        return error_response(400, "ValidationException", &problem);
    }
    match shared.record_and_pick(invocation) {
        AgentScript::HttpError {
            status,
            error_type,
            message,
        } => error_response(status, &error_type, &message),
        AgentScript::Stream(steps) => match leading_exception(&steps) {
            Some((kind, message)) if !CONVERSE_STREAM_EXCEPTIONS.contains(&kind) => {
                let (status, error_type) = http_error_for(kind);
                error_response(status, &error_type, message)
            }
            _ => stream_response(shared, session_id, steps, Wire::Converse),
        },
    }
}

/// What the service says of messages that do not start with a user turn and alternate.
fn alternation_problem(messages: &[FakeMessage]) -> Option<String> {
    if messages.first().is_none_or(|first| first.role != "user") {
        return Some("A conversation must start with a user message.".to_owned());
    }
    let alternates = messages.windows(2).all(|pair| pair[0].role != pair[1].role);
    (!alternates)
        .then(|| "A conversation must alternate between user and assistant roles.".to_owned())
}

/// The exception a script opens with (past any delays), if it does.
pub(crate) fn leading_exception(steps: &[StreamStep]) -> Option<(&str, &str)> {
    match steps
        .iter()
        .find(|step| !matches!(step, StreamStep::Delay(_)))?
    {
        StreamStep::Exception { kind, message } => Some((kind, message)),
        _ => None,
    }
}

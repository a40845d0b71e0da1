//! The fake's InvokeAgentRuntime (`POST /runtimes/{agentRuntimeArn}/invocations`, the JSON
//! payload in, the runtime session in `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`): the
//! script's answer as server-sent events (`data:` lines with JSON strings) or, when the fake is
//! set to answer whole, as one JSON body once every step has played. A script that opens with
//! an exception is answered as the HTTP error the service gives.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::bedrock::converse::leading_exception;
use crate::bedrock::record::{AgentInvocation, FakeApi};
use crate::bedrock::script::{AgentScript, StreamStep};
use crate::bedrock::server::error_response;
use crate::bedrock::shared::{lock, Shared};
use crate::bedrock::wire::{http_error_for, stream_response, wait_for_release, Wire};

/// How the fake AgentCore runtime sends its answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuntimeResponse {
    /// `text/event-stream`, one `data:` event per chunk.
    #[default]
    EventStream,
    /// `application/json`, the whole answer at once: `{"result": {"role": "assistant",
    /// "content": [{"text": …}]}}`.
    WholeJson,
    /// `text/event-stream` as an agent framework streams its events: per chunk the raw model
    /// event (`{"event": {"contentBlockDelta": …}}`) and the text event (`{"data": …}`), then
    /// the whole answer again (`{"message": …}`).
    FrameworkEvents,
}

const SESSION_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-session-id";

pub(crate) async fn invoke_agent_runtime(
    State(shared): State<Arc<Shared>>,
    Path(runtime_arn): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return error_response(400, "ValidationException", "the payload is not JSON");
    };
    let session_id = headers
        .get(SESSION_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let attributes: BTreeMap<String, String> = payload
        .get("attributes")
        .and_then(Value::as_object)
        .map(|entries| {
            entries
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let invocation = AgentInvocation {
        api: FakeApi::InvokeAgentRuntime,
        session_id: session_id.clone(),
        input_text: payload
            .get("prompt")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        session_attributes: attributes,
        runtime_arn: Some(runtime_arn),
        qualifier: query.get("qualifier").cloned(),
        payload: Some(payload),
        ..AgentInvocation::default()
    };
    if session_id.len() < 33 {
        shared.record_and_pick(invocation);
        return error_response(
            400,
            "ValidationException",
            "runtimeSessionId must be at least 33 characters",
        );
    }
    let mode = *lock(&shared.runtime_response);
    match shared.record_and_pick(invocation) {
        AgentScript::HttpError {
            status,
            error_type,
            message,
        } => error_response(status, &error_type, &message),
        AgentScript::Stream(steps) => {
            if let Some((kind, message)) = leading_exception(&steps) {
                let (status, error_type) = http_error_for(kind);
                return error_response(status, &error_type, message);
            }
            match mode {
                RuntimeResponse::EventStream => {
                    stream_response(shared, session_id, steps, Wire::RuntimeSse)
                }
                RuntimeResponse::WholeJson => whole_json(shared, session_id, steps).await,
                RuntimeResponse::FrameworkEvents => {
                    stream_response(shared, session_id, steps, Wire::RuntimeFramework)
                }
            }
        }
    }
}

/// Plays every step (delays, releases, stalls) without sending anything, then answers whole.
async fn whole_json(shared: Arc<Shared>, session_id: String, steps: Vec<StreamStep>) -> Response {
    let mut bytes = Vec::new();
    for step in steps {
        match step {
            StreamStep::Chunk { text, .. } => {
                shared.record_chunk(&session_id, &text);
                bytes.extend_from_slice(text.as_bytes());
            }
            StreamStep::RawChunk(raw) => bytes.extend_from_slice(&raw),
            StreamStep::Trace(_) => {}
            StreamStep::Exception { kind, message } => {
                let body = json!({ "error": message, "error_type": kind });
                return json_response(&session_id, body);
            }
            StreamStep::Delay(wait) => tokio::time::sleep(wait).await,
            StreamStep::WaitForRelease => {
                if !wait_for_release(&shared).await {
                    return error_response(503, "ServiceUnavailableException", "stopping");
                }
            }
            StreamStep::Stall => {
                let mut stop = shared.shutdown.subscribe();
                let _ = stop.wait_for(|stopping| *stopping).await;
                return error_response(503, "ServiceUnavailableException", "stopping");
            }
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = json!({ "result": { "role": "assistant", "content": [{ "text": text }] } });
    json_response(&session_id, body)
}

fn json_response(session_id: &str, body: Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::HeaderName::from_static(SESSION_HEADER),
                session_id.to_owned(),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

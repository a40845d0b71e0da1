//! The HTTP side of the fake agent: `POST /agents/{agentId}/agentAliases/{aliasId}/sessions/{sessionId}/text`
//! answered per its script, as an event stream or an HTTP error, and the control plane's
//! GetAgentAlias (`control_plane.rs`). SigV4 is accepted unchecked.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream;
use serde_json::Value;

use crate::bedrock::record::AgentInvocation;
use crate::bedrock::script::{AgentScript, StreamStep};
use crate::bedrock::shared::Shared;
use crate::bedrock::{control_plane, frames};

const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // GetAgentAlias: the SDK's serializer writes the path without a trailing slash, the API
    // reference with one; both are served.
    let alias = get(control_plane::get_agent_alias);
    Router::new()
        .route(
            "/agents/{agent_id}/agentAliases/{alias_id}/sessions/{session_id}/text",
            post(invoke_agent),
        )
        .route("/agents/{agent_id}/agentaliases/{alias_id}", alias.clone())
        .route("/agents/{agent_id}/agentaliases/{alias_id}/", alias)
        .with_state(shared)
}

async fn invoke_agent(
    State(shared): State<Arc<Shared>>,
    Path((agent_id, agent_alias_id, session_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error_response(400, "ValidationException", "the body is not JSON");
    };
    let text_at = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
    let session_attributes: BTreeMap<String, String> = request
        .pointer("/sessionState/sessionAttributes")
        .and_then(Value::as_object)
        .map(|attributes| {
            attributes
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let invocation = AgentInvocation {
        agent_id,
        agent_alias_id,
        session_id: session_id.clone(),
        input_text: text_at("/inputText").unwrap_or_default().to_owned(),
        session_attributes,
        stream_final_response: request
            .pointer("/streamingConfigurations/streamFinalResponse")
            .and_then(Value::as_bool),
    };
    let script = shared.record_and_pick(invocation);
    match script {
        AgentScript::HttpError {
            status,
            error_type,
            message,
        } => error_response(status, &error_type, &message),
        AgentScript::Stream(steps) => stream_response(shared, session_id, steps),
    }
}

pub(crate) fn error_response(status: u16, error_type: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({ "message": message }).to_string();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::HeaderName::from_static("x-amzn-errortype"),
                error_type.to_owned(),
            ),
        ],
        body,
    )
        .into_response()
}

/// Plays `steps` out as frames. A stall waits for the fake's shutdown, so the client sees an
/// open, silent connection.
fn stream_response(shared: Arc<Shared>, session_id: String, steps: Vec<StreamStep>) -> Response {
    let state = (steps.into_iter(), shared, session_id.clone());
    let frames = stream::unfold(state, |(mut steps, shared, session_id)| async move {
        loop {
            let frame = match steps.next()? {
                StreamStep::Chunk { text, citations } => {
                    shared.record_chunk(&session_id, &text);
                    frames::chunk(text.as_bytes(), &citations)
                }
                StreamStep::RawChunk(bytes) => frames::chunk(&bytes, &[]),
                StreamStep::Trace(text) => frames::trace(&session_id, &text),
                StreamStep::Exception { kind, message } => {
                    let frame = frames::exception(&kind, &message);
                    let ended = Vec::<StreamStep>::new().into_iter();
                    return Some((Ok(Bytes::from(frame)), (ended, shared, session_id)));
                }
                StreamStep::Delay(wait) => {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                StreamStep::WaitForRelease => {
                    let mut stop = shared.shutdown.subscribe();
                    tokio::select! {
                        permit = shared.releases.acquire() => match permit {
                            Ok(permit) => permit.forget(),
                            Err(_) => return None,
                        },
                        _ = stop.wait_for(|stopping| *stopping) => return None,
                    }
                    continue;
                }
                StreamStep::Stall => {
                    let mut stop = shared.shutdown.subscribe();
                    let _ = stop.wait_for(|stopping| *stopping).await;
                    return None;
                }
            };
            return Some((
                Ok::<_, std::io::Error>(Bytes::from(frame)),
                (steps, shared, session_id),
            ));
        }
    });
    let mut response = Response::new(Body::from_stream(frames));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(EVENT_STREAM),
    );
    headers.insert(
        "x-amzn-bedrock-agent-content-type",
        header::HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&session_id) {
        headers.insert("x-amz-bedrock-agent-session-id", value);
    }
    response
}

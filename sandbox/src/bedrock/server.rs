//! The HTTP side of the fake: InvokeAgent (`POST /agents/{agentId}/agentAliases/{aliasId}/sessions/{sessionId}/text`)
//! answered per its script, as an event stream or an HTTP error; ConverseStream
//! (`converse.rs`), InvokeAgentRuntime (`runtime.rs`) and the control plane's GetAgentAlias
//! (`control_plane.rs`). SigV4 is accepted unchecked.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use crate::bedrock::record::AgentInvocation;
use crate::bedrock::script::AgentScript;
use crate::bedrock::shared::Shared;
use crate::bedrock::wire::{stream_response, Wire};
use crate::bedrock::{control_plane, converse, runtime};

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
        .route(
            "/model/{model_id}/converse-stream",
            post(converse::converse_stream),
        )
        .route(
            "/runtimes/{runtime_arn}/invocations",
            post(runtime::invoke_agent_runtime),
        )
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
        ..AgentInvocation::default()
    };
    let script = shared.record_and_pick(invocation);
    match script {
        AgentScript::HttpError {
            status,
            error_type,
            message,
        } => error_response(status, &error_type, &message),
        AgentScript::Stream(steps) => stream_response(shared, session_id, steps, Wire::InvokeAgent),
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

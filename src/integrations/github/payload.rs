//! Dispatch bodies, checked against GitHub's documented limits before anything is sent.

use serde_json::{json, Map, Value};

use super::error::GitHubError;
use super::model::DispatchRequest;

/// Longest repository_dispatch `event_type`.
pub const MAX_EVENT_TYPE_CHARS: usize = 100;
/// Most top-level keys of a repository_dispatch `client_payload`.
pub const MAX_PAYLOAD_KEYS: usize = 10;
/// Most workflow_dispatch `inputs`.
pub const MAX_INPUTS: usize = 25;
/// Largest dispatch body GitHub takes (it must stay under 64 KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024 - 1;

/// The fields the workflow reads, as strings: `client_payload` or `inputs`.
fn fields(request: &DispatchRequest) -> Map<String, Value> {
    let mut fields = Map::new();
    let mut put = |key: &str, value: &str| {
        fields.insert(key.to_owned(), Value::String(value.to_owned()));
    };
    put("version", &request.version);
    put("environment", &request.environment);
    put("action", request.action.as_str());
    put("requested_by", &request.requested_by);
    put("approved_by", &request.approved_by.join(","));
    put("request_id", &request.request_id);
    fields
}

/// `{"event_type", "client_payload"}` for `POST /repos/{o}/{r}/dispatches`.
pub(super) fn repository_dispatch(
    event_type: &str,
    request: &DispatchRequest,
) -> Result<Vec<u8>, GitHubError> {
    let chars = event_type.chars().count();
    if !(1..=MAX_EVENT_TYPE_CHARS).contains(&chars) {
        return Err(GitHubError::InvalidEventType {
            chars,
            limit: MAX_EVENT_TYPE_CHARS,
        });
    }
    let payload = fields(request);
    if payload.len() > MAX_PAYLOAD_KEYS {
        return Err(GitHubError::InvalidPayload {
            what: "client_payload keys",
            count: payload.len(),
            limit: MAX_PAYLOAD_KEYS,
        });
    }
    sized(&json!({"event_type": event_type, "client_payload": payload}))
}

/// `{"ref", "inputs", "return_run_details"?}` for `POST …/actions/workflows/{file}/dispatches`.
pub(super) fn workflow_dispatch(
    git_ref: &str,
    request: &DispatchRequest,
    return_run_details: bool,
) -> Result<Vec<u8>, GitHubError> {
    let inputs = fields(request);
    if inputs.len() > MAX_INPUTS {
        return Err(GitHubError::InvalidPayload {
            what: "workflow inputs",
            count: inputs.len(),
            limit: MAX_INPUTS,
        });
    }
    let mut body = json!({"ref": git_ref, "inputs": inputs});
    if return_run_details {
        body["return_run_details"] = Value::Bool(true);
    }
    sized(&body)
}

fn sized(body: &Value) -> Result<Vec<u8>, GitHubError> {
    let bytes = serde_json::to_vec(body).map_err(|error| GitHubError::Protocol {
        detail: format!("could not write the dispatch body: {error}"),
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(GitHubError::PayloadTooLarge {
            bytes: bytes.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(bytes)
}

//! The HTTP side: `POST /api/{method}` (JSON or form bodies) and `POST /hooks/…` response_url targets.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::slack::faults::HttpFault;
use crate::slack::methods;
use crate::slack::record::{abbreviate, ApiCall, AuthKind};
use crate::slack::state::Shared;
use crate::slack::timeline::{lock, TimelineKind};

/// Fields that clients may send as JSON strings inside form bodies.
const JSON_STRING_FIELDS: [&str; 4] = ["blocks", "attachments", "metadata", "view"];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{method}", any(api))
        .route("/hooks/{*rest}", post(hook))
        .route("/upload/{id}", post(crate::slack::files::receive_bytes))
        .with_state(shared)
}

/// What the fake answers, before it becomes an HTTP response.
pub(crate) enum Outcome {
    /// HTTP 200 with this JSON body.
    Json(Value),
    /// HTTP 429, `Retry-After`, `{"ok":false,"error":"ratelimited"}`.
    RateLimited(u64),
    /// HTTP 500 with a plain-text body.
    ServerError,
    /// The call was handled and would have been answered with this JSON, but the connection is
    /// dropped instead (`HttpFault::ResponseLost`).
    Lost(Value),
}

/// What an injected fault makes of a call.
enum Injected {
    /// Answer this instead of handling the call.
    Answer(Outcome),
    /// Handle the call as usual.
    Handle,
    /// Handle the call, then drop the connection without an answer.
    HandleThenDrop,
}

impl Outcome {
    pub(crate) fn error(error: &str) -> Self {
        Outcome::Json(json!({"ok": false, "error": error}))
    }

    /// The recorded status: 0 when no answer was sent.
    fn recorded_status(&self) -> u16 {
        match self {
            Outcome::Lost(_) => 0,
            outcome => outcome.status().as_u16(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Outcome::Json(_) | Outcome::Lost(_) => StatusCode::OK,
            Outcome::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Outcome::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body_json(&self) -> Value {
        match self {
            Outcome::Json(value) | Outcome::Lost(value) => value.clone(),
            Outcome::RateLimited(_) => json!({"ok": false, "error": "ratelimited"}),
            Outcome::ServerError => Value::Null,
        }
    }

    fn into_response(self) -> Response {
        let json_type = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
        match self {
            Outcome::Json(value) => (StatusCode::OK, json_type, value.to_string()).into_response(),
            Outcome::RateLimited(secs) => {
                let body = json!({"ok": false, "error": "ratelimited"}).to_string();
                let mut response = (StatusCode::TOO_MANY_REQUESTS, json_type, body).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                response
            }
            Outcome::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain")],
                "Internal Server Error (sandbox fault)",
            )
                .into_response(),
            Outcome::Lost(_) => lost_answer(),
        }
    }
}

async fn api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    http_method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let (mut params, parse_error) = match parse_params(&headers, query.as_deref(), &body) {
        Ok(params) => (params, None),
        Err(error) => {
            let mut raw = Map::new();
            raw.insert(
                "_raw".into(),
                Value::from(String::from_utf8_lossy(&body).into_owned()),
            );
            (raw, Some(error))
        }
    };
    let form_token = params
        .remove("token")
        .and_then(|v| v.as_str().map(str::to_string));
    let token = bearer_token(&headers).or(form_token);
    let auth = lock(&shared.tokens).classify(token.as_deref());
    let injected = take_fault(&shared, &method).await;
    let drop_answer = matches!(injected, Injected::HandleThenDrop);
    let outcome = match injected {
        Injected::Answer(outcome) => outcome,
        Injected::Handle | Injected::HandleThenDrop => match parse_error {
            Some(error) => Outcome::error(error),
            None => methods::handle(&shared, &method, &params, auth),
        },
    };
    let outcome = match (drop_answer, outcome) {
        (true, Outcome::Json(value)) => Outcome::Lost(value),
        (_, outcome) => outcome,
    };
    let params = Value::Object(params);
    shared.note(
        TimelineKind::ApiCall,
        describe_call(&method, &params, &outcome),
    );
    record(
        &shared,
        &method,
        format!("/api/{method}"),
        &http_method,
        params,
        auth,
        at,
        &outcome,
    );
    let mut response = outcome.into_response();
    if auth == AuthKind::Bot {
        // Slack tells a bot token's scopes on every answer.
        let scopes = lock(&shared.app).bot_scopes.join(",");
        if let Ok(value) = HeaderValue::from_str(&scopes) {
            response.headers_mut().insert("x-oauth-scopes", value);
        }
    }
    response
}

async fn hook(
    State(shared): State<Arc<Shared>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let params = parse_hook_body(&headers, &body);
    let fault = match take_fault(&shared, "hooks").await {
        Injected::Answer(outcome) => Some(outcome),
        Injected::Handle => None,
        Injected::HandleThenDrop => Some(Outcome::Lost(Value::Null)),
    };
    let status = fault.as_ref().map_or(StatusCode::OK, Outcome::status);
    let text = params
        .get("text")
        .and_then(Value::as_str)
        .map(|t| format!(" {:?}", abbreviate(t, 60)))
        .unwrap_or_default();
    shared.note(
        TimelineKind::Hook,
        format!("POST /hooks/{rest}{text} -> {}", status.as_u16()),
    );
    let path = format!("/hooks/{rest}");
    match fault {
        Some(outcome) => {
            record(
                &shared,
                "hooks",
                path,
                &Method::POST,
                params,
                AuthKind::Missing,
                at,
                &outcome,
            );
            outcome.into_response()
        }
        None => {
            let ok = Outcome::Json(Value::Null);
            record(
                &shared,
                "hooks",
                path,
                &Method::POST,
                params,
                AuthKind::Missing,
                at,
                &ok,
            );
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "ok").into_response()
        }
    }
}

/// What the pending fault for `method` (if any) makes of this call; a delay fault sleeps first,
/// a hang holds the request and then fails it.
async fn take_fault(shared: &Shared, method: &str) -> Injected {
    let Some(fault) = shared.faults.take(method) else {
        return Injected::Handle;
    };
    shared.note(TimelineKind::Fault, format!("{method}: injected {fault}"));
    match fault {
        HttpFault::RateLimited { retry_after_secs } => {
            Injected::Answer(Outcome::RateLimited(retry_after_secs))
        }
        HttpFault::ServerError => Injected::Answer(Outcome::ServerError),
        HttpFault::SlackError(error) => Injected::Answer(Outcome::error(&error)),
        HttpFault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            Injected::Handle
        }
        HttpFault::Hang(hold) => {
            let mut stop = shared.shutdown.subscribe();
            tokio::select! {
                _ = tokio::time::sleep(hold) => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
            Injected::Answer(Outcome::ServerError)
        }
        HttpFault::ResponseLost => Injected::HandleThenDrop,
    }
}

/// A response whose body fails at once: hyper drops the connection, and the client gets no
/// (complete) answer.
fn lost_answer() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("sandbox fault: answer lost"))
    });
    Response::new(axum::body::Body::from_stream(failing))
}

#[allow(clippy::too_many_arguments)]
fn record(
    shared: &Shared,
    method: &str,
    path: String,
    http_method: &Method,
    params: Value,
    auth: AuthKind,
    at: Instant,
    outcome: &Outcome,
) {
    {
        let mut calls = lock(&shared.calls);
        let seq = calls.len() as u64 + 1;
        calls.push(ApiCall {
            seq,
            method: method.to_string(),
            path,
            http_method: http_method.to_string(),
            params,
            auth,
            at,
            status: outcome.recorded_status(),
            response: outcome.body_json(),
        });
    }
    shared.calls_signal.bump();
}

fn describe_call(method: &str, params: &Value, outcome: &Outcome) -> String {
    let mut line = method.to_string();
    if let Some(channel) = params.get("channel").and_then(Value::as_str) {
        line.push_str(&format!(" {channel}"));
    }
    if let Some(text) = params.get("text").and_then(Value::as_str) {
        line.push_str(&format!(" {:?}", abbreviate(text, 60)));
    }
    let result = match outcome {
        Outcome::Json(value) => match value.get("error").and_then(Value::as_str) {
            Some(error) => format!("error {error}"),
            None => match value.get("ts").and_then(Value::as_str) {
                Some(ts) => format!("ok ts={ts}"),
                None => "ok".to_string(),
            },
        },
        Outcome::RateLimited(secs) => format!("429 retry after {secs}s"),
        Outcome::ServerError => "500".to_string(),
        Outcome::Lost(_) => "handled, answer lost (connection dropped)".to_string(),
    };
    format!("{line} -> {result}")
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_string())
}

/// Query parameters plus the JSON or form body, as one JSON object.
fn parse_params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, &'static str> {
    let mut params = Map::new();
    if let Some(query) = query {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map_err(|_| "invalid_form_data")?;
        for (key, value) in pairs {
            params.insert(key, Value::String(value));
        }
    }
    if !body.iter().all(u8::is_ascii_whitespace) {
        if is_json(headers) {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => params.extend(map),
                _ => return Err("invalid_json"),
            }
        } else {
            let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
                .map_err(|_| "invalid_form_data")?;
            for (key, value) in pairs {
                params.insert(key, Value::String(value));
            }
        }
    }
    for key in JSON_STRING_FIELDS {
        let parsed = params
            .get(key)
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .filter(|value| value.is_array() || value.is_object());
        if let Some(parsed) = parsed {
            params.insert(key.to_string(), parsed);
        }
    }
    Ok(params)
}

/// A response_url body: JSON if it parses, else form fields (a JSON `payload` field parsed), else text.
fn parse_hook_body(headers: &HeaderMap, body: &[u8]) -> Value {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return value;
    }
    if !is_json(headers) {
        if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
            if !pairs.is_empty() {
                let mut map = Map::new();
                for (key, value) in pairs {
                    let value = serde_json::from_str::<Value>(&value)
                        .ok()
                        .filter(|v| key == "payload" && v.is_object())
                        .unwrap_or(Value::String(value));
                    map.insert(key, value);
                }
                return Value::Object(map);
            }
        }
    }
    Value::String(String::from_utf8_lossy(body).into_owned())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers
    }

    #[test]
    fn form_fields_become_json_and_blocks_are_parsed() {
        let body = b"channel=C1&text=hi+there&blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D";
        let params = parse_params(&form_headers(), None, body).expect("form parses");
        assert_eq!(params["channel"], "C1");
        assert_eq!(params["text"], "hi there");
        assert_eq!(params["blocks"], json!([{"type": "divider"}]));
    }

    #[test]
    fn bad_json_is_reported_as_slack_does() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(parse_params(&headers, None, b"{nope"), Err("invalid_json"));
        let ok = parse_params(&headers, Some("x=1"), br#"{"channel":"C1"}"#).expect("json");
        assert_eq!(ok["x"], "1");
        assert_eq!(ok["channel"], "C1");
    }
}

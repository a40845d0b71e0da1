//! The HTTP side of the fake GitHub: one handler that checks credentials, applies a queued fault,
//! routes by path, records the request with its status, and sends GitHub's rate-limit headers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use time::OffsetDateTime;

use crate::github::auth;
use crate::github::record::{AuthKind, FaultKind, GitHubRequest};
use crate::github::repository;
use crate::github::routes::{self, whole_seconds, Answer, Params};
use crate::github::shared::{Shared, State as FakeState, RATE_LIMIT};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// What a request turned into: an answer, a hang, or a dropped connection.
enum Outcome {
    Answer(Answer, Vec<(&'static str, String)>),
    Hang,
    Drop,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = decide(&shared, &method, &uri, &headers, &body);
    match outcome {
        Outcome::Answer(answer, extra) => respond(answer, extra),
        Outcome::Hang => {
            let mut stop = shared.shutdown.subscribe();
            let _ = stop.wait_for(|stopping| *stopping).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Outcome::Drop => {
            let broken = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by fault"))
            });
            (StatusCode::OK, Body::from_stream(broken)).into_response()
        }
    }
}

fn decide(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Outcome {
    let now = Instant::now();
    let api = shared.api_url();
    let mut state = shared.state();
    state.settle(now);
    let path = uri.path().to_owned();
    let auth = auth::check(&state, headers, now);
    let params: Params =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    let fault = state.take_fault(method.as_str(), &path);
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let (outcome, status) = match fault.map(|fault| fault.kind) {
        // GitHub refuses requests without a User-Agent before anything else.
        _ if header_text("user-agent").is_none_or(|agent| agent.is_empty()) => {
            let answer = Answer::error(
                403,
                "Request forbidden by administrative rules. Please make sure your request has a \
                 User-Agent header",
            );
            (Outcome::Answer(answer, Vec::new()), 403)
        }
        Some(FaultKind::Hang) => (Outcome::Hang, 0),
        Some(FaultKind::DropAfterWork) => {
            route(&mut state, method, &path, &params, auth, body, &api, now);
            (Outcome::Drop, 0)
        }
        Some(kind) => {
            let (answer, extra) = fault_answer(&kind);
            let status = answer.status;
            (Outcome::Answer(answer, extra), status)
        }
        None => {
            let (answer, extra) = match state.spend_rate_limit() {
                Ok((remaining, reset)) => {
                    let answer = route(&mut state, method, &path, &params, auth, body, &api, now);
                    let mut headers = rate_headers(remaining, reset);
                    headers.extend(repository::token_headers(&state, auth));
                    (answer, headers)
                }
                Err(reset) => (
                    Answer::error(403, "API rate limit exceeded for installation."),
                    rate_headers(0, reset),
                ),
            };
            let status = answer.status;
            (Outcome::Answer(answer, extra), status)
        }
    };
    state.record(GitHubRequest {
        method: method.to_string(),
        path,
        query: uri.query().unwrap_or_default().to_owned(),
        auth,
        api_version: header_text("x-github-api-version"),
        accept: header_text("accept"),
        status,
        at: now,
    });
    outcome
}

/// The primary rate-limit headers, `reset` in Unix seconds.
fn rate_headers(remaining: u64, reset: i64) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", RATE_LIMIT.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
    ]
}

fn fault_answer(kind: &FaultKind) -> (Answer, Vec<(&'static str, String)>) {
    match kind {
        FaultKind::NotFound => (Answer::error(404, "Not Found"), Vec::new()),
        FaultKind::Unprocessable(message) => (Answer::error(422, message), Vec::new()),
        FaultKind::Forbidden(message) => (Answer::error(403, message), Vec::new()),
        FaultKind::RateLimitExhausted { reset_in } => (
            Answer::error(403, "API rate limit exceeded for installation."),
            rate_headers(
                0,
                OffsetDateTime::now_utc().unix_timestamp() + whole_seconds(*reset_in) as i64,
            ),
        ),
        FaultKind::SecondaryLimit { retry_after_secs } => (
            Answer::error(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."),
            vec![("retry-after", retry_after_secs.to_string())],
        ),
        FaultKind::TooManyRequests { retry_after_secs } => (
            Answer::error(429, "Too Many Requests"),
            retry_after_secs
                .map(|secs| vec![("retry-after", secs.to_string())])
                .unwrap_or_default(),
        ),
        FaultKind::Status(status) => (Answer::error(*status, "Server Error"), Vec::new()),
        // Handled before an answer is made.
        FaultKind::Hang | FaultKind::DropAfterWork => (Answer::error(500, "fault"), Vec::new()),
    }
}

/// Routes one authorised-or-not request by its path segments.
#[allow(clippy::too_many_arguments)]
fn route(
    state: &mut FakeState,
    method: &Method,
    path: &str,
    params: &Params,
    auth: AuthKind,
    body: &[u8],
    api: &str,
    now: Instant,
) -> Answer {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let ["app", "installations", installation, "access_tokens"] = segments.as_slice() {
        if auth != AuthKind::Jwt {
            return Answer::error(401, "A JSON web token could not be decoded");
        }
        return match *method {
            Method::POST => routes::mint_token(state, installation, now),
            _ => Answer::error(404, "Not Found"),
        };
    }
    let ["repos", owner, repo, rest @ ..] = segments.as_slice() else {
        return Answer::error(404, "Not Found");
    };
    if !matches!(auth, AuthKind::Token | AuthKind::Installation) {
        return Answer::error(401, "Bad credentials");
    }
    let ours = owner.eq_ignore_ascii_case(&state.settings.owner)
        && repo.eq_ignore_ascii_case(&state.settings.repo);
    if !ours {
        return Answer::error(404, "Not Found");
    }
    match (method.clone(), rest) {
        (Method::GET, []) => repository::repository(state, auth, api),
        (Method::POST, ["dispatches"]) => routes::repository_dispatch(state, body, now),
        (Method::POST, ["actions", "workflows", _, "dispatches"]) => {
            routes::workflow_dispatch(state, body, now)
        }
        (Method::GET, ["actions", "runs"]) => routes::list_runs(state, params, api, now),
        (Method::GET, ["actions", "runs", id]) => routes::get_run(state, id, false, api, now),
        (Method::GET, ["actions", "runs", id, "jobs"]) => {
            routes::get_run(state, id, true, api, now)
        }
        (Method::GET, ["deployments"]) => routes::list_deployments(state, params, api),
        (Method::GET, ["deployments", id, "statuses"]) => {
            routes::deployment_statuses(state, id, params)
        }
        _ => Answer::error(404, "Not Found"),
    }
}

fn respond(answer: Answer, extra: Vec<(&'static str, String)>) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

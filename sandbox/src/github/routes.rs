//! The fake GitHub's endpoints: token minting, both dispatches (with GitHub's body rules), the
//! runs list and one run with its jobs, deployments and their statuses.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::github::repository;
use crate::github::runs::{stamp, FakeRun, RunOutcome};
use crate::github::shared::State;

/// The largest dispatch body GitHub takes.
const MAX_BODY_BYTES: usize = 64 * 1024 - 1;
const MAX_EVENT_TYPE_CHARS: usize = 100;
const MAX_PAYLOAD_KEYS: usize = 10;
const MAX_INPUTS: usize = 25;
const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;

/// An answer before it becomes HTTP: status, JSON body (none for 204).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }

    pub(crate) fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
        }
    }

    /// GitHub's error shape: `{"message", "documentation_url", "status"}`.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            json!({"message": message, "documentation_url": "https://docs.github.com/rest",
                   "status": status.to_string()}),
        )
    }
}

/// A request's query as name/value pairs.
pub(crate) type Params = Vec<(String, String)>;

fn param<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn per_page(params: &Params) -> usize {
    param(params, "per_page")
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_PER_PAGE)
        .clamp(1, MAX_PER_PAGE)
}

/// `POST /app/installations/{id}/access_tokens`.
pub(crate) fn mint_token(state: &mut State, installation: &str, now: Instant) -> Answer {
    if installation != state.settings.installation_id.to_string() {
        return Answer::error(404, "Not Found");
    }
    state.mints += 1;
    let serial = state.next_id();
    let token = format!("ghs_fake{:04}x{serial}", state.mints);
    let lifetime = state.settings.token_lifetime;
    state.tokens.insert(token.clone(), now + lifetime);
    let expires_at = OffsetDateTime::now_utc() + lifetime;
    Answer::json(
        201,
        json!({"token": token, "expires_at": stamp(expires_at),
               "permissions": repository::installation_permissions(state),
               "repository_selection": "selected"}),
    )
}

/// The body as a JSON object, or GitHub's answer to one that is not.
fn object(body: &[u8]) -> Result<Map<String, Value>, Answer> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Answer::error(
            422,
            "Request body is too large (the limit is 64 KB).",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(Answer::error(400, "Problems parsing JSON")),
    }
}

/// `POST /repos/{o}/{r}/dispatches`.
pub(crate) fn repository_dispatch(state: &mut State, body: &[u8], now: Instant) -> Answer {
    let object = match object(body) {
        Ok(object) => object,
        Err(answer) => return answer,
    };
    let event_type = object
        .get("event_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let chars = event_type.chars().count();
    if !(1..=MAX_EVENT_TYPE_CHARS).contains(&chars) {
        return Answer::error(
            422,
            "Invalid request.\n\nevent_type must be between 1 and 100 characters.",
        );
    }
    let payload = match object.get("client_payload") {
        None => Map::new(),
        Some(Value::Object(payload)) => payload.clone(),
        Some(_) => {
            return Answer::error(422, "Invalid request.\n\nclient_payload is not an object.")
        }
    };
    if payload.len() > MAX_PAYLOAD_KEYS {
        return Answer::error(
            422,
            &format!(
                "Invalid request.\n\nNo more than {MAX_PAYLOAD_KEYS} properties are allowed; {} were supplied.",
                payload.len()
            ),
        );
    }
    start_run(state, "repository_dispatch", &payload, now);
    Answer::no_content()
}

/// `POST /repos/{o}/{r}/actions/workflows/{file}/dispatches`.
pub(crate) fn workflow_dispatch(state: &mut State, body: &[u8], now: Instant) -> Answer {
    let object = match object(body) {
        Ok(object) => object,
        Err(answer) => return answer,
    };
    let known = ["ref", "inputs", "return_run_details"];
    if let Some(key) = object.keys().find(|key| !known.contains(&key.as_str())) {
        return Answer::error(
            422,
            &format!("Invalid request.\n\n\"{key}\" is not a permitted key."),
        );
    }
    if state.settings.old_server && object.contains_key("return_run_details") {
        return Answer::error(
            422,
            "Invalid request.\n\n\"return_run_details\" is not a permitted key.",
        );
    }
    if !object.get("ref").is_some_and(Value::is_string) {
        return Answer::error(422, "Invalid request.\n\n\"ref\" wasn't supplied.");
    }
    let inputs = match object.get("inputs") {
        None => Map::new(),
        Some(Value::Object(inputs)) => inputs.clone(),
        Some(_) => return Answer::error(422, "Invalid request.\n\ninputs is not an object."),
    };
    if inputs.len() > MAX_INPUTS {
        return Answer::error(
            422,
            &format!("Invalid request.\n\nNo more than {MAX_INPUTS} inputs are allowed."),
        );
    }
    if let Some((key, _)) = inputs.iter().find(|(_, value)| !value.is_string()) {
        return Answer::error(
            422,
            &format!("Invalid request.\n\nFor 'properties/{key}', it is not a string."),
        );
    }
    let run = start_run(state, "workflow_dispatch", &inputs, now);
    if object.get("return_run_details") == Some(&Value::Bool(true)) {
        let repo = state.repo();
        Answer::json(
            200,
            json!({"workflow_run_id": run.id,
                   "run_url": format!("https://api.github.com/repos/{repo}/actions/runs/{}", run.id),
                   "html_url": run.html_url(&repo)}),
        )
    } else {
        Answer::no_content()
    }
}

/// Creates the run a dispatch starts, its title from the run-name template.
fn start_run(state: &mut State, event: &str, fields: &Map<String, Value>, now: Instant) -> FakeRun {
    let field = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let request_id = field("request_id");
    let shown_id = if state.settings.omit_request_id {
        String::new()
    } else {
        request_id.clone()
    };
    let display_title = state
        .settings
        .run_name
        .replace("{version}", &field("version"))
        .replace("{environment}", &field("environment"))
        .replace("{action}", &field("action"))
        .replace("{request_id}", &shown_id);
    let run = FakeRun {
        id: state.next_id(),
        event: event.to_owned(),
        display_title,
        version: field("version"),
        environment: field("environment"),
        request_id,
        outcome: state.outcomes.pop_front().unwrap_or(RunOutcome::Success),
        created_at: OffsetDateTime::now_utc(),
        started: now,
        timings: state.settings.timings,
        settled: false,
    };
    state.runs.push(run.clone());
    run
}

/// `GET /repos/{o}/{r}/actions/runs` with `event`, `created=>=…` and `per_page`.
pub(crate) fn list_runs(state: &State, params: &Params, api: &str, now: Instant) -> Answer {
    let since = param(params, "created")
        .and_then(|created| created.strip_prefix(">="))
        .map(|since| OffsetDateTime::parse(since, &Rfc3339));
    let since = match since {
        Some(Err(_)) => {
            return Answer::error(422, "Invalid request.\n\ncreated is not a valid date.")
        }
        Some(Ok(since)) => Some(since),
        None => None,
    };
    let event = param(params, "event");
    let repo = state.repo();
    let mut runs: Vec<&FakeRun> = state
        .runs
        .iter()
        .filter(|run| event.is_none_or(|event| run.event == event))
        .filter(|run| {
            since.is_none_or(|since| {
                run.created_at
                    .replace_nanosecond(0)
                    .unwrap_or(run.created_at)
                    >= since
            })
        })
        .collect();
    runs.sort_by_key(|run| std::cmp::Reverse((run.created_at, run.id)));
    let total = runs.len();
    let page: Vec<Value> = runs
        .into_iter()
        .take(per_page(params))
        .map(|run| run.to_json(&repo, api, now))
        .collect();
    Answer::json(200, json!({"total_count": total, "workflow_runs": page}))
}

fn find_run<'s>(state: &'s State, id: &str) -> Option<&'s FakeRun> {
    let id: u64 = id.parse().ok()?;
    state.runs.iter().find(|run| run.id == id)
}

/// `GET …/actions/runs/{id}` and `…/runs/{id}/jobs`.
pub(crate) fn get_run(state: &State, id: &str, jobs: bool, api: &str, now: Instant) -> Answer {
    let Some(run) = find_run(state, id) else {
        return Answer::error(404, "Not Found");
    };
    let repo = state.repo();
    if jobs {
        Answer::json(200, run.jobs_json(&repo, now))
    } else {
        Answer::json(200, run.to_json(&repo, api, now))
    }
}

/// `GET …/deployments?environment=…&per_page=…`, newest first.
pub(crate) fn list_deployments(state: &State, params: &Params, api: &str) -> Answer {
    let environment = param(params, "environment");
    let repo = state.repo();
    let mut found: Vec<_> = state
        .deployments
        .all
        .iter()
        .filter(|deployment| environment.is_none_or(|env| deployment.environment == env))
        .collect();
    found.sort_by_key(|deployment| std::cmp::Reverse((deployment.created_at, deployment.id)));
    let page: Vec<Value> = found
        .into_iter()
        .take(per_page(params))
        .map(|deployment| deployment.to_json(&repo, api))
        .collect();
    Answer::json(200, Value::Array(page))
}

/// `GET …/deployments/{id}/statuses`, newest first.
pub(crate) fn deployment_statuses(state: &State, id: &str, params: &Params) -> Answer {
    let id: Option<u64> = id.parse().ok();
    match state
        .deployments
        .all
        .iter()
        .find(|deployment| Some(deployment.id) == id)
    {
        Some(deployment) => Answer::json(200, deployment.statuses_json(per_page(params))),
        None => Answer::error(404, "Not Found"),
    }
}

/// Rounds a wait up to whole seconds, as GitHub's headers carry them.
pub(crate) fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

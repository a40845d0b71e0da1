//! GitHub's JSON, read into private shapes and turned into the module's typed values at once.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::OffsetDateTime;

use super::error::GitHubError;
use super::model::{
    Conclusion, DeploymentRecord, DeploymentState, DeploymentStatus, JobProgress, RunState,
    RunSummary,
};

/// Reads a 2xx body as `T`; anything else is a `Protocol` error.
pub(super) fn read_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, GitHubError> {
    serde_json::from_slice(body).map_err(|error| GitHubError::Protocol {
        detail: error.to_string(),
    })
}

/// `POST /app/installations/{id}/access_tokens`.
#[derive(Deserialize)]
pub(super) struct InstallationToken {
    pub(super) token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(super) expires_at: OffsetDateTime,
    /// What the token may do, e.g. `{"contents": "write", "metadata": "read"}`.
    #[serde(default)]
    pub(super) permissions: std::collections::BTreeMap<String, String>,
}

/// `GET /repos/{owner}/{repo}`, as far as `check --live` reads it.
#[derive(Deserialize)]
pub(super) struct Repository {
    pub(super) full_name: String,
    /// The caller's rights on the repository (`admin`, `maintain`, `push`, `triage`, `pull`),
    /// present when a user's token asks.
    #[serde(default)]
    pub(super) permissions: Option<std::collections::BTreeMap<String, bool>>,
}

/// A workflow_dispatch answered with `return_run_details`.
#[derive(Deserialize)]
pub(super) struct RunDetails {
    pub(super) workflow_run_id: u64,
    pub(super) html_url: String,
}

#[derive(Deserialize)]
pub(super) struct RunList {
    pub(super) workflow_runs: Vec<Run>,
}

#[derive(Deserialize)]
pub(super) struct Run {
    id: u64,
    html_url: String,
    #[serde(default)]
    display_title: String,
    status: Option<String>,
    conclusion: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl Run {
    pub(super) fn into_summary(self) -> RunSummary {
        RunSummary {
            id: self.id,
            html_url: self.html_url,
            display_title: self.display_title,
            state: run_state(self.status.as_deref(), self.conclusion.as_deref()),
            created_at: self.created_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct JobList {
    pub(super) jobs: Vec<Job>,
}

#[derive(Deserialize)]
pub(super) struct Job {
    name: String,
    status: Option<String>,
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    name: String,
    status: Option<String>,
}

impl Job {
    pub(super) fn into_progress(self) -> JobProgress {
        let current_step = self
            .steps
            .into_iter()
            .find(|step| step.status.as_deref() == Some("in_progress"))
            .map(|step| step.name);
        JobProgress {
            name: self.name,
            state: run_state(self.status.as_deref(), self.conclusion.as_deref()),
            current_step,
            html_url: self.html_url.unwrap_or_default(),
        }
    }
}

/// GitHub's `status` and `conclusion` of a run or job. `queued`, `waiting`, `requested` and
/// `pending` have not started; a status GitHub may add later counts as in progress (the run is
/// there and not finished).
fn run_state(status: Option<&str>, conclusion: Option<&str>) -> RunState {
    match status {
        Some("completed") => RunState::Completed(match conclusion {
            Some(word) => Conclusion::from_github(word),
            None => Conclusion::Other("unknown".to_owned()),
        }),
        None | Some("queued" | "waiting" | "requested" | "pending") => RunState::Queued,
        Some(_) => RunState::InProgress,
    }
}

#[derive(Deserialize)]
pub(super) struct Deployment {
    pub(super) id: u64,
    #[serde(rename = "ref")]
    git_ref: String,
    environment: String,
    #[serde(default)]
    payload: serde_json::Value,
    creator: Option<User>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

impl Deployment {
    pub(super) fn into_record(self, latest: Option<DeploymentStatus>) -> DeploymentRecord {
        let version = payload_version(&self.payload).unwrap_or(self.git_ref);
        DeploymentRecord {
            id: self.id,
            environment: self.environment,
            version,
            creator: self.creator.map(|user| user.login).unwrap_or_default(),
            created_at: self.created_at,
            latest,
        }
    }
}

/// `payload.version`: the payload is an object, or (when created from a string) a string of
/// JSON.
fn payload_version(payload: &serde_json::Value) -> Option<String> {
    let from_object = |object: &serde_json::Value| {
        object
            .get("version")
            .and_then(|version| version.as_str())
            .filter(|version| !version.is_empty())
            .map(str::to_owned)
    };
    match payload {
        serde_json::Value::String(text) => serde_json::from_str(text)
            .ok()
            .and_then(|object: serde_json::Value| from_object(&object)),
        other => from_object(other),
    }
}

#[derive(Deserialize)]
pub(super) struct Status {
    state: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl Status {
    pub(super) fn into_status(self) -> DeploymentStatus {
        DeploymentStatus {
            state: DeploymentState::from_github(&self.state),
            at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_runs_are_queued_and_conclusions_are_read() {
        assert_eq!(run_state(Some("waiting"), None), RunState::Queued);
        assert_eq!(run_state(Some("in_progress"), None), RunState::InProgress);
        assert_eq!(
            run_state(Some("completed"), Some("timed_out")),
            RunState::Completed(Conclusion::TimedOut)
        );
    }

    #[test]
    fn the_version_comes_from_an_object_or_a_string_payload() {
        let object = serde_json::json!({"version": "v1.2.3"});
        assert_eq!(payload_version(&object).as_deref(), Some("v1.2.3"));
        let text = serde_json::json!("{\"version\":\"v9\"}");
        assert_eq!(payload_version(&text).as_deref(), Some("v9"));
        assert_eq!(payload_version(&serde_json::json!("")), None);
    }
}

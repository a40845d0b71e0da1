//! The typed values `DeployPipeline` takes and gives: dispatch requests, runs, jobs, deployments.

use time::OffsetDateTime;

/// Default `event_type` of a repository_dispatch (the example workflow listens for it).
pub const DEFAULT_EVENT_TYPE: &str = "dev_deploy";
/// The git ref a workflow_dispatch runs on when none is configured.
pub const DEFAULT_WORKFLOW_REF: &str = "main";

/// What a dispatch asks the workflow to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployAction {
    Deploy,
    Rollback,
}

impl DeployAction {
    /// The word sent in `client_payload.action` / `inputs.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Rollback => "rollback",
        }
    }
}

/// Which event a dispatch creates, so its run can be found among runs of that event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchEvent {
    RepositoryDispatch,
    WorkflowDispatch,
}

impl DispatchEvent {
    /// GitHub's name of the event (the `event` filter of the runs list).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RepositoryDispatch => "repository_dispatch",
            Self::WorkflowDispatch => "workflow_dispatch",
        }
    }
}

/// How dispatches are sent (from the `[deploy]` section, read elsewhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchSettings {
    /// The repository_dispatch `event_type` the workflow listens for.
    pub event_type: String,
    /// A workflow file (`deploy.yml`) or id: when set, dispatches are workflow_dispatch.
    pub workflow: Option<String>,
    /// The branch or tag a workflow_dispatch runs on; [`DEFAULT_WORKFLOW_REF`] when `None`.
    pub git_ref: Option<String>,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            event_type: DEFAULT_EVENT_TYPE.to_owned(),
            workflow: None,
            git_ref: None,
        }
    }
}

impl DispatchSettings {
    /// The event these settings dispatch.
    pub fn event(&self) -> DispatchEvent {
        match self.workflow {
            Some(_) => DispatchEvent::WorkflowDispatch,
            None => DispatchEvent::RepositoryDispatch,
        }
    }
}

/// One deploy or rollback to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchRequest {
    /// A UUID the workflow puts in its run name, so the run can be found.
    pub request_id: String,
    pub action: DeployAction,
    pub version: String,
    pub environment: String,
    /// Who asked (a Slack user's name or id).
    pub requested_by: String,
    /// Who approved; sent comma-joined.
    pub approved_by: Vec<String>,
}

/// A run GitHub named in its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLink {
    pub id: u64,
    pub html_url: String,
}

/// What a dispatch came back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatched {
    /// workflow_dispatch with run details: the run is known at once.
    Run(RunLink),
    /// 204: GitHub took it; find the run with `find_run`.
    Accepted,
}

/// How a completed run or job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conclusion {
    Success,
    Failure,
    Cancelled,
    TimedOut,
    Skipped,
    ActionRequired,
    Neutral,
    Stale,
    /// A conclusion GitHub added after this was written.
    Other(String),
}

impl Conclusion {
    /// Reads GitHub's word.
    pub fn from_github(word: &str) -> Self {
        match word {
            "success" => Self::Success,
            "failure" => Self::Failure,
            "cancelled" => Self::Cancelled,
            "timed_out" => Self::TimedOut,
            "skipped" => Self::Skipped,
            "action_required" => Self::ActionRequired,
            "neutral" => Self::Neutral,
            "stale" => Self::Stale,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Where a run or job is. GitHub's `waiting` (an environment's approval), `requested` and
/// `pending` (waiting for a runner or a concurrency group) are all `Queued`: nothing has run yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    Queued,
    InProgress,
    Completed(Conclusion),
}

/// One workflow run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub id: u64,
    pub html_url: String,
    /// The run's name as shown (the workflow's `run-name`, which carries the request id).
    pub display_title: String,
    pub state: RunState,
    pub created_at: OffsetDateTime,
}

/// One job of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobProgress {
    pub name: String,
    pub state: RunState,
    /// The step in progress, if any.
    pub current_step: Option<String>,
    pub html_url: String,
}

/// The job and step a run is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentStep<'a> {
    pub job: &'a str,
    pub step: Option<&'a str>,
}

/// A run with its jobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunProgress {
    pub run: RunSummary,
    pub jobs: Vec<JobProgress>,
}

impl RunProgress {
    /// The first job in progress and its step; `None` when no job is running.
    pub fn current(&self) -> Option<CurrentStep<'_>> {
        self.jobs
            .iter()
            .find(|job| job.state == RunState::InProgress)
            .map(|job| CurrentStep {
                job: &job.name,
                step: job.current_step.as_deref(),
            })
    }
}

/// The state of a deployment status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeploymentState {
    Success,
    Failure,
    Error,
    Inactive,
    InProgress,
    Queued,
    Pending,
    /// A state GitHub added after this was written.
    Other(String),
}

impl DeploymentState {
    /// Reads GitHub's word.
    pub fn from_github(word: &str) -> Self {
        match word {
            "success" => Self::Success,
            "failure" => Self::Failure,
            "error" => Self::Error,
            "inactive" => Self::Inactive,
            "in_progress" => Self::InProgress,
            "queued" => Self::Queued,
            "pending" => Self::Pending,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A deployment's latest status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub state: DeploymentState,
    pub at: OffsetDateTime,
}

/// One GitHub deployment of an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentRecord {
    pub id: u64,
    pub environment: String,
    /// The deployment's `payload.version` if present, else its `ref`.
    pub version: String,
    /// The login of whoever created it (the workflow's token: `github-actions[bot]`).
    pub creator: String,
    pub created_at: OffsetDateTime,
    /// `None` when it has no status yet.
    pub latest: Option<DeploymentStatus>,
}

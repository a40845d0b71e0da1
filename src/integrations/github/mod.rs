//! GitHub: the `DeployPipeline` trait (start the deploy workflow, find and follow its run, read
//! an environment's deployments) and `GitHubDeploys`, which speaks GitHub's REST API.
//!
//! Every call is bounded by `github.timeout`, retries and rate-limit waits included, and follows
//! GitHub's documented rate-limit order (`retry-after`, then `x-ratelimit-reset`, then at least a
//! minute, growing). Failures are [`GitHubError`]s a caller branches on, each with a one-line
//! `human_message`. A dispatch is never sent twice: when its answer is lost, the caller finds
//! the run by its request id.

mod access;
mod auth;
mod client;
mod error;
mod http;
mod model;
mod payload;
mod rate;
mod wire;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use access::{Permissions, RepoAccess};
pub use client::GitHubDeploys;
pub use error::GitHubError;
pub use model::{
    Conclusion, CurrentStep, DeployAction, DeploymentRecord, DeploymentState, DeploymentStatus,
    DispatchEvent, DispatchRequest, DispatchSettings, Dispatched, JobProgress, RunLink,
    RunProgress, RunState, RunSummary, DEFAULT_EVENT_TYPE, DEFAULT_WORKFLOW_REF,
};
pub use payload::{MAX_BODY_BYTES, MAX_EVENT_TYPE_CHARS, MAX_INPUTS, MAX_PAYLOAD_KEYS};

/// The deploy workflow of one repository, run and watched through GitHub Actions.
#[async_trait]
pub trait DeployPipeline: Send + Sync + 'static {
    /// Starts the deploy workflow for `request`: repository_dispatch (`POST
    /// /repos/{o}/{r}/dispatches`, `event_type` + `client_payload`), or, with a workflow file
    /// configured, workflow_dispatch (`POST /repos/{o}/{r}/actions/workflows/{file}/dispatches`
    /// with `ref`, string `inputs`, `return_run_details: true`; when the server refuses that
    /// parameter (400/422 naming it), sent again without it). GitHub's limits are checked first:
    /// a request past them is an error and never sent. Never retried once the body may have
    /// landed: a lost answer is `Timeout`/`Transport`, and the run is found by `request_id`.
    async fn dispatch(&self, request: &DispatchRequest) -> Result<Dispatched, GitHubError>;

    /// One look (no loop; the caller backs off) for the run whose `display_title` contains
    /// `request_id`, among runs of `event` created at or after `since` (less two minutes, against
    /// clock drift; the request id picks the run).
    async fn find_run(
        &self,
        request_id: &str,
        event: DispatchEvent,
        since: OffsetDateTime,
    ) -> Result<Option<RunSummary>, GitHubError>;

    /// The run and its jobs: state, conclusion, the job and step in progress.
    async fn run_progress(&self, run_id: u64) -> Result<RunProgress, GitHubError>;

    /// The environment's deployments, newest first (at most `limit`, 1 to 100), each with its
    /// latest status.
    async fn deployments(
        &self,
        environment: &str,
        limit: u8,
    ) -> Result<Vec<DeploymentRecord>, GitHubError>;
}

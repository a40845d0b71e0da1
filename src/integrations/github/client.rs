//! `GitHubDeploys`: the real `DeployPipeline`, on GitHub's REST API for the repository that
//! `[github]` names; each call, its retries and its waits run within `github.timeout`.

use std::fmt;

use async_trait::async_trait;
use futures_util::future::try_join_all;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::auth::{AppAuth, Auth};
use super::error::GitHubError;
use super::http::{Call, Http};
use super::model::{
    DeploymentRecord, DispatchEvent, DispatchRequest, DispatchSettings, Dispatched, RunLink,
    RunProgress, RunSummary, DEFAULT_WORKFLOW_REF,
};
use super::{payload, wire, DeployPipeline};
use crate::config::{GitHubAuth, GitHubConfig};

/// Runs fetched by one `find_run` look (GitHub's page maximum).
const RUNS_PER_LOOK: u32 = 100;
/// How far before `since` a look starts, against drift between the bot's clock and GitHub's;
/// the request id in the title, not the time, picks the run.
const CLOCK_DRIFT_MARGIN: time::Duration = time::Duration::minutes(2);
/// Jobs fetched for one run.
const JOBS_PER_RUN: u32 = 100;

/// One repository's deploy workflow, as `[github]` and the dispatch settings name it.
pub struct GitHubDeploys {
    pub(super) http: Http,
    pub(super) settings: DispatchSettings,
    /// `/repos/{owner}/{repo}`.
    pub(super) repo_path: String,
}

impl fmt::Debug for GitHubDeploys {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("GitHubDeploys")
            .field("api", &self.http.root)
            .field("repo", &self.http.repo)
            .field("auth", &self.http.auth.kind())
            .field("settings", &self.settings)
            .field("timeout", &self.http.timeout)
            .finish()
    }
}

impl GitHubDeploys {
    /// A client for `config` that dispatches as `settings` say. Fails only if the App's key
    /// does not parse (the config check prevents that) or the HTTP client cannot be built.
    pub fn new(config: &GitHubConfig, settings: DispatchSettings) -> anyhow::Result<Self> {
        let auth = match &config.auth {
            GitHubAuth::Token(token) => Auth::Token(token.clone()),
            GitHubAuth::App {
                app_id,
                private_key,
                installation_id,
            } => Auth::App(AppAuth::new(app_id.clone(), private_key, *installation_id)?),
        };
        let repo = format!("{}/{}", config.owner, config.repo);
        let http = Http::new(
            config.api_root().to_owned(),
            repo.clone(),
            auth,
            config.timeout,
        )?;
        Ok(Self {
            http,
            settings,
            repo_path: format!("/repos/{repo}"),
        })
    }

    /// How this client dispatches.
    pub fn settings(&self) -> &DispatchSettings {
        &self.settings
    }

    async fn workflow_dispatch(
        &self,
        workflow: &str,
        request: &DispatchRequest,
    ) -> Result<Dispatched, GitHubError> {
        let git_ref = self
            .settings
            .git_ref
            .as_deref()
            .unwrap_or(DEFAULT_WORKFLOW_REF);
        let path = format!("{}/actions/workflows/{workflow}/dispatches", self.repo_path);
        let body = payload::workflow_dispatch(git_ref, request, true)?;
        match self.http.send(&Call::post_once(path.clone(), body)).await {
            Ok(answer) if answer.status == 204 || answer.body.is_empty() => {
                Ok(Dispatched::Accepted)
            }
            Ok(answer) => {
                let details: wire::RunDetails = wire::read_json(&answer.body)?;
                Ok(Dispatched::Run(RunLink {
                    id: details.workflow_run_id,
                    html_url: details.html_url,
                }))
            }
            // An older server refuses the parameter and started nothing: send it without.
            Err(GitHubError::Unprocessable { message })
                if message.contains("return_run_details") =>
            {
                tracing::debug!(%message, "GitHub refused return_run_details; dispatching without it");
                let body = payload::workflow_dispatch(git_ref, request, false)?;
                self.http.send(&Call::post_once(path, body)).await?;
                Ok(Dispatched::Accepted)
            }
            Err(error) => Err(error),
        }
    }
}

#[async_trait]
impl DeployPipeline for GitHubDeploys {
    async fn dispatch(&self, request: &DispatchRequest) -> Result<Dispatched, GitHubError> {
        if let Some(workflow) = &self.settings.workflow {
            return self.workflow_dispatch(workflow, request).await;
        }
        let body = payload::repository_dispatch(&self.settings.event_type, request)?;
        let path = format!("{}/dispatches", self.repo_path);
        self.http.send(&Call::post_once(path, body)).await?;
        Ok(Dispatched::Accepted)
    }

    async fn find_run(
        &self,
        request_id: &str,
        event: DispatchEvent,
        since: OffsetDateTime,
    ) -> Result<Option<RunSummary>, GitHubError> {
        let since = (since - CLOCK_DRIFT_MARGIN)
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(since)
            .format(&Rfc3339)
            .map_err(|error| GitHubError::Protocol {
                detail: format!("could not write the time {since}: {error}"),
            })?;
        let call = Call::get(format!("{}/actions/runs", self.repo_path))
            .query("event", event.as_str())
            .query("created", format!(">={since}"))
            .query("per_page", RUNS_PER_LOOK.to_string());
        let answer = self.http.send(&call).await?;
        let list: wire::RunList = wire::read_json(&answer.body)?;
        let mut found: Vec<RunSummary> = list
            .workflow_runs
            .into_iter()
            .map(wire::Run::into_summary)
            .filter(|run| run.display_title.contains(request_id))
            .collect();
        found.sort_by_key(|run| std::cmp::Reverse(run.created_at));
        Ok(found.into_iter().next())
    }

    async fn run_progress(&self, run_id: u64) -> Result<RunProgress, GitHubError> {
        let run_call = Call::get(format!("{}/actions/runs/{run_id}", self.repo_path));
        let jobs_call = Call::get(format!("{}/actions/runs/{run_id}/jobs", self.repo_path))
            .query("per_page", JOBS_PER_RUN.to_string());
        let (run, jobs) = tokio::join!(self.http.send(&run_call), self.http.send(&jobs_call));
        let not_found = |error| match error {
            GitHubError::RepoNotFound { repo } => GitHubError::RunNotFound { repo, run_id },
            other => other,
        };
        let run: wire::Run = wire::read_json(&run.map_err(not_found)?.body)?;
        let jobs: wire::JobList = wire::read_json(&jobs.map_err(not_found)?.body)?;
        Ok(RunProgress {
            run: run.into_summary(),
            jobs: jobs
                .jobs
                .into_iter()
                .map(wire::Job::into_progress)
                .collect(),
        })
    }

    async fn deployments(
        &self,
        environment: &str,
        limit: u8,
    ) -> Result<Vec<DeploymentRecord>, GitHubError> {
        let limit = limit.clamp(1, 100);
        let call = Call::get(format!("{}/deployments", self.repo_path))
            .query("environment", environment)
            .query("per_page", limit.to_string());
        let answer = self.http.send(&call).await?;
        let mut deployments: Vec<wire::Deployment> = wire::read_json(&answer.body)?;
        deployments.truncate(usize::from(limit));
        let statuses = deployments.iter().map(|deployment| {
            let call = Call::get(format!(
                "{}/deployments/{}/statuses",
                self.repo_path, deployment.id
            ))
            .query("per_page", "1");
            async move {
                let answer = self.http.send(&call).await?;
                let statuses: Vec<wire::Status> = wire::read_json(&answer.body)?;
                Ok::<_, GitHubError>(statuses.into_iter().next().map(wire::Status::into_status))
            }
        });
        let latest = try_join_all(statuses).await?;
        let mut records: Vec<DeploymentRecord> = deployments
            .into_iter()
            .zip(latest)
            .map(|(deployment, latest)| deployment.into_record(latest))
            .collect();
        records.sort_by_key(|record| std::cmp::Reverse((record.created_at, record.id)));
        Ok(records)
    }
}

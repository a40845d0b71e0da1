//! A request's run, from approval to outcome: dispatch (never twice: the request is marked
//! `Dispatched` before anything is sent), find the run by its request id, follow it, tell the
//! thread each change, record the outcome. Every step reads the request back from the store,
//! so a restart carries on where the last process stopped.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use tracing::warn;

use super::card::Progress;
use super::service::{detail_of, DeployError, Deploys};
use crate::integrations::github::{
    DeployAction as GitHubAction, DispatchRequest, Dispatched, GitHubError, RunProgress, RunState,
};
use crate::slack::message::Mrkdwn;
use crate::store::deploys::{
    AuditEntry, AuditKind, DeployAction, DeployRequest, DeployState, StateChange,
};

/// The longest wait between two looks for a run, and after GitHub failed a look at one.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The first wait before looking for a dispatched run.
const FIRST_LOOK: Duration = Duration::from_millis(500);

/// What one step did.
enum Step {
    /// The request moved on (or was already further): run the next step.
    Next,
    /// The request is finished.
    Done,
}

impl Deploys {
    /// Drives the request until it ends or the bot stops; failures of the store are logged and
    /// the request is left for a restart to resume.
    pub(super) async fn run_to_end(&self, request_id: &str, resumed: bool) {
        let resumed_at = resumed.then(SystemTime::now);
        loop {
            if self.stop.is_cancelled() {
                return;
            }
            let step = match self.load(request_id).await {
                Ok(request) => self.step(request, resumed_at).await,
                Err(e) => Err(e),
            };
            match step {
                Ok(Step::Next) => continue,
                Ok(Step::Done) => return,
                Err(e) => {
                    warn!(
                        request_id,
                        error = format!("{e:#}"),
                        "A deploy step failed; leaving the request for a restart to resume."
                    );
                    return;
                }
            }
        }
    }

    async fn step(
        &self,
        request: DeployRequest,
        resumed: Option<SystemTime>,
    ) -> Result<Step, DeployError> {
        match request.state {
            DeployState::Approved => self.dispatch(request, resumed).await,
            DeployState::Dispatched => self.find_run(request, resumed).await,
            DeployState::Running => self.track(request, resumed).await,
            DeployState::PendingApproval
            | DeployState::Succeeded
            | DeployState::Failed
            | DeployState::Cancelled
            | DeployState::Rejected
            | DeployState::Expired
            | DeployState::RunNotFound
            | DeployState::DispatchFailed => Ok(Step::Done),
        }
    }

    /// Marks the request `Dispatched`, then sends it: a lost answer can then only lead to
    /// looking for the run, never to a second dispatch.
    async fn dispatch(
        &self,
        request: DeployRequest,
        resumed: Option<SystemTime>,
    ) -> Result<Step, DeployError> {
        if !self
            .move_to(&request, &[DeployState::Approved], DeployState::Dispatched)
            .await?
        {
            return Ok(Step::Next);
        }
        let approvals = {
            let id = request.request_id.clone();
            self.store.run(move |s| s.approvals(&id)).await?
        };
        let dispatch = DispatchRequest {
            request_id: request.request_id.clone(),
            action: match request.action {
                DeployAction::Deploy => GitHubAction::Deploy,
                DeployAction::Rollback => GitHubAction::Rollback,
            },
            version: request.version.clone(),
            environment: request.environment.clone(),
            requested_by: request.requested_by.clone(),
            approved_by: approvals.into_iter().map(|a| a.user).collect(),
        };
        let sent = self.github.dispatch(&dispatch).await;
        let (result, outcome) = match &sent {
            Ok(_) => ("sent".to_owned(), None),
            Err(e) if e.never_sent() => (format!("refused: {e}"), Some(e)),
            Err(e) => (format!("answer lost ({e}); looking for the run"), None),
        };
        self.audit(AuditEntry {
            at: SystemTime::now(),
            request_id: Some(request.request_id.clone()),
            environment: request.environment.clone(),
            actor: "bot".into(),
            kind: AuditKind::Dispatched,
            detail: detail_of(&request.action, &request.version, &request.environment),
            result,
        })
        .await;
        if let Some(refusal) = outcome {
            let mut text = Mrkdwn::trusted(":warning: GitHub refused to start the workflow: ");
            text.push_escaped(&refusal.human_message());
            self.note(&request, "dispatch-refused", text, resumed).await;
            self.finish(
                &request,
                DeployState::DispatchFailed,
                &refusal.human_message(),
            )
            .await?;
            return Ok(Step::Done);
        }
        let request = self.load(&request.request_id).await?;
        match sent {
            Ok(Dispatched::Run(run)) => {
                self.run_found(&request, run.id, &run.html_url, resumed)
                    .await
            }
            Ok(Dispatched::Accepted) | Err(_) => {
                let text = Mrkdwn::trusted(format!(
                    ":outbox_tray: Sent to GitHub ({}); waiting for the workflow run to start.",
                    self.repo
                ));
                self.note(&request, "dispatched", text, resumed).await;
                self.refresh(&request, None).await;
                Ok(Step::Next)
            }
        }
    }

    /// Looks for the run carrying the request id, with backoff, until `find_run_for` after the
    /// dispatch; then says in the thread that it was not found and how to fix the workflow.
    async fn find_run(
        &self,
        request: DeployRequest,
        resumed: Option<SystemTime>,
    ) -> Result<Step, DeployError> {
        let dispatched_at = request.updated_at;
        let since = OffsetDateTime::from(dispatched_at);
        let event = self.event();
        let mut wait = FIRST_LOOK;
        loop {
            if self.pause(wait).await {
                return Ok(Step::Done);
            }
            match self
                .github
                .find_run(&request.request_id, event, since)
                .await
            {
                Ok(Some(run)) => {
                    return self
                        .run_found(&request, run.id, &run.html_url, resumed)
                        .await
                }
                Ok(None) => {}
                Err(e) => {
                    warn!(request_id = %request.request_id, error = %e, "Failed to look for a deploy's workflow run; trying again.")
                }
            }
            let looked_for = SystemTime::now()
                .duration_since(dispatched_at)
                .unwrap_or_default();
            if looked_for >= self.find_run_for {
                break;
            }
            wait = (wait * 2)
                .min(MAX_BACKOFF)
                .min(self.find_run_for - looked_for + FIRST_LOOK);
        }
        let text = Mrkdwn::trusted(format!(
            ":grey_question: No workflow run carrying request `{}` showed up in {} within {}s. \
             The workflow must put `client_payload.request_id` (or `inputs.request_id`) in its \
             `run-name`; see docs/deploy.md. Nothing else is tracked for this request.",
            request.request_id,
            self.repo,
            self.find_run_for.as_secs()
        ));
        self.note(&request, "run-not-found", text, resumed).await;
        self.finish(&request, DeployState::RunNotFound, "run not found")
            .await?;
        Ok(Step::Done)
    }

    async fn run_found(
        &self,
        request: &DeployRequest,
        run_id: u64,
        url: &str,
        resumed: Option<SystemTime>,
    ) -> Result<Step, DeployError> {
        let (id, owned_url) = (request.request_id.clone(), url.to_owned());
        let at = SystemTime::now();
        self.store
            .run(move |s| s.set_run(&id, run_id, &owned_url, at))
            .await?;
        self.move_to(request, &[DeployState::Dispatched], DeployState::Running)
            .await?;
        let request = self.load(&request.request_id).await?;
        let link = crate::slack::message::link_to(url, &format!("run {run_id}"))
            .unwrap_or_else(|| format!("run {run_id}"));
        let text = Mrkdwn::trusted(format!(":arrow_forward: The workflow {link} started."));
        self.note(&request, "run", text, resumed).await;
        self.refresh(&request, None).await;
        Ok(Step::Next)
    }

    /// Follows the run every `deploy.poll_interval` until it completes; each change of state,
    /// job or step is told in the thread and shown on the root message.
    async fn track(
        &self,
        request: DeployRequest,
        resumed: Option<SystemTime>,
    ) -> Result<Step, DeployError> {
        let Some(run_id) = request.run_id else {
            return Err(DeployError::Store(anyhow::anyhow!(
                "request {} is running without a run id",
                request.request_id
            )));
        };
        let mut shown: Option<(String, Progress)> = None;
        let mut failures = 0u32;
        let mut wait = Duration::ZERO;
        loop {
            if self.pause(wait).await {
                return Ok(Step::Done);
            }
            wait = self.config.poll_interval;
            let progress = match self.github.run_progress(run_id).await {
                Ok(progress) => {
                    failures = 0;
                    progress
                }
                Err(e) => {
                    failures += 1;
                    wait = self.failure_backoff(failures);
                    self.tracking_failed(&request, &e, failures, resumed).await;
                    continue;
                }
            };
            if let RunState::Completed(conclusion) = &progress.run.state {
                self.completed(&request, conclusion, &progress, resumed)
                    .await?;
                return Ok(Step::Done);
            }
            let now = describe(&progress);
            if shown.as_ref() != Some(&now) {
                let (words, current) = &now;
                let step = format!(
                    "progress:{words}:{}:{}",
                    current.job.as_deref().unwrap_or(""),
                    current.step.as_deref().unwrap_or("")
                );
                self.note(&request, &step, progress_text(words, current), resumed)
                    .await;
                self.refresh(&request, Some(current)).await;
                shown = Some(now);
            }
        }
    }

    fn failure_backoff(&self, failures: u32) -> Duration {
        (self.config.poll_interval * 2u32.saturating_pow(failures.min(6))).min(MAX_BACKOFF)
    }

    /// A failed look at the run: logged each time, told in the thread once (the third in a row).
    async fn tracking_failed(
        &self,
        request: &DeployRequest,
        error: &GitHubError,
        failures: u32,
        resumed: Option<SystemTime>,
    ) {
        warn!(request_id = %request.request_id, failures, error = %error, "Failed to follow a deploy's workflow run; trying again.");
        if failures == 3 {
            let mut text = Mrkdwn::trusted(":warning: I cannot reach the workflow run on GitHub (");
            text.push_escaped(&error.human_message());
            text.push("). I keep trying, less often.");
            self.note(request, "tracking-failing", text, resumed).await;
        }
    }

    /// Compare-and-set of the request's state; false when it was no longer in `from`.
    pub(super) async fn move_to(
        &self,
        request: &DeployRequest,
        from: &[crate::store::deploys::DeployState],
        to: DeployState,
    ) -> Result<bool, DeployError> {
        let (id, from) = (request.request_id.clone(), from.to_vec());
        let change = StateChange {
            at: SystemTime::now(),
            decided_by: None,
        };
        Ok(self
            .store
            .run(move |s| s.transition(&id, &from, to, change))
            .await?)
    }

    /// Waits `wait` unless the bot stops first (true then).
    async fn pause(&self, wait: Duration) -> bool {
        if wait.is_zero() {
            return self.stop.is_cancelled();
        }
        tokio::select! {
            _ = self.stop.cancelled() => true,
            _ = tokio::time::sleep(wait) => false,
        }
    }
}

/// The run's state in words and its current job and step.
fn describe(progress: &RunProgress) -> (String, Progress) {
    let words = match progress.run.state {
        RunState::Queued => "queued",
        RunState::InProgress => "in progress",
        RunState::Completed(_) => "completed",
    };
    let current = progress.current();
    (
        words.to_owned(),
        Progress {
            job: current.map(|c| c.job.to_owned()),
            step: current.and_then(|c| c.step.map(str::to_owned)),
        },
    )
}

fn progress_text(words: &str, current: &Progress) -> Mrkdwn {
    let mut text = Mrkdwn::trusted(match words {
        "queued" => ":hourglass: Queued",
        _ => ":arrows_counterclockwise: In progress",
    });
    let at: Vec<&str> = [current.job.as_deref(), current.step.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !at.is_empty() {
        text.push(": ");
        text.push_escaped(&at.join(" › "));
    }
    text
}

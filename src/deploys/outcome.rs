//! How a run ends: its conclusion becomes the request's end state, the outcome note in the
//! thread and the audit entry; a successful `latest` records what it deployed.

use std::time::SystemTime;

use time::OffsetDateTime;
use tracing::{info, warn};

use super::service::{detail_of, DeployError, Deploys};
use crate::integrations::github::{Conclusion, RunProgress, RunState};
use crate::slack::message::Mrkdwn;
use crate::store::deploys::{AuditEntry, AuditKind, DeployRequest, DeployState};

/// The version word that asks the workflow for its newest build.
const LATEST: &str = "latest";

impl Deploys {
    /// What `latest` turned out to be: the version of the environment's newest successful
    /// deployment made since the request (the workflow records it, docs/deploy.md), so a later
    /// rollback can go back to it. Logged and left unknown when GitHub does not say.
    async fn learn_deployed_version(&self, request: &DeployRequest) -> Option<String> {
        let since = OffsetDateTime::from(request.created_at);
        let found = match self.github.deployments(&request.environment, 5).await {
            Ok(deployments) => deployments.into_iter().find(|d| {
                d.created_at >= since
                    && d.latest.as_ref().is_some_and(|s| {
                        s.state == crate::integrations::github::DeploymentState::Success
                    })
            }),
            Err(e) => {
                warn!(request_id = %request.request_id, error = %e, "Failed to read what `latest` deployed.");
                None
            }
        };
        let version = found?.version;
        let (id, recorded) = (request.request_id.clone(), version.clone());
        if let Err(e) = self
            .store
            .run(move |s| s.set_deployed_version(&id, &recorded))
            .await
        {
            warn!(request_id = %request.request_id, error = format!("{e:#}"), "Failed to record what `latest` deployed.");
        }
        Some(version)
    }

    pub(super) async fn completed(
        &self,
        request: &DeployRequest,
        conclusion: &Conclusion,
        progress: &RunProgress,
        resumed: Option<SystemTime>,
    ) -> Result<(), DeployError> {
        let state = match conclusion {
            Conclusion::Success => DeployState::Succeeded,
            Conclusion::Cancelled | Conclusion::Skipped => DeployState::Cancelled,
            Conclusion::Failure
            | Conclusion::TimedOut
            | Conclusion::ActionRequired
            | Conclusion::Neutral
            | Conclusion::Stale
            | Conclusion::Other(_) => DeployState::Failed,
        };
        let took = SystemTime::now()
            .duration_since(request.updated_at)
            .unwrap_or_default();
        let link = crate::slack::message::link_to(&progress.run.html_url, "the run")
            .unwrap_or_else(|| "the run".to_owned());
        let learned = if state == DeployState::Succeeded && request.version == LATEST {
            self.learn_deployed_version(request).await
        } else {
            None
        };
        let text = match state {
            DeployState::Succeeded => format!(
                ":tada: Deployed `{}` to `{}` ({link}).",
                crate::slack::message::escape(learned.as_deref().unwrap_or(&request.version)),
                request.environment
            ),
            DeployState::Cancelled => {
                format!(":no_entry_sign: The workflow was cancelled ({link}).")
            }
            _ => {
                let failed_job = progress
                    .jobs
                    .iter()
                    .find(|job| matches!(job.state, RunState::Completed(Conclusion::Failure)))
                    .map(|job| format!(" in job `{}`", crate::slack::message::escape(&job.name)))
                    .unwrap_or_default();
                format!(":x: The workflow failed{failed_job} ({link}).")
            }
        };
        self.note(request, "outcome", Mrkdwn::trusted(text), resumed)
            .await;
        let result = format!("{} after {}s", state.as_str(), took.as_secs());
        self.finish(request, state, &result).await
    }

    /// Moves a request to its end state, shows it, audits the outcome.
    pub(super) async fn finish(
        &self,
        request: &DeployRequest,
        to: DeployState,
        result: &str,
    ) -> Result<(), DeployError> {
        let from = [
            DeployState::Approved,
            DeployState::Dispatched,
            DeployState::Running,
        ];
        if !self.move_to(request, &from, to).await? {
            return Ok(());
        }
        let request = self.load(&request.request_id).await?;
        info!(request_id = %request.request_id, environment = %request.environment, state = to.as_str(), "Deploy request finished.");
        self.audit(AuditEntry {
            at: SystemTime::now(),
            request_id: Some(request.request_id.clone()),
            environment: request.environment.clone(),
            actor: "bot".into(),
            kind: AuditKind::Outcome,
            detail: detail_of(&request.action, &request.version, &request.environment),
            result: result.to_owned(),
        })
        .await;
        self.refresh(&request, None).await;
        Ok(())
    }
}

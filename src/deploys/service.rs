//! `Deploys`: a deploy or rollback request from the command to its approval card (one thread
//! per request in the command's channel), the lock, the audit trail, and the start-up that
//! resumes what a restart interrupted. Approvals are in `approvals.rs`, the run in `runner.rs`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn, Instrument as _};

use super::alarm_links::{FiringAlarm, FiringAlarms};
use super::audience::Directory;
use super::command::{EnvName, Version};
use super::policy::{approvals_needed, may_request, Audience};
use super::suspect::SuspectDeploys;
use crate::config::{CommandNames, DeployConfig, EnvironmentConfig};
use crate::integrations::github::{DeployPipeline, DispatchEvent, GitHubError};
use crate::slack::interaction::{ChannelId, UserId};
use crate::slack::messenger::{Messenger, SlackApiError};
use crate::store::deploys::{
    AuditEntry, AuditKind, CreateOutcome, DeployAction, DeployRequest, DeployState, DeployStore,
    NewDeployRequest, StateChange,
};
use crate::store::Blocking;

/// How long a dispatched request's run is looked for before the thread is told it was not found.
pub const FIND_RUN_FOR: Duration = Duration::from_secs(120);
/// How often requests past their approval timeout are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Why a deploy request or click did nothing. `Refused` is the user's to fix; the others are
/// outside systems or the store.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Shown to the asker as is: mrkdwn built by this module, user text escaped.
    #[error("{0}")]
    Refused(String),
    #[error("Slack failed: {0}")]
    Slack(#[from] SlackApiError),
    #[error("GitHub failed: {0}")]
    GitHub(#[from] GitHubError),
    #[error("the bot's store failed: {0:#}")]
    Store(#[from] anyhow::Error),
}

/// What a person asked for, validated.
#[derive(Clone, Debug)]
pub struct Ask {
    pub action: DeployAction,
    pub version: Version,
    pub environment: EnvName,
    pub user: UserId,
    /// Where the command was typed (or the alarm card clicked): the request's thread goes there.
    pub channel: ChannelId,
}

/// Deploy requests, approvals, runs and the audit trail. Built once at start-up.
pub struct Deploys {
    pub(super) config: DeployConfig,
    pub(super) names: CommandNames,
    pub(super) slack: Arc<dyn Messenger>,
    pub(super) github: Arc<dyn DeployPipeline>,
    pub(super) store: Blocking<dyn DeployStore>,
    pub(super) directory: Directory,
    /// Alarms firing on the environments' linked routes, when the alarm pipeline is on.
    pub(super) firing: Option<Arc<dyn FiringAlarms>>,
    /// Which deploys a firing alarm points at (for the ⏪ Roll back button).
    pub(super) suspects: Arc<SuspectDeploys>,
    /// `github.owner/repo`, for messages.
    pub(super) repo: String,
    pub(super) find_run_for: Duration,
    /// Requests whose run is being driven by a task of this process.
    pub(super) driving: Mutex<HashSet<String>>,
    pub(super) tasks: TaskTracker,
    pub(super) stop: CancellationToken,
}

impl Deploys {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: DeployConfig,
        names: CommandNames,
        slack: Arc<dyn Messenger>,
        github: Arc<dyn DeployPipeline>,
        store: Blocking<dyn DeployStore>,
        firing: Option<Arc<dyn FiringAlarms>>,
        suspects: Arc<SuspectDeploys>,
        repo: String,
        stop: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            directory: Directory::new(slack.clone()),
            config,
            names,
            slack,
            github,
            store,
            firing,
            suspects,
            repo,
            find_run_for: FIND_RUN_FOR,
            driving: Mutex::default(),
            tasks: TaskTracker::new(),
            stop,
        })
    }

    pub fn config(&self) -> &DeployConfig {
        &self.config
    }

    pub fn names(&self) -> &CommandNames {
        &self.names
    }

    /// The event a dispatch creates, to find its run among that event's runs.
    pub(super) fn event(&self) -> DispatchEvent {
        match self.config.workflow {
            Some(_) => DispatchEvent::WorkflowDispatch,
            None => DispatchEvent::RepositoryDispatch,
        }
    }

    /// Resumes what a restart interrupted (requests approved, dispatched or running are driven
    /// again: never dispatched twice) and starts the sweep that expires unapproved requests.
    pub async fn start(self: &Arc<Self>) -> anyhow::Result<()> {
        self.release_orphans().await?;
        let in_flight = self.store.run(|s| s.in_flight_requests()).await?;
        for request in in_flight {
            info!(request_id = %request.request_id, state = request.state.as_str(), environment = %request.environment, "Resuming a deploy request after a restart.");
            self.drive(request.request_id.clone(), true);
        }
        let deploys = self.clone();
        self.tasks.spawn(async move { deploys.sweep_loop().await });
        Ok(())
    }

    /// Stops the sweep and the runs' tracking; their state is in the store, so a restart
    /// resumes them. Waits at most `grace`.
    pub async fn stop(&self, grace: Duration) {
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            warn!(
                ?grace,
                "Deploy tracking did not stop within the grace; a restart resumes it."
            );
        }
    }

    /// Cancels requests that hold an environment's lock without a thread: the last process
    /// stopped between recording one and posting its root message, so nobody can see or
    /// approve it. Audited.
    async fn release_orphans(&self) -> anyhow::Result<()> {
        for environment in self.config.environments.keys() {
            let env = environment.clone();
            let Some(request) = self.store.run(move |s| s.active_request(&env)).await? else {
                continue;
            };
            if request.thread_ts.is_some() {
                continue;
            }
            let id = request.request_id.clone();
            let change = StateChange {
                at: SystemTime::now(),
                decided_by: None,
            };
            let active = DeployState::ACTIVE;
            let cancelled = self
                .store
                .run(move |s| s.transition(&id, &active, DeployState::Cancelled, change))
                .await?;
            if cancelled {
                warn!(request_id = %request.request_id, environment, "Cancelled a deploy request whose thread was never posted (the bot stopped in between).");
                self.audit(AuditEntry {
                    at: SystemTime::now(),
                    request_id: Some(request.request_id.clone()),
                    environment: environment.clone(),
                    actor: "bot".into(),
                    kind: AuditKind::Outcome,
                    detail: detail_of(&request.action, &request.version, environment),
                    result: "cancelled: its thread was never posted".into(),
                })
                .await;
            }
        }
        Ok(())
    }

    async fn sweep_loop(self: Arc<Self>) {
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
            }
            if let Err(e) = self.expire_due(SystemTime::now()).await {
                warn!(
                    error = format!("{e:#}"),
                    "Failed to expire deploy requests; trying again."
                );
            }
        }
    }

    pub(super) fn environment(&self, name: &str) -> anyhow::Result<&EnvironmentConfig> {
        self.config
            .environments
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("environment {name:?} is no longer configured"))
    }

    /// Alarms in ALARM on `environment`'s linked routes; none when the pipeline is off or the
    /// lookup fails (logged: a failed lookup must not block deploys).
    pub(super) async fn firing_alarms(&self, environment: &str) -> Vec<FiringAlarm> {
        let (Some(firing), Ok(env)) = (&self.firing, self.environment(environment)) else {
            return Vec::new();
        };
        if env.alarm_routes.is_empty() {
            return Vec::new();
        }
        match firing.firing_on(&env.alarm_routes).await {
            Ok(alarms) => alarms,
            Err(e) => {
                warn!(
                    environment,
                    error = format!("{e:#}"),
                    "Failed to look up firing alarms; counting none."
                );
                Vec::new()
            }
        }
    }

    /// Records a request and opens its thread: the root message, then the approval card or the
    /// run. Refused (and audited) when the asker may not, or another request holds the lock.
    pub async fn request(self: &Arc<Self>, ask: Ask) -> Result<DeployRequest, DeployError> {
        let env_name = ask.environment.as_str().to_owned();
        let env = self.environment(&env_name)?;
        let requesters = Audience::from_ids(env.requesters.iter().map(|p| p.id()));
        let members = self.directory.members(&requesters.groups).await?;
        if !may_request(&requesters, &ask.user.0, &ask.channel.0, &members) {
            let message = format!(
                "You may not ask for deploys to {env_name} from here: the environment's requesters are {}.",
                super::audience::mentions(&requesters).join(", ")
            );
            self.audit_refusal(&ask, "not a requester").await;
            return Err(DeployError::Refused(message));
        }
        let firing = match ask.action {
            DeployAction::Deploy => self.firing_alarms(&env_name).await,
            DeployAction::Rollback => Vec::new(),
        };
        let need = approvals_needed(
            env.approvals as u32,
            ask.action == DeployAction::Rollback,
            firing.len(),
        );
        let now = SystemTime::now();
        let new = NewDeployRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            environment: env_name.clone(),
            action: ask.action,
            version: ask.version.as_str().to_owned(),
            requested_by: ask.user.0.clone(),
            channel: ask.channel.0.clone(),
            approvals_needed: need.min(u8::MAX as u32) as u8,
            state: if need == 0 {
                DeployState::Approved
            } else {
                DeployState::PendingApproval
            },
            created_at: now,
            expires_at: now + self.config.approval_timeout,
        };
        let created = {
            let new = new.clone();
            self.store.run(move |s| s.create_request(&new)).await?
        };
        if let CreateOutcome::Busy(holder) = created {
            let link = self.thread_link(&holder).await;
            self.audit_refusal(&ask, &format!("busy: request {}", holder.request_id))
                .await;
            return Err(DeployError::Refused(format!(
                "{} is busy: {} by <@{}> is {}{link}. One request at a time per environment.",
                env_name,
                super::card::title(&holder),
                holder.requested_by,
                super::status::state_phrase(holder.state),
            )));
        }
        let id = new.request_id.clone();
        self.audit(AuditEntry {
            at: now,
            request_id: Some(id.clone()),
            environment: env_name.clone(),
            actor: ask.user.0.clone(),
            kind: AuditKind::Requested,
            detail: detail_of(&new.action, &new.version, &env_name),
            result: if need == 0 {
                "no approval needed".to_owned()
            } else {
                format!("needs {need} approval(s)")
            },
        })
        .await;
        let request = self.load(&id).await?;
        if let Err(e) = self.open_thread(&request, &firing).await {
            // Nothing may hold the lock without a thread to follow it in.
            let change = StateChange {
                at: SystemTime::now(),
                decided_by: None,
            };
            let from = [DeployState::PendingApproval, DeployState::Approved];
            let moved_id = id.clone();
            self.store
                .run(move |s| s.transition(&moved_id, &from, DeployState::Cancelled, change))
                .await?;
            return Err(e);
        }
        if request.state == DeployState::Approved {
            self.drive(id.clone(), false);
        }
        self.load(&id).await
    }

    /// The request as stored now.
    pub(super) async fn load(&self, request_id: &str) -> Result<DeployRequest, DeployError> {
        let id = request_id.to_owned();
        self.store
            .run(move |s| s.request(&id))
            .await?
            .ok_or_else(|| {
                DeployError::Store(anyhow::anyhow!(
                    "deploy request {request_id} vanished from the store"
                ))
            })
    }

    /// Appends to the audit trail and logs it as one structured line; a failed write is logged.
    pub(super) async fn audit(&self, entry: AuditEntry) {
        info!(
            audit = true,
            kind = entry.kind.as_str(),
            environment = %entry.environment,
            actor = %entry.actor,
            request_id = entry.request_id.as_deref().unwrap_or("-"),
            detail = %entry.detail,
            result = %entry.result,
            "Deploy audit."
        );
        if let Err(e) = self.store.run(move |s| s.append_audit(&entry)).await {
            warn!(
                error = format!("{e:#}"),
                "Failed to record a deploy audit entry."
            );
        }
    }

    async fn audit_refusal(&self, ask: &Ask, why: &str) {
        self.audit(AuditEntry {
            at: SystemTime::now(),
            request_id: None,
            environment: ask.environment.as_str().to_owned(),
            actor: ask.user.0.clone(),
            kind: AuditKind::Refused,
            detail: detail_of(&ask.action, ask.version.as_str(), ask.environment.as_str()),
            result: format!("refused: {why}"),
        })
        .await;
    }

    /// Runs the request's next steps (dispatch, find, track) in a task of its own, once per
    /// request in this process. `resumed`: after a restart, so posts may already be in Slack.
    pub(super) fn drive(self: &Arc<Self>, request_id: String, resumed: bool) {
        let fresh = self
            .driving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(request_id.clone());
        if !fresh {
            return;
        }
        let deploys = self.clone();
        self.tasks.spawn(
            async move {
                deploys.run_to_end(&request_id, resumed).await;
                deploys
                    .driving
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&request_id);
            }
            .in_current_span(),
        );
    }
}

/// `deploy v1.2.3 to prod`, `rollback to v1.2.2 on prod`.
pub(super) fn detail_of(action: &DeployAction, version: &str, environment: &str) -> String {
    match action {
        DeployAction::Deploy => format!("deploy {version} to {environment}"),
        DeployAction::Rollback => format!("rollback {environment} to {version}"),
    }
}

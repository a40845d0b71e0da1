//! `DeployStore`: deploy requests with their approvals, the one-active-request-per-environment
//! lock, and the audit trail (issue #11). Plain strings here: the store sits below `deploys`,
//! whose validated types become these strings at the edge.

use std::time::SystemTime;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployAction {
    Deploy,
    Rollback,
}

impl DeployAction {
    pub const ALL: [Self; 2] = [Self::Deploy, Self::Rollback];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Rollback => "rollback",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == text)
    }
}

/// Where a request stands. Active states hold the environment's lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeployState {
    /// Waiting for approvals.
    PendingApproval,
    /// Approved (or needing none), not yet handed to GitHub.
    Approved,
    /// Handed to GitHub; its run not yet seen.
    Dispatched,
    /// Its workflow run was found and is running.
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Rejected,
    Expired,
    /// Dispatched, but no run carrying its request id showed up in time.
    RunNotFound,
    /// GitHub refused the dispatch.
    DispatchFailed,
}

impl DeployState {
    pub const ALL: [Self; 11] = [
        Self::PendingApproval,
        Self::Approved,
        Self::Dispatched,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Rejected,
        Self::Expired,
        Self::RunNotFound,
        Self::DispatchFailed,
    ];
    /// The states that hold the environment's lock (at most one request per environment).
    pub const ACTIVE: [Self; 4] = [
        Self::PendingApproval,
        Self::Approved,
        Self::Dispatched,
        Self::Running,
    ];
    /// The states a bot restart resumes tracking from: the dispatch may have landed.
    pub const IN_FLIGHT: [Self; 3] = [Self::Approved, Self::Dispatched, Self::Running];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "PendingApproval",
            Self::Approved => "Approved",
            Self::Dispatched => "Dispatched",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
            Self::Rejected => "Rejected",
            Self::Expired => "Expired",
            Self::RunNotFound => "RunNotFound",
            Self::DispatchFailed => "DispatchFailed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// Whether a request in this state holds its environment's lock.
    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
}

/// A request about to be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDeployRequest {
    /// A UUID, made by the caller.
    pub request_id: String,
    pub environment: String,
    pub action: DeployAction,
    /// The version asked for (perhaps `latest`).
    pub version: String,
    pub requested_by: String,
    pub channel: String,
    pub approvals_needed: u8,
    /// `PendingApproval`, or `Approved` when no approval is needed; an active state.
    pub state: DeployState,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
}

/// A recorded request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployRequest {
    pub request_id: String,
    pub environment: String,
    pub action: DeployAction,
    pub version: String,
    /// The version the run reported it deployed (what `latest` resolved to), once known.
    pub deployed_version: Option<String>,
    pub requested_by: String,
    pub channel: String,
    /// The request's root message, once posted.
    pub thread_ts: Option<String>,
    /// The approval card, once posted.
    pub approval_ts: Option<String>,
    pub approvals_needed: u8,
    pub state: DeployState,
    pub run_id: Option<u64>,
    pub run_url: Option<String>,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub updated_at: SystemTime,
    /// Who approved (the last approval), rejected or cancelled it, and when.
    pub decided_by: Option<String>,
    pub decided_at: Option<SystemTime>,
}

impl DeployRequest {
    /// The version it deployed if known, else the version asked for.
    pub fn effective_version(&self) -> &str {
        self.deployed_version.as_deref().unwrap_or(&self.version)
    }
}

/// What [`DeployStore::create_request`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// Another request holds the environment's lock; nothing was recorded.
    Busy(Box<DeployRequest>),
}

/// One approver's click that counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    pub user: String,
    pub at: SystemTime,
}

/// What [`DeployStore::add_approval`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalOutcome {
    /// Counted; every distinct approver so far, in the order they approved.
    Added(Vec<String>),
    /// This user had already approved; nothing changed. The approvers so far.
    AlreadyApproved(Vec<String>),
    /// The request is no longer waiting for approvals (or does not exist: `None`).
    NotPending(Option<DeployState>),
}

/// A state change's time and, for a decision (approve, reject, cancel), who made it.
#[derive(Clone, Copy, Debug)]
pub struct StateChange<'a> {
    pub at: SystemTime,
    pub decided_by: Option<&'a str>,
}

/// The environment's last successful deployment and the one before it with another version:
/// what a rollback goes back to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastSuccesses {
    pub current: Option<DeployRequest>,
    pub previous: Option<DeployRequest>,
}

/// What an audit entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    Requested,
    Refused,
    Approved,
    Rejected,
    Expired,
    Dispatched,
    Outcome,
    /// A click that did not count (not an approver, the requester, too late).
    ApprovalRefused,
}

impl AuditKind {
    pub const ALL: [Self; 8] = [
        Self::Requested,
        Self::Refused,
        Self::Approved,
        Self::Rejected,
        Self::Expired,
        Self::Dispatched,
        Self::Outcome,
        Self::ApprovalRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "Requested",
            Self::Refused => "Refused",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::Expired => "Expired",
            Self::Dispatched => "Dispatched",
            Self::Outcome => "Outcome",
            Self::ApprovalRefused => "ApprovalRefused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One line of the audit trail: who did what, when, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: SystemTime,
    pub request_id: Option<String>,
    pub environment: String,
    /// A user id, or `bot` for what the bot did by itself (expiry, outcome).
    pub actor: String,
    pub kind: AuditKind,
    /// What was asked or done, e.g. `deploy v1.2.3 to prod`.
    pub detail: String,
    /// How it ended, e.g. `approved 2/2`, `refused: busy`.
    pub result: String,
}

/// Where deploy requests, approvals and the audit trail are kept.
pub trait DeployStore: Send + Sync + 'static {
    /// Record a new request, unless another active request holds its environment (the database
    /// enforces this, so it is race-free across tasks and processes).
    fn create_request(&self, request: &NewDeployRequest) -> anyhow::Result<CreateOutcome>;
    fn request(&self, request_id: &str) -> anyhow::Result<Option<DeployRequest>>;
    /// The request whose root message or approval card is `(channel, ts)` (a button's message).
    fn request_by_message(&self, channel: &str, ts: &str) -> anyhow::Result<Option<DeployRequest>>;
    /// Record the request's root message; only the first call sets it. False when it was set.
    fn set_thread_ts(&self, request_id: &str, ts: &str) -> anyhow::Result<bool>;
    /// Record (or replace) the approval card's ts.
    fn set_approval_ts(&self, request_id: &str, ts: &str) -> anyhow::Result<()>;
    /// Count `user`'s approval, once per person, only while the request is pending.
    fn add_approval(
        &self,
        request_id: &str,
        user: &str,
        at: SystemTime,
    ) -> anyhow::Result<ApprovalOutcome>;
    /// The approvals counted, in order.
    fn approvals(&self, request_id: &str) -> anyhow::Result<Vec<Approval>>;
    /// Move the request to `to` only if it is in one of `from` (compare-and-set): of two racing
    /// changes, one wins. True when this one did.
    fn transition(
        &self,
        request_id: &str,
        from: &[DeployState],
        to: DeployState,
        change: StateChange<'_>,
    ) -> anyhow::Result<bool>;
    /// The request holding `environment`'s lock, if any.
    fn active_request(&self, environment: &str) -> anyhow::Result<Option<DeployRequest>>;
    /// Requests still pending approval whose `expires_at` is at or before `now` (the sweep).
    fn expired_requests(&self, now: SystemTime) -> anyhow::Result<Vec<DeployRequest>>;
    /// Requests in [`DeployState::IN_FLIGHT`], oldest first, for tracking after a restart.
    fn in_flight_requests(&self) -> anyhow::Result<Vec<DeployRequest>>;
    /// Record the workflow run found for the request. False when there is no such request.
    fn set_run(
        &self,
        request_id: &str,
        run_id: u64,
        run_url: &str,
        at: SystemTime,
    ) -> anyhow::Result<bool>;
    /// Record the version the run reported (what `latest` resolved to).
    fn set_deployed_version(&self, request_id: &str, version: &str) -> anyhow::Result<()>;
    /// The environment's last success and the last before it with another version (never
    /// `latest`), from this store's own records.
    fn last_successes(&self, environment: &str) -> anyhow::Result<LastSuccesses>;
    fn append_audit(&self, entry: &AuditEntry) -> anyhow::Result<()>;
    /// The newest `limit` audit entries, newest first.
    fn recent_audit(&self, limit: usize) -> anyhow::Result<Vec<AuditEntry>>;
}

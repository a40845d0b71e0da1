//! `ActionStore`: custom action requests (`[[actions]]`) and their approvals, so a pending
//! approval survives a restart and an action runs at most once (state changes compare-and-set).

use std::time::SystemTime;

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionState {
    /// Waiting for approvals.
    Pending,
    /// Approved (or needing none) and handed to the AWS CLI: it runs, or ran, exactly once.
    Running,
    /// The CLI ended; `exit_code` says how.
    Finished,
    /// The CLI could not be run (not installed, credentials, timeout).
    Failed,
    Rejected,
    Expired,
    /// The bot stopped while it ran: the outcome is unknown, and it is never run again.
    Interrupted,
}

impl ActionState {
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Running,
        Self::Finished,
        Self::Failed,
        Self::Rejected,
        Self::Expired,
        Self::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Finished => "Finished",
            Self::Failed => "Failed",
            Self::Rejected => "Rejected",
            Self::Expired => "Expired",
            Self::Interrupted => "Interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// A request as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRequest {
    /// A UUID, made by the caller.
    pub request_id: String,
    /// The action's name.
    pub action: String,
    /// The exact argv after `aws`, every value already substituted and checked.
    pub args: Vec<String>,
    pub region: String,
    pub requested_by: String,
    pub channel: String,
    /// The thread the request lives in.
    pub thread_ts: String,
    /// The approval card, once posted.
    pub card_ts: Option<String>,
    pub approvals_needed: u8,
    pub state: ActionState,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    /// Who approved last, rejected it, or `bot` (expiry).
    pub decided_by: Option<String>,
    /// The CLI's exit status, once finished.
    pub exit_code: Option<i32>,
}

/// What [`ActionStore::add_action_approval`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionApproval {
    /// Counted; every distinct approver so far, in order.
    Added(Vec<String>),
    /// This user had already approved; the approvers so far.
    AlreadyApproved(Vec<String>),
    /// The request is not waiting for approvals (or does not exist: `None`).
    NotPending(Option<ActionState>),
}

pub trait ActionStore: Send + Sync + 'static {
    fn create_action_request(&self, request: &ActionRequest) -> anyhow::Result<()>;
    fn action_request(&self, request_id: &str) -> anyhow::Result<Option<ActionRequest>>;
    /// The request whose approval card is (`channel`, `ts`).
    fn action_request_by_card(
        &self,
        channel: &str,
        ts: &str,
    ) -> anyhow::Result<Option<ActionRequest>>;
    fn set_action_card(&self, request_id: &str, ts: &str) -> anyhow::Result<()>;
    /// Count `user`'s approval, once per person, only while the request is pending.
    fn add_action_approval(
        &self,
        request_id: &str,
        user: &str,
        at: SystemTime,
    ) -> anyhow::Result<ActionApproval>;
    /// The users who approved, in order.
    fn action_approvers(&self, request_id: &str) -> anyhow::Result<Vec<String>>;
    /// Move the request from `from` to `to` (compare-and-set); true when this call did it, so
    /// of two racing clicks exactly one runs the action.
    fn action_transition(
        &self,
        request_id: &str,
        from: ActionState,
        to: ActionState,
        decided_by: Option<&str>,
        exit_code: Option<i32>,
        at: SystemTime,
    ) -> anyhow::Result<bool>;
    /// Pending requests whose `expires_at` is at or before `now`.
    fn expired_action_requests(&self, now: SystemTime) -> anyhow::Result<Vec<ActionRequest>>;
    /// Requests left `Running` (by a bot that stopped while they ran).
    fn running_action_requests(&self) -> anyhow::Result<Vec<ActionRequest>>;
    /// Forget at most `batch` ended requests (with their approvals) that expired before
    /// `cutoff`; how many went.
    fn forget_action_requests_before(
        &self,
        cutoff: SystemTime,
        batch: usize,
    ) -> anyhow::Result<usize>;
}

/// How long an ended request is kept (the audit trail keeps its runs longer).
pub const ACTION_REQUEST_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(90 * 24 * 60 * 60);

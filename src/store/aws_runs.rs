//! `AwsRunLog`: the audit trail of AWS CLI runs (`@bot aws …` and custom actions), every run and every refusal: who, where, the argv, how it ended.

use std::time::{Duration, SystemTime};

/// How long an audit entry is kept: over a year, as deploy audit entries.
pub const AWS_RUN_RETENTION: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AwsRunOutcome {
    /// The CLI ran and exited (`None`: ended by a signal).
    Exited {
        exit_code: Option<i32>,
        duration: Duration,
    },
    /// It was not run: the guardrails (or the channel) refused it. `kind` is a stable name
    /// (`denied`, `bad_character`, …), `reason` what the user was told.
    Refused { kind: String, reason: String },
    /// It did not finish: `kind` is `timed_out`, `not_installed`, `credentials`, `spawn`.
    Failed { kind: String, duration: Duration },
}

/// One audit entry. Never holds credentials: the argv is what the user (or the action) asked
/// for, after `aws`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsRunRecord {
    pub at: SystemTime,
    /// The Slack user id who asked.
    pub user: String,
    pub channel: String,
    /// The words after `aws` as run; for a refusal, the text as typed (cut).
    pub argv: Vec<String>,
    pub region: Option<String>,
    /// The custom action's name, when an action ran it.
    pub action: Option<String>,
    pub outcome: AwsRunOutcome,
}

/// Where the audit trail is kept.
pub trait AwsRunLog: Send + Sync + 'static {
    fn record_aws_run(&self, record: &AwsRunRecord) -> anyhow::Result<()>;
    /// The newest `limit` entries, newest first.
    fn recent_aws_runs(&self, limit: usize) -> anyhow::Result<Vec<AwsRunRecord>>;
    /// Forget at most `batch` entries from before `cutoff`; how many went.
    fn forget_aws_runs_before(&self, cutoff: SystemTime, batch: usize) -> anyhow::Result<usize>;
}

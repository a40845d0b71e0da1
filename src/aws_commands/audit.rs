//! The audit of AWS CLI runs: one structured `info!` line and one `aws_runs` row per run or refusal (`@bot aws …` and custom actions alike).

use tracing::{info, warn};

use crate::store::aws_runs::{AwsRunLog, AwsRunOutcome, AwsRunRecord};
use crate::store::Blocking;

/// Logs `record` as one line (fields `audit`, `user`, `channel`, `argv`, `region`, `action`,
/// `status`, `exit_code`, `duration_ms`, `kind`) and stores it. A failed write is logged.
pub async fn record(store: &Blocking<dyn AwsRunLog>, record: AwsRunRecord) {
    let (status, exit_code, duration_ms, kind) = match &record.outcome {
        AwsRunOutcome::Exited {
            exit_code,
            duration,
        } => ("exited", *exit_code, Some(duration.as_millis()), None),
        AwsRunOutcome::Refused { kind, .. } => ("refused", None, None, Some(kind.as_str())),
        AwsRunOutcome::Failed { kind, duration } => (
            "failed",
            None,
            Some(duration.as_millis()),
            Some(kind.as_str()),
        ),
    };
    info!(
        audit = true,
        user = %record.user,
        channel = %record.channel,
        // Debug: quoted, control characters escaped (a refused text may hold any).
        argv = ?record.argv,
        region = record.region.as_deref().unwrap_or("-"),
        action = record.action.as_deref().unwrap_or("-"),
        status,
        exit_code,
        duration_ms = duration_ms.map(|ms| ms as u64),
        kind = kind.unwrap_or("-"),
        "AWS CLI run."
    );
    if let Err(e) = store.run(move |s| s.record_aws_run(&record)).await {
        warn!(
            error = format!("{e:#}"),
            "Failed to record an AWS CLI run in the audit trail."
        );
    }
}

//! `AwsRunLog` on SQLite: one row per run or refusal in `aws_runs`, indexed by time.

use std::time::Duration;

use anyhow::Context;
use rusqlite::{params, Row};

use super::aws_runs::{AwsRunLog, AwsRunOutcome, AwsRunRecord};
use super::cards::{from_millis, to_millis};
use super::SqliteStore;

/// The oldest entries, a batch at a time (through `aws_runs_by_time`).
const OLD_AWS_RUNS: &str =
    "DELETE FROM aws_runs WHERE id IN (SELECT id FROM aws_runs WHERE at < ?1 LIMIT ?2)";
/// The newest entries (through `aws_runs_by_time`, backwards).
const RECENT_AWS_RUNS: &str = "SELECT at, user_id, channel, argv, region, action, status, \
    exit_code, duration_ms, kind, refused_reason FROM aws_runs ORDER BY at DESC LIMIT ?1";

impl AwsRunLog for SqliteStore {
    fn record_aws_run(&self, record: &AwsRunRecord) -> anyhow::Result<()> {
        let argv = serde_json::to_string(&record.argv).context("Failed to encode an argv")?;
        let (status, exit_code, duration, kind, reason) = match &record.outcome {
            AwsRunOutcome::Exited {
                exit_code,
                duration,
            } => ("exited", *exit_code, Some(duration), None, None),
            AwsRunOutcome::Refused { kind, reason } => {
                ("refused", None, None, Some(kind), Some(reason))
            }
            AwsRunOutcome::Failed { kind, duration } => {
                ("failed", None, Some(duration), Some(kind), None)
            }
        };
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO aws_runs (at, user_id, channel, argv, region, action, status, \
                 exit_code, duration_ms, kind, refused_reason) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                to_millis(record.at),
                record.user,
                record.channel,
                argv,
                record.region,
                record.action,
                status,
                exit_code,
                duration.map(|d| d.as_millis() as i64),
                kind,
                reason,
            ])
            .map(|_| ())
        })
        .context("Failed to record an AWS CLI run")
    }

    fn recent_aws_runs(&self, limit: usize) -> anyhow::Result<Vec<AwsRunRecord>> {
        self.read(|c| {
            c.prepare_cached(RECENT_AWS_RUNS)?
                .query_map(params![limit as i64], read_row)?
                .collect()
        })
        .context("Failed to read AWS CLI runs")
    }

    fn forget_aws_runs_before(
        &self,
        cutoff: std::time::SystemTime,
        batch: usize,
    ) -> anyhow::Result<usize> {
        self.with(|c| {
            c.prepare_cached(OLD_AWS_RUNS)?
                .execute(params![to_millis(cutoff), batch as i64])
        })
        .context("Failed to prune old AWS CLI runs")
    }
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<AwsRunRecord> {
    let argv: String = r.get(3)?;
    let status: String = r.get(6)?;
    let duration = r
        .get::<_, Option<i64>>(8)?
        .map(|ms| Duration::from_millis(ms.max(0) as u64))
        .unwrap_or_default();
    let kind: Option<String> = r.get(9)?;
    let outcome = match status.as_str() {
        "exited" => AwsRunOutcome::Exited {
            exit_code: r.get(7)?,
            duration,
        },
        "refused" => AwsRunOutcome::Refused {
            kind: kind.unwrap_or_default(),
            reason: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
        },
        _ => AwsRunOutcome::Failed {
            kind: kind.unwrap_or_default(),
            duration,
        },
    };
    Ok(AwsRunRecord {
        at: from_millis(r.get(0)?),
        user: r.get(1)?,
        channel: r.get(2)?,
        argv: serde_json::from_str(&argv).unwrap_or_else(|_| vec![argv]),
        region: r.get(4)?,
        action: r.get(5)?,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn record(at_secs: u64, outcome: AwsRunOutcome) -> AwsRunRecord {
        AwsRunRecord {
            at: UNIX_EPOCH + Duration::from_secs(at_secs),
            user: "U0ALICE".into(),
            channel: "C0OPS0001".into(),
            argv: vec!["ec2".into(), "describe-instances".into()],
            region: Some("eu-west-1".into()),
            action: None,
            outcome,
        }
    }

    #[test]
    fn the_periodic_and_the_reading_queries_use_the_time_index() {
        let store = SqliteStore::in_memory().unwrap();
        for sql in [OLD_AWS_RUNS, RECENT_AWS_RUNS] {
            let plan: Vec<String> = store
                .with(|c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
                    let steps = stmt
                        .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?
                        .collect();
                    steps
                })
                .unwrap();
            assert!(
                plan.iter().any(|step| step.contains("aws_runs_by_time")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn runs_and_refusals_are_kept_newest_first_and_pruned() {
        let store = SqliteStore::in_memory().unwrap();
        let ran = record(
            100,
            AwsRunOutcome::Exited {
                exit_code: Some(0),
                duration: Duration::from_millis(1234),
            },
        );
        let refused = AwsRunRecord {
            action: Some("scale-web".into()),
            ..record(
                200,
                AwsRunOutcome::Refused {
                    kind: "denied".into(),
                    reason: "never run from chat".into(),
                },
            )
        };
        let failed = record(
            300,
            AwsRunOutcome::Failed {
                kind: "timed_out".into(),
                duration: Duration::from_secs(15),
            },
        );
        for r in [&ran, &refused, &failed] {
            store.record_aws_run(r).unwrap();
        }
        assert_eq!(
            store.recent_aws_runs(10).unwrap(),
            vec![failed.clone(), refused, ran]
        );
        let cutoff = UNIX_EPOCH + Duration::from_secs(250);
        assert_eq!(store.forget_aws_runs_before(cutoff, 1).unwrap(), 1);
        assert_eq!(store.forget_aws_runs_before(cutoff, 10).unwrap(), 1);
        assert_eq!(store.recent_aws_runs(10).unwrap(), vec![failed]);
    }
}

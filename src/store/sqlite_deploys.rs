//! `DeployStore` on SQLite (migration 10): requests, approvals, the lock and the audit trail.

use std::time::SystemTime;

use anyhow::Context;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};

use super::cards::{from_millis, to_millis};
use super::deploys::{
    Approval, ApprovalOutcome, AuditEntry, AuditKind, CreateOutcome, DeployAction, DeployRequest,
    DeployState, DeployStore, LastSuccesses, NewDeployRequest, StateChange,
};
use super::SqliteStore;

const COLUMNS: &str = "request_id, environment, action, version, deployed_version, \
    requested_by, channel, thread_ts, approval_ts, approvals_needed, state, run_id, run_url, \
    created_at, expires_at, updated_at, decided_by, decided_at";
/// How often `create_request` tries again when the lock's holder finished between its insert
/// and its look at the holder.
const CREATE_ATTEMPTS: usize = 3;

/// A column that holds one of our own enums' words, read back.
fn parse_column<T>(
    index: usize,
    text: String,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown value {text:?}").into(),
        )
    })
}

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<DeployRequest> {
    Ok(DeployRequest {
        request_id: r.get(0)?,
        environment: r.get(1)?,
        action: parse_column(2, r.get(2)?, DeployAction::parse)?,
        version: r.get(3)?,
        deployed_version: r.get(4)?,
        requested_by: r.get(5)?,
        channel: r.get(6)?,
        thread_ts: r.get(7)?,
        approval_ts: r.get(8)?,
        approvals_needed: r.get(9)?,
        state: parse_column(10, r.get(10)?, DeployState::parse)?,
        run_id: r.get::<_, Option<i64>>(11)?.map(|id| id as u64),
        run_url: r.get(12)?,
        created_at: from_millis(r.get(13)?),
        expires_at: from_millis(r.get(14)?),
        updated_at: from_millis(r.get(15)?),
        decided_by: r.get(16)?,
        decided_at: r.get::<_, Option<i64>>(17)?.map(from_millis),
    })
}

fn audit_from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: from_millis(r.get(0)?),
        request_id: r.get(1)?,
        environment: r.get(2)?,
        actor: r.get(3)?,
        kind: parse_column(4, r.get(4)?, AuditKind::parse)?,
        detail: r.get(5)?,
        result: r.get(6)?,
    })
}

/// `'A', 'B'`: our own states' words, for an `IN (…)` list (never outside text).
fn state_list(states: &[DeployState]) -> String {
    let quoted: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
    quoted.join(", ")
}

fn requests_where(
    c: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<DeployRequest>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM deploy_requests WHERE {condition}"
    ))?
    .query_map(params, request_from_row)?
    .collect()
}

fn request_where(
    c: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Option<DeployRequest>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM deploy_requests WHERE {condition}"
    ))?
    .query_row(params, request_from_row)
    .optional()
}

fn active_in(c: &Connection, environment: &str) -> rusqlite::Result<Option<DeployRequest>> {
    let active = state_list(&DeployState::ACTIVE);
    request_where(
        c,
        &format!("environment = ?1 AND state IN ({active})"),
        params![environment],
    )
}

fn approvers_of(c: &Connection, request_id: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached(
        "SELECT user_id FROM deploy_approvals WHERE request_id = ?1 ORDER BY at, user_id",
    )?
    .query_map(params![request_id], |r| r.get(0))?
    .collect()
}

/// Whether `error` is the one-active-request-per-environment index refusing a row.
fn is_lock_conflict(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(failure, _)
        if failure.code == ErrorCode::ConstraintViolation
            && failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn insert_request(c: &Connection, r: &NewDeployRequest) -> rusqlite::Result<usize> {
    c.prepare_cached(
        "INSERT INTO deploy_requests (request_id, environment, action, version, requested_by, \
         channel, approvals_needed, state, created_at, expires_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)",
    )?
    .execute(params![
        r.request_id,
        r.environment,
        r.action.as_str(),
        r.version,
        r.requested_by,
        r.channel,
        r.approvals_needed,
        r.state.as_str(),
        to_millis(r.created_at),
        to_millis(r.expires_at),
    ])
}

impl DeployStore for SqliteStore {
    fn create_request(&self, request: &NewDeployRequest) -> anyhow::Result<CreateOutcome> {
        anyhow::ensure!(
            request.state.is_active(),
            "a new deploy request starts in an active state, not {}",
            request.state.as_str()
        );
        for _ in 0..CREATE_ATTEMPTS {
            let outcome = self.with(|c| match insert_request(c, request) {
                Ok(_) => Ok(Some(CreateOutcome::Created)),
                Err(error) if is_lock_conflict(&error) => Ok(active_in(c, &request.environment)?
                    .map(|holder| CreateOutcome::Busy(Box::new(holder)))),
                Err(error) => Err(error),
            });
            if let Some(outcome) = outcome.context("Failed to record a deploy request")? {
                return Ok(outcome);
            }
        }
        anyhow::bail!(
            "Failed to record a deploy request: the lock on {} kept changing hands",
            request.environment
        )
    }

    fn request(&self, request_id: &str) -> anyhow::Result<Option<DeployRequest>> {
        self.with(|c| request_where(c, "request_id = ?1", params![request_id]))
            .context("Failed to read a deploy request")
    }

    fn request_by_message(&self, channel: &str, ts: &str) -> anyhow::Result<Option<DeployRequest>> {
        self.with(|c| {
            let by_thread =
                request_where(c, "channel = ?1 AND thread_ts = ?2", params![channel, ts])?;
            match by_thread {
                Some(request) => Ok(Some(request)),
                None => request_where(c, "channel = ?1 AND approval_ts = ?2", params![channel, ts]),
            }
        })
        .context("Failed to find the deploy request of a message")
    }

    fn set_thread_ts(&self, request_id: &str, ts: &str) -> anyhow::Result<bool> {
        let changed = self
            .with(|c| {
                c.prepare_cached(
                    "UPDATE deploy_requests SET thread_ts = ?2 \
                     WHERE request_id = ?1 AND thread_ts IS NULL",
                )?
                .execute(params![request_id, ts])
            })
            .context("Failed to record a deploy request's message")?;
        Ok(changed == 1)
    }

    fn set_approval_ts(&self, request_id: &str, ts: &str) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE deploy_requests SET approval_ts = ?2 WHERE request_id = ?1")?
                .execute(params![request_id, ts])
        })
        .context("Failed to record a deploy request's approval card")?;
        Ok(())
    }

    fn add_approval(
        &self,
        request_id: &str,
        user: &str,
        at: SystemTime,
    ) -> anyhow::Result<ApprovalOutcome> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM deploy_requests WHERE request_id = ?1")?
                .query_row(params![request_id], |r| r.get(0))
                .optional()?;
            let state = state.and_then(|state| DeployState::parse(&state));
            if state != Some(DeployState::PendingApproval) {
                return Ok(ApprovalOutcome::NotPending(state));
            }
            let added = tx
                .prepare_cached("INSERT OR IGNORE INTO deploy_approvals VALUES (?1, ?2, ?3)")?
                .execute(params![request_id, user, to_millis(at)])?;
            let approvers = approvers_of(&tx, request_id)?;
            tx.commit()?;
            Ok(if added == 1 {
                ApprovalOutcome::Added(approvers)
            } else {
                ApprovalOutcome::AlreadyApproved(approvers)
            })
        })
        .context("Failed to record an approval")
    }

    fn approvals(&self, request_id: &str) -> anyhow::Result<Vec<Approval>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT user_id, at FROM deploy_approvals WHERE request_id = ?1 ORDER BY at, user_id",
            )?
            .query_map(params![request_id], |r| {
                Ok(Approval {
                    user: r.get(0)?,
                    at: from_millis(r.get(1)?),
                })
            })?
            .collect()
        })
        .context("Failed to read a deploy request's approvals")
    }

    fn transition(
        &self,
        request_id: &str,
        from: &[DeployState],
        to: DeployState,
        change: StateChange<'_>,
    ) -> anyhow::Result<bool> {
        if from.is_empty() {
            return Ok(false);
        }
        let at = to_millis(change.at);
        let changed = self
            .with(|c| {
                c.prepare_cached(&format!(
                    "UPDATE deploy_requests SET state = ?2, updated_at = ?3, \
                     decided_by = COALESCE(?4, decided_by), \
                     decided_at = CASE WHEN ?4 IS NULL THEN decided_at ELSE ?3 END \
                     WHERE request_id = ?1 AND state IN ({})",
                    state_list(from)
                ))?
                .execute(params![request_id, to.as_str(), at, change.decided_by])
            })
            .with_context(|| format!("Failed to move a deploy request to {}", to.as_str()))?;
        Ok(changed == 1)
    }

    fn active_request(&self, environment: &str) -> anyhow::Result<Option<DeployRequest>> {
        self.with(|c| active_in(c, environment))
            .context("Failed to read an environment's active deploy request")
    }

    fn expired_requests(&self, now: SystemTime) -> anyhow::Result<Vec<DeployRequest>> {
        self.with(|c| {
            requests_where(
                c,
                "state = 'PendingApproval' AND expires_at <= ?1 ORDER BY expires_at",
                params![to_millis(now)],
            )
        })
        .context("Failed to read expired deploy requests")
    }

    fn in_flight_requests(&self) -> anyhow::Result<Vec<DeployRequest>> {
        let states = state_list(&DeployState::IN_FLIGHT);
        self.with(|c| {
            requests_where(
                c,
                &format!("state IN ({states}) ORDER BY created_at, request_id"),
                [],
            )
        })
        .context("Failed to read deploy requests in flight")
    }

    fn set_run(
        &self,
        request_id: &str,
        run_id: u64,
        run_url: &str,
        at: SystemTime,
    ) -> anyhow::Result<bool> {
        let changed = self
            .with(|c| {
                c.prepare_cached(
                    "UPDATE deploy_requests SET run_id = ?2, run_url = ?3, updated_at = ?4 \
                     WHERE request_id = ?1",
                )?
                .execute(params![
                    request_id,
                    run_id as i64,
                    run_url,
                    to_millis(at)
                ])
            })
            .context("Failed to record a deploy request's workflow run")?;
        Ok(changed == 1)
    }

    fn set_deployed_version(&self, request_id: &str, version: &str) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE deploy_requests SET deployed_version = ?2 WHERE request_id = ?1",
            )?
            .execute(params![request_id, version])
        })
        .context("Failed to record the version a deploy request deployed")?;
        Ok(())
    }

    fn last_successes(&self, environment: &str) -> anyhow::Result<LastSuccesses> {
        self.with(|c| {
            let newest_first = "ORDER BY updated_at DESC, created_at DESC, request_id DESC LIMIT 1";
            let current = request_where(
                c,
                &format!("environment = ?1 AND state = 'Succeeded' {newest_first}"),
                params![environment],
            )?;
            let Some(current) = current else {
                return Ok(LastSuccesses::default());
            };
            let previous = request_where(
                c,
                &format!(
                    "environment = ?1 AND state = 'Succeeded' AND updated_at <= ?2 \
                     AND request_id <> ?3 AND COALESCE(deployed_version, version) <> ?4 \
                     AND COALESCE(deployed_version, version) <> 'latest' {newest_first}"
                ),
                params![
                    environment,
                    to_millis(current.updated_at),
                    current.request_id,
                    current.effective_version()
                ],
            )?;
            Ok(LastSuccesses {
                current: Some(current),
                previous,
            })
        })
        .context("Failed to read an environment's last deployments")
    }

    fn append_audit(&self, e: &AuditEntry) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO deploy_audit (at, request_id, environment, actor, kind, detail, result) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                to_millis(e.at),
                e.request_id,
                e.environment,
                e.actor,
                e.kind.as_str(),
                e.detail,
                e.result
            ])
        })
        .context("Failed to record an audit entry")?;
        Ok(())
    }

    fn recent_audit(&self, limit: usize) -> anyhow::Result<Vec<AuditEntry>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT at, request_id, environment, actor, kind, detail, result FROM deploy_audit \
                 ORDER BY at DESC, id DESC LIMIT ?1",
            )?
            .query_map(params![limit as i64], audit_from_row)?
            .collect()
        })
        .context("Failed to read the audit trail")
    }
}

#[cfg(test)]
#[path = "sqlite_deploys_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "sqlite_deploys_plan_tests.rs"]
mod plan_tests;

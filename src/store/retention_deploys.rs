//! Retention of deploy state: finished requests (with their approvals) after 90 days, audit
//! entries after 400 days; active requests and each environment's newest successes stay.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use rusqlite::{params, Connection};

use super::cards::to_millis;
use super::SqliteStore;

/// How long a finished deploy request is kept after its last change.
pub const DEPLOY_REQUEST_RETENTION: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// How long an audit entry is kept: over a year, for yearly reviews.
pub const DEPLOY_AUDIT_RETENTION: Duration = Duration::from_secs(400 * 24 * 60 * 60);
/// Successful requests kept per environment however old, so a rollback target survives a quiet
/// quarter.
pub const KEPT_SUCCESSES_PER_ENVIRONMENT: usize = 5;

/// What one pass of deploy retention removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrunedDeploys {
    /// Finished requests.
    pub requests: usize,
    /// Their approvals.
    pub approvals: usize,
    pub audit_entries: usize,
}

impl PrunedDeploys {
    pub fn rows(&self) -> usize {
        self.requests + self.approvals + self.audit_entries
    }

    fn add(&mut self, other: PrunedDeploys) {
        self.requests += other.requests;
        self.approvals += other.approvals;
        self.audit_entries += other.audit_entries;
    }
}

/// Finished requests last changed before `cutoff`, except each environment's newest successes.
pub(crate) const OLD_FINISHED_REQUESTS: &str = "SELECT request_id FROM deploy_requests AS r \
    WHERE state IN ('Succeeded', 'Failed', 'Cancelled', 'Rejected', 'Expired', 'RunNotFound', \
    'DispatchFailed') AND updated_at < ?1 \
    AND NOT (state = 'Succeeded' AND request_id IN (SELECT s.request_id FROM deploy_requests AS s \
        WHERE s.environment = r.environment AND s.state = 'Succeeded' \
        ORDER BY s.updated_at DESC LIMIT ?3)) \
    LIMIT ?2";
pub(crate) const OLD_AUDIT_ENTRIES: &str = "DELETE FROM deploy_audit WHERE id IN \
    (SELECT id FROM deploy_audit WHERE at < ?1 LIMIT ?2)";

impl SqliteStore {
    /// Delete at most about `batch` rows of deploy state that is old at `now`, in one
    /// transaction. Nothing pruned means nothing is left.
    pub fn prune_deploy_batch(
        &self,
        now: SystemTime,
        batch: usize,
    ) -> anyhow::Result<PrunedDeploys> {
        let requests_cutoff = to_millis(now - DEPLOY_REQUEST_RETENTION);
        let audit_cutoff = to_millis(now - DEPLOY_AUDIT_RETENTION);
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut budget = batch.max(1);
            let mut pruned = prune_requests(&tx, requests_cutoff, &mut budget)?;
            if budget > 0 {
                let gone = tx
                    .prepare_cached(OLD_AUDIT_ENTRIES)?
                    .execute(params![audit_cutoff, budget as i64])?;
                pruned.audit_entries += gone;
            }
            tx.commit()?;
            Ok(pruned)
        })
        .context("Failed to prune old deploy requests and audit entries")
    }

    /// Prune old deploy state batch after batch, at most `max_batches`.
    pub fn prune_deploys(
        &self,
        now: SystemTime,
        batch: usize,
        max_batches: usize,
        pause: Duration,
    ) -> anyhow::Result<PrunedDeploys> {
        let mut total = PrunedDeploys::default();
        for _ in 0..max_batches {
            let pruned = self.prune_deploy_batch(now, batch)?;
            total.add(pruned);
            if pruned.rows() == 0 {
                break;
            }
            std::thread::sleep(pause);
        }
        Ok(total)
    }
}

fn prune_requests(
    c: &Connection,
    cutoff: i64,
    budget: &mut usize,
) -> rusqlite::Result<PrunedDeploys> {
    let mut pruned = PrunedDeploys::default();
    let old: Vec<String> = c
        .prepare_cached(OLD_FINISHED_REQUESTS)?
        .query_map(
            params![
                cutoff,
                *budget as i64,
                KEPT_SUCCESSES_PER_ENVIRONMENT as i64
            ],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    for request_id in old {
        if *budget == 0 {
            break;
        }
        pruned.approvals += c
            .prepare_cached("DELETE FROM deploy_approvals WHERE request_id = ?1")?
            .execute(params![request_id])?;
        pruned.requests += c
            .prepare_cached("DELETE FROM deploy_requests WHERE request_id = ?1")?
            .execute(params![request_id])?;
        *budget = budget.saturating_sub(1);
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    use crate::store::deploys::{
        AuditEntry, AuditKind, DeployAction, DeployState, DeployStore, NewDeployRequest,
        StateChange,
    };

    fn finished(store: &SqliteStore, id: &str, env: &str, state: DeployState, at: SystemTime) {
        let request = NewDeployRequest {
            request_id: id.into(),
            environment: env.into(),
            action: DeployAction::Deploy,
            version: format!("v1.0.{}", id.len()),
            requested_by: "U1".into(),
            channel: "C1".into(),
            approvals_needed: 1,
            state: DeployState::PendingApproval,
            created_at: at,
            expires_at: at + DAY,
        };
        store.create_request(&request).unwrap();
        store.add_approval(id, "U2", at).unwrap();
        let change = StateChange {
            at,
            decided_by: None,
        };
        assert!(store
            .transition(id, &DeployState::ACTIVE, state, change)
            .unwrap());
    }

    fn audit(store: &SqliteStore, at: SystemTime) {
        let entry = AuditEntry {
            at,
            request_id: None,
            environment: "prod".into(),
            actor: "U1".into(),
            kind: AuditKind::Refused,
            detail: "deploy v1 to prod".into(),
            result: "refused: busy".into(),
        };
        store.append_audit(&entry).unwrap();
    }

    #[test]
    fn old_finished_requests_and_old_audit_go_the_rest_stays() {
        let store = SqliteStore::in_memory().unwrap();
        let now = SystemTime::now();
        let old = now - 100 * DAY;
        for i in 0..8 {
            finished(
                &store,
                &format!("ok-{i}"),
                "prod",
                DeployState::Succeeded,
                old + Duration::from_secs(i),
            );
        }
        finished(&store, "failed-old", "prod", DeployState::Failed, old);
        finished(&store, "failed-new", "prod", DeployState::Failed, now - DAY);
        finished(&store, "expired-old", "staging", DeployState::Expired, old);
        let active = NewDeployRequest {
            request_id: "pending-old".into(),
            environment: "staging".into(),
            action: DeployAction::Rollback,
            version: "v0.9.0".into(),
            requested_by: "U1".into(),
            channel: "C1".into(),
            approvals_needed: 1,
            state: DeployState::PendingApproval,
            created_at: old,
            expires_at: old + DAY,
        };
        store.create_request(&active).unwrap();
        for age in [500, 401, 10] {
            audit(&store, now - age * DAY);
        }

        let first = store.prune_deploy_batch(now, 2).unwrap();
        assert_eq!(first.requests, 2, "{first:?}");
        let rest = store.prune_deploys(now, 2, 100, Duration::ZERO).unwrap();
        assert_eq!(
            first.requests + rest.requests,
            5,
            "3 old successes, 1 failure, 1 expiry"
        );
        assert_eq!(first.approvals + rest.approvals, 5);
        assert_eq!(first.audit_entries + rest.audit_entries, 2);
        assert_eq!(
            store.prune_deploy_batch(now, 2).unwrap(),
            PrunedDeploys::default()
        );

        for kept in [
            "ok-3",
            "ok-4",
            "ok-5",
            "ok-6",
            "ok-7",
            "failed-new",
            "pending-old",
        ] {
            assert!(store.request(kept).unwrap().is_some(), "{kept} stays");
        }
        for gone in ["ok-0", "ok-1", "ok-2", "failed-old", "expired-old"] {
            assert!(store.request(gone).unwrap().is_none(), "{gone} goes");
            assert!(store.approvals(gone).unwrap().is_empty());
        }
        assert_eq!(store.recent_audit(10).unwrap().len(), 1);
    }
}

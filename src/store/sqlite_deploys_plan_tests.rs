//! Every query the deploy flow runs periodically or per click uses an index (EXPLAIN QUERY PLAN).

use super::*;

/// The plan of `sql`, with `?` bound to NULL.
fn plan_of(store: &SqliteStore, sql: &str) -> Vec<String> {
    store
        .with(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let params = vec![rusqlite::types::Null; stmt.parameter_count()];
            let steps = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    r.get::<_, String>(3)
                })?
                .collect();
            steps
        })
        .unwrap()
}

#[test]
fn every_periodic_and_per_click_query_uses_an_index() {
    use crate::store::retention_deploys::{OLD_AUDIT_ENTRIES, OLD_FINISHED_REQUESTS};
    let store = SqliteStore::in_memory().unwrap();
    let active = state_list(&DeployState::ACTIVE);
    let in_flight = state_list(&DeployState::IN_FLIGHT);
    let queries = [
        format!("SELECT {COLUMNS} FROM deploy_requests WHERE environment = ?1 AND state IN ({active})"),
        format!("SELECT {COLUMNS} FROM deploy_requests WHERE state = 'PendingApproval' AND expires_at <= ?1 ORDER BY expires_at"),
        format!("SELECT {COLUMNS} FROM deploy_requests WHERE state IN ({in_flight}) ORDER BY created_at, request_id"),
        format!("SELECT {COLUMNS} FROM deploy_requests WHERE channel = ?1 AND thread_ts = ?2"),
        format!("SELECT {COLUMNS} FROM deploy_requests WHERE channel = ?1 AND approval_ts = ?2"),
        format!("SELECT {COLUMNS} FROM deploy_requests WHERE environment = ?1 AND state = 'Succeeded' \
                 ORDER BY updated_at DESC, created_at DESC, request_id DESC LIMIT 1"),
        "SELECT user_id FROM deploy_approvals WHERE request_id = ?1 ORDER BY at, user_id".to_owned(),
        "SELECT at FROM deploy_audit ORDER BY at DESC, id DESC LIMIT ?1".to_owned(),
        OLD_FINISHED_REQUESTS.to_owned(),
        OLD_AUDIT_ENTRIES.to_owned(),
    ];
    for sql in queries {
        let plan = plan_of(&store, &sql);
        let indexed = |step: &String| step.contains("INDEX") || step.contains("PRIMARY KEY");
        assert!(plan.iter().any(indexed), "{sql}: {plan:?}");
        let full_scan = plan
            .iter()
            .any(|step| step.starts_with("SCAN") && !step.contains("INDEX"));
        assert!(!full_scan, "{sql}: {plan:?}");
    }
}

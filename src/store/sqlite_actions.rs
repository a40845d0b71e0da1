//! `ActionStore` on SQLite: `action_requests` and `action_approvals` (see migrations.rs).

use std::time::SystemTime;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::actions::{ActionApproval, ActionRequest, ActionState, ActionStore};
use super::cards::{from_millis, to_millis};
use super::SqliteStore;

const COLUMNS: &str = "request_id, action, args, region, requested_by, channel, thread_ts, \
    card_ts, approvals_needed, state, created_at, expires_at, decided_by, exit_code";

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<ActionRequest> {
    let args: String = r.get(2)?;
    let state: String = r.get(9)?;
    Ok(ActionRequest {
        request_id: r.get(0)?,
        action: r.get(1)?,
        args: serde_json::from_str(&args).unwrap_or_default(),
        region: r.get(3)?,
        requested_by: r.get(4)?,
        channel: r.get(5)?,
        thread_ts: r.get(6)?,
        card_ts: r.get(7)?,
        approvals_needed: r.get(8)?,
        // An unknown state (from a newer binary) reads as finished: never run again.
        state: ActionState::parse(&state).unwrap_or(ActionState::Interrupted),
        created_at: from_millis(r.get(10)?),
        expires_at: from_millis(r.get(11)?),
        decided_by: r.get(12)?,
        exit_code: r.get(13)?,
    })
}

fn requests_where(
    c: &Connection,
    condition: &str,
    values: impl rusqlite::Params,
) -> rusqlite::Result<Vec<ActionRequest>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM action_requests WHERE {condition} ORDER BY created_at"
    ))?
    .query_map(values, request_from_row)?
    .collect()
}

fn approvers_of(c: &Connection, request_id: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached(
        "SELECT user_id FROM action_approvals WHERE request_id = ?1 ORDER BY at, rowid",
    )?
    .query_map(params![request_id], |r| r.get(0))?
    .collect()
}

impl ActionStore for SqliteStore {
    fn create_action_request(&self, q: &ActionRequest) -> anyhow::Result<()> {
        let args = serde_json::to_string(&q.args)?;
        self.with(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO action_requests ({COLUMNS}, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?11)"
            ))?
            .execute(params![
                q.request_id,
                q.action,
                args,
                q.region,
                q.requested_by,
                q.channel,
                q.thread_ts,
                q.card_ts,
                q.approvals_needed,
                q.state.as_str(),
                to_millis(q.created_at),
                to_millis(q.expires_at),
                q.decided_by,
                q.exit_code,
            ])
        })
        .context("Failed to record an action request")?;
        Ok(())
    }

    fn action_request(&self, request_id: &str) -> anyhow::Result<Option<ActionRequest>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM action_requests WHERE request_id = ?1"
            ))?
            .query_row(params![request_id], request_from_row)
            .optional()
        })
        .context("Failed to read an action request")
    }

    fn action_request_by_card(
        &self,
        channel: &str,
        ts: &str,
    ) -> anyhow::Result<Option<ActionRequest>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM action_requests WHERE channel = ?1 AND card_ts = ?2"
            ))?
            .query_row(params![channel, ts], request_from_row)
            .optional()
        })
        .context("Failed to find an action request by its card")
    }

    fn set_action_card(&self, request_id: &str, ts: &str) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE action_requests SET card_ts = ?2 WHERE request_id = ?1")?
                .execute(params![request_id, ts])
        })
        .context("Failed to record an action request's card")?;
        Ok(())
    }

    fn add_action_approval(
        &self,
        request_id: &str,
        user: &str,
        at: SystemTime,
    ) -> anyhow::Result<ActionApproval> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM action_requests WHERE request_id = ?1")?
                .query_row(params![request_id], |r| r.get(0))
                .optional()?;
            let state = state.and_then(|state| ActionState::parse(&state));
            if state != Some(ActionState::Pending) {
                return Ok(ActionApproval::NotPending(state));
            }
            let added = tx
                .prepare_cached("INSERT OR IGNORE INTO action_approvals VALUES (?1, ?2, ?3)")?
                .execute(params![request_id, user, to_millis(at)])?;
            let approvers = approvers_of(&tx, request_id)?;
            tx.commit()?;
            Ok(if added == 1 {
                ActionApproval::Added(approvers)
            } else {
                ActionApproval::AlreadyApproved(approvers)
            })
        })
        .context("Failed to record an approval of an action")
    }

    fn action_approvers(&self, request_id: &str) -> anyhow::Result<Vec<String>> {
        self.with(|c| approvers_of(c, request_id))
            .context("Failed to read an action request's approvals")
    }

    fn action_transition(
        &self,
        request_id: &str,
        from: ActionState,
        to: ActionState,
        decided_by: Option<&str>,
        exit_code: Option<i32>,
        at: SystemTime,
    ) -> anyhow::Result<bool> {
        let changed = self
            .with(|c| {
                c.prepare_cached(
                    "UPDATE action_requests SET state = ?3, updated_at = ?4, \
                     decided_by = COALESCE(?5, decided_by), exit_code = COALESCE(?6, exit_code) \
                     WHERE request_id = ?1 AND state = ?2",
                )?
                .execute(params![
                    request_id,
                    from.as_str(),
                    to.as_str(),
                    to_millis(at),
                    decided_by,
                    exit_code
                ])
            })
            .context("Failed to change an action request's state")?;
        Ok(changed == 1)
    }

    fn expired_action_requests(&self, now: SystemTime) -> anyhow::Result<Vec<ActionRequest>> {
        self.with(|c| {
            requests_where(
                c,
                "state = 'Pending' AND expires_at <= ?1",
                params![to_millis(now)],
            )
        })
        .context("Failed to look for expired action requests")
    }

    fn running_action_requests(&self) -> anyhow::Result<Vec<ActionRequest>> {
        self.with(|c| requests_where(c, "state = 'Running'", []))
            .context("Failed to look for running action requests")
    }

    fn forget_action_requests_before(
        &self,
        cutoff: SystemTime,
        batch: usize,
    ) -> anyhow::Result<usize> {
        self.with(|c| {
            c.prepare_cached(
                "DELETE FROM action_requests WHERE request_id IN (SELECT request_id \
                 FROM action_requests WHERE state IN \
                 ('Finished', 'Failed', 'Rejected', 'Expired', 'Interrupted') \
                 AND expires_at < ?1 LIMIT ?2)",
            )?
            .execute(params![to_millis(cutoff), batch as i64])
        })
        .context("Failed to prune old action requests")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(id: &str) -> ActionRequest {
        let now = SystemTime::now();
        ActionRequest {
            request_id: id.into(),
            action: "scale-web".into(),
            args: vec!["autoscaling".into(), "set-desired-capacity".into()],
            region: "eu-west-1".into(),
            requested_by: "U1".into(),
            channel: "C1".into(),
            thread_ts: "1.1".into(),
            card_ts: None,
            approvals_needed: 1,
            state: ActionState::Pending,
            created_at: now,
            expires_at: now + Duration::from_secs(60),
            decided_by: None,
            exit_code: None,
        }
    }

    #[test]
    fn a_request_is_approved_once_per_person_and_runs_once() {
        let store = SqliteStore::in_memory().unwrap();
        store.create_action_request(&request("r1")).unwrap();
        store.set_action_card("r1", "2.2").unwrap();
        let found = store.action_request_by_card("C1", "2.2").unwrap().unwrap();
        assert_eq!(found.args, ["autoscaling", "set-desired-capacity"]);
        let now = SystemTime::now();
        assert_eq!(
            store.add_action_approval("r1", "U2", now).unwrap(),
            ActionApproval::Added(vec!["U2".into()])
        );
        assert_eq!(
            store.add_action_approval("r1", "U2", now).unwrap(),
            ActionApproval::AlreadyApproved(vec!["U2".into()])
        );
        let (from, to) = (ActionState::Pending, ActionState::Running);
        assert!(store
            .action_transition("r1", from, to, Some("U2"), None, now)
            .unwrap());
        assert!(
            !store
                .action_transition("r1", from, to, Some("U3"), None, now)
                .unwrap(),
            "the second click does not run it again"
        );
        assert_eq!(store.running_action_requests().unwrap().len(), 1);
        assert_eq!(
            store.add_action_approval("r1", "U3", now).unwrap(),
            ActionApproval::NotPending(Some(ActionState::Running))
        );
        let done = ActionState::Finished;
        assert!(store
            .action_transition("r1", to, done, None, Some(0), now)
            .unwrap());
        let r1 = store.action_request("r1").unwrap().unwrap();
        assert_eq!(
            (r1.state, r1.exit_code, r1.decided_by.as_deref()),
            (done, Some(0), Some("U2"))
        );
    }

    #[test]
    fn only_pending_requests_past_their_time_expire() {
        let store = SqliteStore::in_memory().unwrap();
        store.create_action_request(&request("r1")).unwrap();
        let later = SystemTime::now() + Duration::from_secs(120);
        assert_eq!(store.expired_action_requests(later).unwrap().len(), 1);
        assert!(store
            .expired_action_requests(SystemTime::now())
            .unwrap()
            .is_empty());
    }
}

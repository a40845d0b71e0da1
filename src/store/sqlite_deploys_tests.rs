//! Unit tests for `DeployStore` on SQLite: the lock, compare-and-set, approvals, the sweeps,
//! rollback targets and the audit trail.

use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use super::*;

const MINUTE: Duration = Duration::from_secs(60);

/// A time SQLite's milliseconds give back unchanged.
fn at(offset_secs: u64) -> SystemTime {
    from_millis(1_800_000_000_000) + Duration::from_secs(offset_secs)
}

fn new_request(id: &str, env: &str, version: &str, state: DeployState) -> NewDeployRequest {
    NewDeployRequest {
        request_id: id.into(),
        environment: env.into(),
        action: DeployAction::Deploy,
        version: version.into(),
        requested_by: "U0REQUESTER".into(),
        channel: "C0DEPLOYS".into(),
        approvals_needed: 2,
        state,
        created_at: at(0),
        expires_at: at(0) + 30 * MINUTE,
    }
}

fn change(offset_secs: u64) -> StateChange<'static> {
    StateChange {
        at: at(offset_secs),
        decided_by: None,
    }
}

/// Creates `id` and moves it through `states` in order, the last at `finished_at`.
fn run_to(store: &SqliteStore, id: &str, env: &str, version: &str, finished_at: u64) {
    let created = store
        .create_request(&new_request(id, env, version, DeployState::Approved))
        .unwrap();
    assert_eq!(created, CreateOutcome::Created, "{id}");
    let steps = [
        DeployState::Dispatched,
        DeployState::Running,
        DeployState::Succeeded,
    ];
    let mut from = DeployState::Approved;
    for to in steps {
        assert!(store
            .transition(id, &[from], to, change(finished_at))
            .unwrap());
        from = to;
    }
}

#[test]
fn one_active_request_per_environment_even_from_two_connections_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    drop(SqliteStore::open(&path).unwrap());
    for round in 0..20 {
        let env = format!("env{round}");
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|who| {
                let (path, barrier, env) = (path.clone(), barrier.clone(), env.clone());
                std::thread::spawn(move || {
                    let store = SqliteStore::open(&path).unwrap();
                    let request = new_request(
                        &format!("{env}-{who}"),
                        &env,
                        "v1.0.0",
                        DeployState::PendingApproval,
                    );
                    barrier.wait();
                    (
                        request.request_id.clone(),
                        store.create_request(&request).unwrap(),
                    )
                })
            })
            .collect();
        let outcomes: Vec<(String, CreateOutcome)> =
            threads.into_iter().map(|t| t.join().unwrap()).collect();
        let created: Vec<&String> = outcomes
            .iter()
            .filter(|(_, outcome)| *outcome == CreateOutcome::Created)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(created.len(), 1, "round {round}: {outcomes:?}");
        let busy = outcomes.iter().find_map(|(_, outcome)| match outcome {
            CreateOutcome::Busy(holder) => Some(holder.request_id.clone()),
            CreateOutcome::Created => None,
        });
        assert_eq!(
            busy.as_ref(),
            Some(created[0]),
            "the refused one is shown the holder"
        );
    }
    let store = SqliteStore::open(&path).unwrap();
    let active = store.active_request("env0").unwrap().unwrap();
    assert_eq!(active.state, DeployState::PendingApproval);
}

#[test]
fn a_finished_request_frees_its_environment_and_others_are_independent() {
    let store = SqliteStore::in_memory().unwrap();
    let first = new_request("r1", "prod", "v1.0.0", DeployState::PendingApproval);
    assert_eq!(
        store.create_request(&first).unwrap(),
        CreateOutcome::Created
    );
    let second = new_request("r2", "prod", "v1.0.1", DeployState::PendingApproval);
    assert!(
        matches!(store.create_request(&second).unwrap(), CreateOutcome::Busy(r) if r.request_id == "r1")
    );
    let elsewhere = new_request("r3", "staging", "v1.0.1", DeployState::Approved);
    assert_eq!(
        store.create_request(&elsewhere).unwrap(),
        CreateOutcome::Created
    );
    let rejected = StateChange {
        at: at(60),
        decided_by: Some("U0APPROVER"),
    };
    assert!(store
        .transition(
            "r1",
            &[DeployState::PendingApproval],
            DeployState::Rejected,
            rejected
        )
        .unwrap());
    assert_eq!(
        store.create_request(&second).unwrap(),
        CreateOutcome::Created
    );
    let r1 = store.request("r1").unwrap().unwrap();
    assert_eq!(
        (r1.decided_by.as_deref(), r1.decided_at),
        (Some("U0APPROVER"), Some(at(60)))
    );
    assert_eq!(r1.updated_at, at(60));
    // The same id twice is an error, not a busy environment.
    let again = new_request("r3", "dev", "v1.0.1", DeployState::Approved);
    assert!(store.create_request(&again).is_err());
    // A request cannot start finished.
    assert!(store
        .create_request(&new_request("r4", "dev", "v1", DeployState::Failed))
        .is_err());
}

#[test]
fn transitions_compare_and_set_so_approval_and_expiry_cannot_both_win() {
    let store = SqliteStore::in_memory().unwrap();
    store
        .create_request(&new_request(
            "r1",
            "prod",
            "v1.0.0",
            DeployState::PendingApproval,
        ))
        .unwrap();
    let pending = [DeployState::PendingApproval];
    let approved = StateChange {
        at: at(10),
        decided_by: Some("U0APPROVER"),
    };
    assert!(store
        .transition("r1", &pending, DeployState::Approved, approved)
        .unwrap());
    assert!(!store
        .transition("r1", &pending, DeployState::Expired, change(11))
        .unwrap());
    assert_eq!(
        store.request("r1").unwrap().unwrap().state,
        DeployState::Approved
    );
    assert!(!store
        .transition("r1", &[], DeployState::Failed, change(12))
        .unwrap());
    assert!(!store
        .transition("nope", &pending, DeployState::Expired, change(12))
        .unwrap());
    let outcome = change(13);
    assert!(store
        .transition("r1", &DeployState::IN_FLIGHT, DeployState::Running, outcome)
        .unwrap());
    let running = store.request("r1").unwrap().unwrap();
    assert_eq!(
        running.decided_by.as_deref(),
        Some("U0APPROVER"),
        "a later change keeps the decision"
    );
    assert_eq!(running.decided_at, Some(at(10)));
}

#[test]
fn each_approver_counts_once_and_only_while_pending() {
    let store = SqliteStore::in_memory().unwrap();
    store
        .create_request(&new_request(
            "r1",
            "prod",
            "v1.0.0",
            DeployState::PendingApproval,
        ))
        .unwrap();
    assert_eq!(
        store.add_approval("r1", "U0ALICE", at(1)).unwrap(),
        ApprovalOutcome::Added(vec!["U0ALICE".into()])
    );
    assert_eq!(
        store.add_approval("r1", "U0ALICE", at(2)).unwrap(),
        ApprovalOutcome::AlreadyApproved(vec!["U0ALICE".into()])
    );
    assert_eq!(
        store.add_approval("r1", "U0BOB", at(3)).unwrap(),
        ApprovalOutcome::Added(vec!["U0ALICE".into(), "U0BOB".into()])
    );
    let approvals = store.approvals("r1").unwrap();
    assert_eq!(
        approvals,
        [
            Approval {
                user: "U0ALICE".into(),
                at: at(1)
            },
            Approval {
                user: "U0BOB".into(),
                at: at(3)
            }
        ]
    );
    store
        .transition(
            "r1",
            &[DeployState::PendingApproval],
            DeployState::Expired,
            change(4),
        )
        .unwrap();
    assert_eq!(
        store.add_approval("r1", "U0CAROL", at(5)).unwrap(),
        ApprovalOutcome::NotPending(Some(DeployState::Expired))
    );
    assert_eq!(
        store.add_approval("nope", "U0CAROL", at(5)).unwrap(),
        ApprovalOutcome::NotPending(None)
    );
    assert_eq!(store.approvals("r1").unwrap().len(), 2);
}

#[test]
fn buttons_find_their_request_by_either_message() {
    let store = SqliteStore::in_memory().unwrap();
    store
        .create_request(&new_request(
            "r1",
            "prod",
            "v1.0.0",
            DeployState::PendingApproval,
        ))
        .unwrap();
    assert!(store.set_thread_ts("r1", "100.1").unwrap());
    assert!(
        !store.set_thread_ts("r1", "999.9").unwrap(),
        "the root is set once"
    );
    store.set_approval_ts("r1", "100.2").unwrap();
    for ts in ["100.1", "100.2"] {
        let found = store.request_by_message("C0DEPLOYS", ts).unwrap().unwrap();
        assert_eq!(found.request_id, "r1");
        assert_eq!(found.thread_ts.as_deref(), Some("100.1"));
    }
    assert!(store
        .request_by_message("C0OTHER", "100.1")
        .unwrap()
        .is_none());
    assert!(store
        .request_by_message("C0DEPLOYS", "999.9")
        .unwrap()
        .is_none());
}

#[test]
fn the_expiry_sweep_sees_only_pending_requests_past_their_time() {
    let store = SqliteStore::in_memory().unwrap();
    let mut early = new_request("early", "prod", "v1.0.0", DeployState::PendingApproval);
    early.expires_at = at(60);
    let mut late = new_request("late", "staging", "v1.0.0", DeployState::PendingApproval);
    late.expires_at = at(600);
    let mut approved = new_request("approved", "dev", "v1.0.0", DeployState::Approved);
    approved.expires_at = at(30);
    for request in [&early, &late, &approved] {
        store.create_request(request).unwrap();
    }
    let ids = |now| -> Vec<String> {
        store
            .expired_requests(now)
            .unwrap()
            .into_iter()
            .map(|r| r.request_id)
            .collect()
    };
    assert!(ids(at(59)).is_empty());
    assert_eq!(ids(at(60)), ["early"]);
    assert_eq!(ids(at(601)), ["early", "late"]);
}

#[test]
fn a_restart_resumes_every_request_whose_run_may_exist() {
    let store = SqliteStore::in_memory().unwrap();
    let states = [
        ("pending", DeployState::PendingApproval, None),
        ("approved", DeployState::Approved, None),
        (
            "dispatched",
            DeployState::Approved,
            Some(DeployState::Dispatched),
        ),
        ("running", DeployState::Approved, Some(DeployState::Running)),
        ("done", DeployState::Approved, Some(DeployState::Succeeded)),
    ];
    for (i, (id, start, then)) in states.into_iter().enumerate() {
        let mut request = new_request(id, &format!("env{i}"), "v1.0.0", start);
        request.created_at = at(i as u64);
        store.create_request(&request).unwrap();
        if let Some(to) = then {
            assert!(store.transition(id, &[start], to, change(100)).unwrap());
        }
    }
    assert!(store
        .set_run(
            "running",
            4242,
            "https://github.com/o/r/actions/runs/4242",
            at(101)
        )
        .unwrap());
    assert!(!store.set_run("nope", 1, "https://x", at(101)).unwrap());
    let resumed = store.in_flight_requests().unwrap();
    let ids: Vec<&str> = resumed.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["approved", "dispatched", "running"]);
    assert_eq!(resumed[2].run_id, Some(4242));
    assert_eq!(
        resumed[2].run_url.as_deref(),
        Some("https://github.com/o/r/actions/runs/4242")
    );
}

#[test]
fn rollback_goes_to_the_last_success_with_another_version() {
    let store = SqliteStore::in_memory().unwrap();
    assert_eq!(
        store.last_successes("prod").unwrap(),
        LastSuccesses::default()
    );
    run_to(&store, "a", "prod", "v1.0.0", 10);
    let only = store.last_successes("prod").unwrap();
    assert_eq!(only.current.unwrap().request_id, "a");
    assert_eq!(only.previous, None);
    run_to(&store, "b", "prod", "latest", 20);
    store.set_deployed_version("b", "v1.1.0").unwrap();
    run_to(&store, "c", "prod", "v1.1.0", 30); // the same version again
    run_to(&store, "elsewhere", "staging", "v9.9.9", 40);
    store
        .create_request(&new_request(
            "failed",
            "prod",
            "v2.0.0",
            DeployState::Approved,
        ))
        .unwrap();
    store
        .transition(
            "failed",
            &[DeployState::Approved],
            DeployState::Failed,
            change(50),
        )
        .unwrap();
    let both = store.last_successes("prod").unwrap();
    assert_eq!(both.current.as_ref().unwrap().request_id, "c");
    assert_eq!(both.previous.as_ref().unwrap().request_id, "a");
    assert_eq!(both.previous.unwrap().effective_version(), "v1.0.0");
    // A `latest` whose version never came back is no rollback target.
    run_to(&store, "d", "prod", "latest", 60);
    let after_latest = store.last_successes("prod").unwrap();
    assert_eq!(after_latest.current.unwrap().request_id, "d");
    assert_eq!(after_latest.previous.unwrap().request_id, "c");
}

#[test]
fn the_audit_trail_reads_newest_first() {
    let store = SqliteStore::in_memory().unwrap();
    let kinds = [
        AuditKind::Requested,
        AuditKind::Approved,
        AuditKind::Dispatched,
        AuditKind::Outcome,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        store
            .append_audit(&AuditEntry {
                at: at(i as u64 / 2), // pairs share a millisecond: insertion order breaks ties
                request_id: Some("r1".into()),
                environment: "prod".into(),
                actor: if kind == AuditKind::Outcome {
                    "bot".into()
                } else {
                    format!("U{i}")
                },
                kind,
                detail: "deploy v1.2.3 to prod".into(),
                result: format!("step {i}"),
            })
            .unwrap();
    }
    let recent = store.recent_audit(3).unwrap();
    let kinds: Vec<AuditKind> = recent.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::Outcome,
            AuditKind::Dispatched,
            AuditKind::Approved
        ]
    );
    assert_eq!(recent[0].actor, "bot");
    assert_eq!(recent[0].at, at(1));
    assert_eq!(store.recent_audit(100).unwrap().len(), 4);
}

#[test]
fn every_word_round_trips() {
    for state in DeployState::ALL {
        assert_eq!(DeployState::parse(state.as_str()), Some(state));
    }
    for kind in AuditKind::ALL {
        assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
    }
    for action in DeployAction::ALL {
        assert_eq!(DeployAction::parse(action.as_str()), Some(action));
    }
    assert_eq!(DeployState::parse("succeeded"), None);
}

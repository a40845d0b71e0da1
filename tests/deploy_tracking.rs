//! Deploys followed to their end, against the fake GitHub over loopback: rollbacks find the
//! version to go back to, the App's token is reused, GitHub's 429 is waited out, a refused
//! dispatch is told plainly, `/platform-status` reads GitHub's deployments, and a run in
//! flight is tracked again after a restart without a second dispatch or a doubled note.

#[path = "deploys/rig.rs"]
mod rig;
mod support;

use std::time::{Duration, Instant};

use chatops_sandbox::github::{FaultKind, GitHubFault, RunTimings};
use rig::{deploy_toml, shown, Auth, Rig, ALICE};
use time::OffsetDateTime;

/// Deploys `version` to staging and waits for its success; returns the root's ts.
async fn deploy_to_staging(rig: &Rig, version: &str, nth: usize) -> String {
    rig.command("deploy", &format!("{version} to staging"), ALICE)
        .await;
    let root = rig.root(nth).await;
    rig.in_thread(&root.ts, &format!("Deployed `{version}` to `staging`"))
        .await;
    // The lock is released once the outcome is recorded and shown.
    rig.root_shows(&root.ts, &format!("Deployed {version} to staging"))
        .await;
    root.ts
}

#[tokio::test]
async fn a_rollback_goes_back_to_the_last_success_before_the_current_one() {
    let rig = Rig::start(&deploy_toml("")).await;
    deploy_to_staging(&rig, "v1.0.0", 1).await;
    deploy_to_staging(&rig, "v1.1.0", 2).await;
    rig.command("rollback", "staging", ALICE).await;
    let root = rig.root(3).await;
    assert!(
        shown(&root).contains("⏪ Roll back staging to v1.0.0"),
        "{}",
        shown(&root)
    );
    rig.in_thread(&root.ts, "Deployed `v1.0.0` to `staging`")
        .await;
    let runs = rig.github.runs();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[2].version, "v1.0.0");

    rig.command("rollback", "staging to v0.9.9", ALICE).await;
    let root = rig.root(4).await;
    assert!(
        shown(&root).contains("⏪ Roll back staging to v0.9.9"),
        "{}",
        shown(&root)
    );
}

#[tokio::test]
async fn latest_is_recorded_as_what_it_deployed_so_a_rollback_can_return_to_it() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.command("deploy", "", ALICE).await;
    let root = rig.root(1).await;
    assert!(
        shown(&root).contains("🚀 Deploy latest to staging"),
        "{}",
        shown(&root)
    );
    let run = loop {
        if let Some(run) = rig.github.runs().first().cloned() {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let resolved = format!("v0.{}.0", run.id);
    rig.in_thread(&root.ts, &format!("Deployed `{resolved}` to `staging`"))
        .await;
    rig.root_shows(&root.ts, &format!("Deployed {resolved} to staging"))
        .await;
    deploy_to_staging(&rig, "v2.0.0", 2).await;
    rig.command("rollback", "", ALICE).await;
    let root = rig.root(3).await;
    assert!(
        shown(&root).contains(&format!("⏪ Roll back staging to {resolved}")),
        "{}",
        shown(&root)
    );
}

#[tokio::test]
async fn without_records_of_its_own_a_rollback_reads_githubs_deployments() {
    let rig = Rig::start(&deploy_toml("")).await;
    let now = OffsetDateTime::now_utc();
    rig.github.seed_deployment(
        "staging",
        Some("v0.8.0"),
        "success",
        now - Duration::from_secs(7200),
    );
    rig.github.seed_deployment(
        "staging",
        Some("v0.9.0"),
        "failure",
        now - Duration::from_secs(5400),
    );
    rig.github.seed_deployment(
        "staging",
        Some("v1.0.0"),
        "success",
        now - Duration::from_secs(3600),
    );
    rig.command("rollback", "", ALICE).await;
    let root = rig.root(1).await;
    assert!(
        shown(&root).contains("⏪ Roll back staging to v0.8.0"),
        "the failed v0.9.0 is skipped and the inactive v0.8.0 found: {}",
        shown(&root)
    );

    rig.command("rollback", "prod", ALICE).await;
    rig.answered("I know of no successful deployment of prod")
        .await;
}

#[tokio::test]
async fn status_shows_githubs_current_version_and_what_is_waiting() {
    let rig = Rig::start(&deploy_toml("")).await;
    deploy_to_staging(&rig, "v1.4.2", 1).await;
    rig.command("deploy", "v2.0.0 to prod", ALICE).await;
    rig.in_thread(&rig.root(2).await.ts, "Approval needed")
        .await;
    rig.command("status", "", ALICE).await;
    let status = rig.answered("Deploy status").await;
    assert!(status.contains("Current: `v1.4.2`"), "{status}");
    assert!(status.contains("(GitHub)"), "{status}");
    assert!(
        status.contains("Deploy v2.0.0 to prod: waiting for approval"),
        "{status}"
    );
    assert!(
        status.contains("Nothing in progress"),
        "staging is idle: {status}"
    );
}

#[tokio::test]
async fn the_apps_installation_token_is_minted_once_for_many_calls() {
    let rig = Rig::start_with(Auth::App, &deploy_toml("")).await;
    deploy_to_staging(&rig, "v1.0.0", 1).await;
    deploy_to_staging(&rig, "v1.0.1", 2).await;
    let calls = rig.github.requests().len();
    assert!(calls >= 8, "two tracked deploys made {calls} calls");
    assert_eq!(
        rig.github.token_mints(),
        1,
        "one installation token for all of them"
    );
}

#[tokio::test]
async fn a_429_from_github_is_waited_out_and_tracking_goes_on() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.github.push_fault(GitHubFault::new(
        "GET",
        "/repos/acme/app/actions/runs/",
        1,
        FaultKind::TooManyRequests {
            retry_after_secs: Some(1),
        },
    ));
    deploy_to_staging(&rig, "v1.0.0", 1).await;
    let polls: Vec<_> = rig
        .github
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/repos/acme/app/actions/runs/"))
        .collect();
    let limited = polls
        .iter()
        .position(|r| r.status == 429)
        .expect("the fault was hit");
    let retry = polls[limited + 1..]
        .iter()
        .find(|r| r.path == polls[limited].path)
        .expect("the same call was made again");
    assert!(
        retry.at.duration_since(polls[limited].at) >= Duration::from_millis(950),
        "the retry waited for retry-after"
    );
}

#[tokio::test]
async fn a_refused_dispatch_says_why_and_frees_the_environment() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.github.push_fault(GitHubFault::new(
        "POST",
        "/repos/acme/app/dispatches",
        1,
        FaultKind::NotFound,
    ));
    rig.command("deploy", "v1.0.0", ALICE).await;
    let root = rig.root(1).await;
    rig.in_thread(&root.ts, "or the token lacks Contents: write")
        .await;
    rig.root_shows(&root.ts, "GitHub refused to start the workflow")
        .await;
    assert!(rig.github.runs().is_empty());
    deploy_to_staging(&rig, "v1.0.1", 2).await;
}

#[tokio::test]
async fn tracking_resumes_after_a_restart_without_a_second_dispatch() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.github.set_run_timings(RunTimings {
        queued: Duration::from_millis(200),
        running: Duration::from_secs(4),
    });
    rig.command("deploy", "v5.0.0", ALICE).await;
    let root = rig.root(1).await;
    rig.in_thread(&root.ts, "started").await;
    let rig = rig.restart().await;
    let started = Instant::now();
    rig.in_thread(&root.ts, "Deployed `v5.0.0` to `staging`")
        .await;
    assert!(started.elapsed() < Duration::from_secs(15));
    rig.root_shows(&root.ts, "Deployed v5.0.0 to staging").await;
    assert_eq!(rig.dispatches(), 1, "never dispatched twice");
    let thread = rig.thread(&root.ts);
    for note in ["started", "Deployed `v5.0.0`"] {
        let count = thread.iter().filter(|m| shown(m).contains(note)).count();
        assert_eq!(count, 1, "{note:?} shown once: {thread:#?}");
    }
}

#[tokio::test]
async fn a_request_whose_thread_was_never_posted_is_cancelled_at_start_up() {
    use chatops_bot::store::deploys::{DeployAction, DeployState, DeployStore, NewDeployRequest};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    // The store blocks, so it is written from a thread of its own.
    std::thread::spawn(move || {
        let store = chatops_bot::store::SqliteStore::open(&path).unwrap();
        let now = std::time::SystemTime::now();
        let orphan = NewDeployRequest {
            request_id: "0c9e7c1e-0000-4000-8000-000000000001".into(),
            environment: "staging".into(),
            action: DeployAction::Deploy,
            version: "v9.9.9".into(),
            requested_by: ALICE.into(),
            channel: rig::CHANNEL.into(),
            approvals_needed: 0,
            state: DeployState::Approved,
            created_at: now,
            expires_at: now + Duration::from_secs(1800),
        };
        store.create_request(&orphan).unwrap();
    })
    .join()
    .unwrap();
    let rig = Rig::start_in(Auth::Token, &deploy_toml(""), dir).await;
    deploy_to_staging(&rig, "v1.0.0", 1).await;
    assert_eq!(rig.dispatches(), 1, "the orphan was never dispatched");
    rig.command("status", "audit", rig::BOB).await;
    let audit = rig.answered("Deploy audit").await;
    assert!(
        audit.contains("cancelled: its thread was never posted"),
        "{audit}"
    );
}

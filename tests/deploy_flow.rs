//! Deploys from Slack, end to end: the real bot in-process against the fake Slack and the fake
//! GitHub over loopback. A request opens a thread in the command's channel; approvals count
//! only from approvers, once each, never the requester's; rejection, expiry, the environment's
//! lock, bad input and unauthorised requesters are refused before anything reaches GitHub.

#[path = "deploys/rig.rs"]
mod rig;
mod support;

use rig::{buttons, deploy_toml, shown, Rig, ALICE, BOB, CAROL, MALLORY, SECOND};
use support::eventually;

#[tokio::test]
async fn a_deploy_that_needs_no_approval_runs_to_success_in_its_thread() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.command("deploy", "v1.4.2", ALICE).await;
    let root = rig.root(1).await;
    assert!(
        shown(&root).contains("🚀 Deploy v1.4.2 to staging"),
        "{}",
        shown(&root)
    );

    rig.in_thread(&root.ts, "started").await;
    rig.in_thread(&root.ts, "In progress").await;
    rig.in_thread(&root.ts, "Deployed `v1.4.2` to `staging`")
        .await;
    let root = rig.root_shows(&root.ts, "Deployed v1.4.2 to staging").await;
    assert!(
        shown(&root).contains("actions/runs/"),
        "the root links the run: {}",
        shown(&root)
    );

    assert_eq!(rig.dispatches(), 1);
    let runs = rig.github.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].version.as_str(), runs[0].environment.as_str()),
        ("v1.4.2", "staging")
    );
    assert!(
        shown(&root).contains(&runs[0].request_id),
        "the run carries the request id the root shows"
    );
    assert!(
        rig.thread(&root.ts).iter().all(|m| buttons(m).is_empty()),
        "no approval card"
    );
}

#[tokio::test]
async fn an_approver_approves_while_the_requester_and_others_are_refused() {
    let rig = Rig::start(&deploy_toml("")).await;
    // Bob may both ask and approve, but not his own request.
    rig.command("deploy", "v2.0.0 to prod", BOB).await;
    let root = rig.root(1).await;
    let card = rig.in_thread(&root.ts, "Approval needed").await;
    assert_eq!(buttons(&card), ["deploy.approve", "deploy.reject"]);
    assert!(
        shown(&root).contains("Waiting for approval (0 of 1)"),
        "{}",
        shown(&root)
    );

    rig.click(&card.ts, "deploy.approve", BOB).await;
    rig.answered("your approval does not count").await;
    rig.click(&card.ts, "deploy.approve", MALLORY).await;
    rig.answered("Only the approvers of prod").await;
    tokio::time::sleep(SECOND / 2).await;
    assert_eq!(rig.dispatches(), 0, "refused clicks start nothing");

    rig.click(&card.ts, "deploy.approve", CAROL).await;
    rig.answered("the workflow starts now").await;
    rig.in_thread(&root.ts, "Deployed `v2.0.0` to `prod`").await;
    let card = rig.in_thread(&root.ts, "Approved by <@U0CAROL001>").await;
    assert!(buttons(&card).is_empty(), "the decided card has no buttons");
    rig.root_shows(&root.ts, "Deployed v2.0.0 to prod").await;
    assert_eq!(rig.dispatches(), 1);

    rig.command("status", "audit 20", BOB).await;
    let audit = rig.answered("Deploy audit").await;
    for kind in [
        "Requested",
        "ApprovalRefused",
        "Approved",
        "Dispatched",
        "Outcome",
    ] {
        assert!(audit.contains(kind), "{kind} in {audit}");
    }
    rig.command("status", "audit", ALICE).await;
    rig.answered("approvers only").await;
}

#[tokio::test]
async fn a_rejected_request_never_reaches_github() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.command("deploy", "v2.0.0 to prod", ALICE).await;
    let root = rig.root(1).await;
    let card = rig.in_thread(&root.ts, "Approval needed").await;
    rig.click(&card.ts, "deploy.reject", MALLORY).await;
    rig.answered("can reject this request").await;
    rig.click(&card.ts, "deploy.reject", CAROL).await;
    rig.answered("Rejected; the request is closed").await;
    rig.in_thread(&root.ts, "Rejected by <@U0CAROL001>").await;
    rig.root_shows(&root.ts, "Rejected").await;
    eventually(5 * SECOND, "the rejected card lost its buttons", || {
        rig.thread(&root.ts)
            .iter()
            .any(|m| m.ts == card.ts && buttons(m).is_empty() && shown(m).contains("Rejected by"))
    })
    .await;
    rig.click(&card.ts, "deploy.approve", BOB).await;
    rig.answered("no longer waits for approvals").await;
    assert_eq!(rig.dispatches(), 0);
    // The lock is free again.
    rig.command("deploy", "v2.0.1 to prod", ALICE).await;
    rig.root(2).await;
}

#[tokio::test]
async fn one_request_at_a_time_per_environment() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.command("deploy", "v2.0.0 to prod", ALICE).await;
    let root = rig.root(1).await;
    rig.in_thread(&root.ts, "Approval needed").await;
    rig.command("deploy", "v2.0.1 to prod", BOB).await;
    let refusal = rig.answered("is busy").await;
    assert!(refusal.contains("Deploy v2.0.0 to prod"), "{refusal}");
    assert!(
        refusal.contains("its thread"),
        "links the running one: {refusal}"
    );
    assert_eq!(rig.roots().len(), 1, "no second thread");
    // Another environment is not held.
    rig.command("deploy", "v2.0.1", BOB).await;
    rig.root(2).await;
}

#[tokio::test]
async fn bad_versions_unknown_environments_and_strangers_are_refused_before_github() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.command("deploy", "v1.2 to staging", ALICE).await;
    let answer = rig.answered("is not a version").await;
    assert!(
        answer.contains("/platform-deploy [version] [to] [env]"),
        "shows the grammar: {answer}"
    );
    rig.command("deploy", "v1.2.3 to moon", ALICE).await;
    rig.answered("`moon` is not an environment here").await;
    rig.command("deploy", "v1.2.3 to prod", MALLORY).await;
    rig.answered("You may not ask for deploys to prod").await;
    rig.command("deploy", "<!channel> v1.2.3", ALICE).await;
    rig.answered("Slack turned part of that").await;
    tokio::time::sleep(SECOND / 2).await;
    assert!(rig.roots().is_empty(), "nothing was posted");
    assert!(rig.github.requests().is_empty(), "GitHub heard nothing");
    rig.command("status", "audit", BOB).await;
    let audit = rig.answered("Deploy audit").await;
    assert!(audit.contains("refused: not a requester"), "{audit}");
}

#[tokio::test]
async fn a_request_nobody_approves_expires_and_its_buttons_go() {
    let rig = Rig::start(&deploy_toml("")).await;
    rig.command("deploy", "v3.0.0 to prod", ALICE).await;
    let root = rig.root(1).await;
    let card = rig.in_thread(&root.ts, "Approval needed").await;
    // Bring the deadline forward in the bot's own store, as if the timeout had passed.
    let db = rig.bot.dir.path().join("bot.db");
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let changed = connection
        .execute("UPDATE deploy_requests SET expires_at = 0", [])
        .unwrap();
    assert_eq!(changed, 1);
    rig.in_thread(&root.ts, "Expired: not enough approvals")
        .await;
    rig.root_shows(&root.ts, "Expired without enough approvals")
        .await;
    eventually(5 * SECOND, "the card lost its buttons", || {
        rig.thread(&root.ts)
            .iter()
            .any(|m| m.ts == card.ts && buttons(m).is_empty())
    })
    .await;
    rig.click(&card.ts, "deploy.approve", BOB).await;
    rig.answered("no longer waits for approvals").await;
    assert_eq!(rig.dispatches(), 0);
}

#[tokio::test]
async fn members_of_an_approver_user_group_approve_and_help_explains_the_commands() {
    let toml = "[deploy]\ndefault_environment = \"staging\"\npoll_interval = \"100ms\"\n\n\
         [deploy.environments.staging]\n\n\
         [deploy.environments.prod]\nrequesters = [\"S0RELEASE1\"]\napprovers = [\"S0SRE00001\"]\napprovals = 1\n";
    let rig = Rig::start(toml).await;
    rig.slack.set_user_group("S0RELEASE1", &[ALICE]);
    rig.slack.set_user_group("S0SRE00001", &[CAROL]);
    rig.command("deploy", "v2.0.0 to prod", BOB).await;
    rig.answered("You may not ask for deploys to prod").await;
    rig.command("deploy", "v2.0.0 to prod", ALICE).await;
    let root = rig.root(1).await;
    let card = rig.in_thread(&root.ts, "Approval needed").await;
    assert!(
        shown(&card).contains("<!subteam^S0SRE00001>"),
        "{}",
        shown(&card)
    );
    rig.click(&card.ts, "deploy.approve", BOB).await;
    rig.answered("Only the approvers of prod").await;
    rig.click(&card.ts, "deploy.approve", CAROL).await;
    rig.in_thread(&root.ts, "Deployed `v2.0.0` to `prod`").await;

    let help = chatops_sandbox::slack::envelopes::app_mention(rig::CHANNEL, ALICE, "<@U0BOT> help");
    rig.slack
        .send(chatops_sandbox::slack::Target::Any, help)
        .await
        .unwrap();
    eventually(10 * SECOND, "help lists the deploy commands", || {
        rig.slack.messages(rig::CHANNEL).iter().any(|m| {
            shown(m).contains("/platform-deploy [version] [to] [env]")
                && shown(m).contains("/platform-rollback [env] [to version]")
        })
    })
    .await;
}

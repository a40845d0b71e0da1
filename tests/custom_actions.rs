//! Custom actions (`[[actions]]`) end to end: the bot in this process against the fake Slack,
//! the fake SQS and STS, and a fake `aws` executable. A request shows its exact argv and dry
//! run, waits for an approver (never the requester), runs once, posts its result and is
//! audited; a rejected one or one whose value fails its pattern never runs; a read-only action
//! runs at once; an alarm card's button fills `{alarm.dimensions.…}`; a pending request
//! survives a restart. Config errors come with their key paths.

#[path = "custom_actions/rig.rs"]
mod rig;
mod support;

use rig::{buttons, Rig, ALICE, BOB, CAROL, MALLORY, SECOND};
use support::alarm_sandbox::shown;
use support::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_action_shows_its_argv_and_dry_run_then_runs_once() {
    let rig = Rig::start().await;
    rig.mention("run scale-web 4", BOB).await;
    let card_message = rig
        .shows(&[
            "aws autoscaling set-desired-capacity --auto-scaling-group-name web-asg --desired-capacity 4",
            "Approval needed",
            "Dry run",
            "is allowed for the role",
        ])
        .await;
    let card = card_message.ts.clone();
    assert_eq!(buttons(&card_message), ["action.approve", "action.reject"]);
    assert!(
        shown(&card_message).contains("<@U0BOB00001>"),
        "who asked: {}",
        shown(&card_message)
    );
    assert_eq!(
        rig.runs(),
        ["iam simulate-principal-policy --policy-source-arn arn:aws:iam::123456789012:role/chatops-actions --action-names autoscaling:SetDesiredCapacity --output json"],
        "only the dry run so far"
    );

    rig.click(&card, "action.approve", BOB).await;
    rig.answered("your approval does not count").await;
    rig.click(&card, "action.approve", MALLORY).await;
    rig.answered("Only the approvers").await;
    // Two clicks at once run it once.
    rig.click(&card, "action.approve", CAROL).await;
    rig.click(&card, "action.approve", CAROL).await;
    rig.shows(&["Action `scale-web`, asked by", "Done"]).await;
    eventually(10 * SECOND, "the card says it was approved", || {
        rig.messages().iter().any(|m| {
            m.ts == card && shown(m).contains("Approved by <@U0CAROL001>") && buttons(m).is_empty()
        })
    })
    .await;
    tokio::time::sleep(SECOND / 2).await;
    let runs = rig.runs();
    let real: Vec<&String> = runs
        .iter()
        .filter(|r| r.starts_with("autoscaling"))
        .collect();
    assert_eq!(
        real,
        ["autoscaling set-desired-capacity --auto-scaling-group-name web-asg --desired-capacity 4 --output json"],
        "runs once, with the substituted argv"
    );
    let audit = rig.audit().await;
    let ran: Vec<_> = audit
        .iter()
        .filter(|r| r.action.as_deref() == Some("scale-web"))
        .map(|r| (r.user.as_str(), r.argv.first().cloned().unwrap_or_default()))
        .collect();
    assert_eq!(
        ran,
        [(BOB, "autoscaling".into()), (BOB, "iam".into())],
        "{audit:?}"
    );
    rig.alarms.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_request_and_a_value_that_fails_its_pattern_never_run() {
    let rig = Rig::start().await;
    rig.mention("run scale-web 4", ALICE).await;
    let card = rig.shows(&["Approval needed", "Dry run"]).await;
    rig.click(&card.ts, "action.reject", MALLORY).await;
    rig.answered("can reject it").await;
    rig.click(&card.ts, "action.reject", BOB).await;
    rig.answered("Rejected; nothing was run").await;
    rig.shows(&["Rejected by <@U0BOB00001>"]).await;
    rig.click(&card.ts, "action.approve", BOB).await;
    rig.answered("no longer waiting").await;

    for bad in ["4;reboot", "400", "$(id)", "4\u{7}"] {
        rig.mention(&format!("run scale-web {bad}"), ALICE).await;
    }
    rig.answered("does not match its pattern").await;
    rig.answered("is refused").await;
    rig.mention("run scale-web", ALICE).await;
    rig.answered("needs a value for count").await;
    tokio::time::sleep(SECOND).await;
    assert!(
        rig.runs()
            .iter()
            .all(|r| r.starts_with("iam simulate-principal-policy")),
        "only the first request's dry run ran: {:?}",
        rig.runs()
    );
    let refused = rig.audit().await;
    assert!(
        refused
            .iter()
            .filter(|r| matches!(
                r.outcome,
                chatops_bot::store::aws_runs::AwsRunOutcome::Refused { .. }
            ))
            .count()
            >= 4,
        "refusals are audited: {refused:?}"
    );
    rig.alarms.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_action_runs_at_once_and_run_lists_the_actions() {
    let rig = Rig::start().await;
    rig.mention("run list-groups", ALICE).await;
    let result = rig.shows(&["Action `list-groups`, asked by"]).await;
    assert!(
        shown(&result).contains("web-asg &lt;!channel&gt;"),
        "inert output: {}",
        shown(&result)
    );
    rig.shows(&[
        "aws autoscaling describe-auto-scaling-groups",
        "No approval needed",
    ])
    .await;
    assert_eq!(
        rig.runs(),
        ["autoscaling describe-auto-scaling-groups --output json"]
    );

    rig.mention("run images", ALICE).await;
    rig.shows(&[
        "Action `images`, asked by",
        "is in the file `aws-ec2-describe-images.json`",
    ])
    .await;
    eventually(10 * SECOND, "the output uploaded to the thread", || {
        rig.alarms
            .slack
            .uploads()
            .iter()
            .any(|f| f.filename == "aws-ec2-describe-images.json" && f.bytes.len() == 5001)
    })
    .await;

    rig.mention("run", ALICE).await;
    let list = rig
        .shows(&["Custom actions", "reboot-instance", "/platform-scale-web"])
        .await;
    assert!(shown(&list).contains("list-groups"), "{}", shown(&list));
    rig.slash("scale-web", "5", ALICE).await;
    rig.shows(&["--desired-capacity 5", "Approval needed"])
        .await;
    rig.alarms.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_on_a_matching_alarm_card_fills_the_alarms_dimensions() {
    let rig = Rig::start().await;
    let t0 = "2026-12-07T10:00:00.000+0000";
    rig.alarms.publish("web-cpu-high", "ALARM", "OK", t0);
    rig.alarms.publish("db-cpu-high", "ALARM", "OK", t0);
    eventually(15 * SECOND, "two cards", || {
        rig.alarms.top_level().len() == 2
    })
    .await;
    let cards = rig.alarms.top_level();
    let web = cards
        .iter()
        .find(|m| shown(m).contains("web-cpu-high"))
        .unwrap();
    let db = cards
        .iter()
        .find(|m| shown(m).contains("db-cpu-high"))
        .unwrap();
    assert!(
        buttons(web).contains(&"action.run.reboot-instance".to_owned()),
        "{:?}",
        buttons(web)
    );
    assert!(
        !buttons(db).iter().any(|b| b.starts_with("action.run.")),
        "{:?}",
        buttons(db)
    );

    rig.click(&web.ts, "action.run.reboot-instance", ALICE)
        .await;
    let card = rig
        .shows(&[
            "aws ec2 reboot-instances --instance-ids i-0abc",
            "DryRunOperation",
        ])
        .await;
    assert_eq!(
        card.thread_ts.as_deref(),
        Some(web.ts.as_str()),
        "in the card's thread"
    );
    rig.click(&card.ts, "action.approve", BOB).await;
    rig.shows(&["Action `reboot-instance`, asked by"]).await;
    assert_eq!(
        rig.runs(),
        [
            "ec2 reboot-instances --instance-ids i-0abc --dry-run --output json",
            "ec2 reboot-instances --instance-ids i-0abc --output json"
        ]
    );
    rig.alarms.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_request_survives_a_restart_and_still_runs_once() {
    let rig = Rig::start().await;
    rig.mention("run scale-web 3", ALICE).await;
    let card = rig.shows(&["Approval needed", "Dry run"]).await;
    let rig = rig.restart().await;
    rig.click(&card.ts, "action.approve", BOB).await;
    rig.shows(&["Action `scale-web`, asked by"]).await;
    rig.click(&card.ts, "action.approve", BOB).await;
    rig.answered("no longer waiting").await;
    let real = rig
        .runs()
        .into_iter()
        .filter(|r| r.starts_with("autoscaling"))
        .count();
    assert_eq!(real, 1);
    rig.alarms.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_requests_close_and_one_left_running_by_a_stop_is_never_run_again() {
    use chatops_bot::store::actions::{ActionRequest, ActionState, ActionStore};
    use chatops_bot::store::SqliteStore;
    use std::time::{Duration, SystemTime};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    let past = SystemTime::now() - Duration::from_secs(60);
    let request = move |id: &str, state: ActionState, card: &str| ActionRequest {
        request_id: id.into(),
        action: "scale-web".into(),
        args: ["autoscaling", "set-desired-capacity"]
            .map(str::to_owned)
            .to_vec(),
        region: "eu-west-1".into(),
        requested_by: ALICE.into(),
        channel: support::alarm_sandbox::CHANNEL.into(),
        thread_ts: "1700000000.000100".into(),
        card_ts: Some(card.into()),
        approvals_needed: 1,
        state,
        created_at: past - Duration::from_secs(1800),
        expires_at: past,
        decided_by: None,
        exit_code: None,
    };
    chatops_bot::store::unblock(move || {
        let store = SqliteStore::open(&path)?;
        store.create_action_request(&request("old", ActionState::Pending, "1700000000.000200"))?;
        store.create_action_request(&request("cut", ActionState::Running, "1700000000.000300"))
    })
    .await
    .unwrap();
    let rig = Rig::start_in(dir).await;
    let state = |id: &'static str| {
        let path = rig.alarms.bot.dir.path().join("bot.db");
        chatops_bot::store::unblock(move || {
            Ok(SqliteStore::open(&path)?
                .action_request(id)?
                .map(|r| r.state))
        })
    };
    let deadline = tokio::time::Instant::now() + 10 * SECOND;
    loop {
        let (old, cut) = (state("old").await.unwrap(), state("cut").await.unwrap());
        if old == Some(ActionState::Expired) && cut == Some(ActionState::Interrupted) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{old:?} {cut:?}");
        tokio::time::sleep(SECOND / 10).await;
    }
    rig.shows(&["I restarted while this action ran", "not run again"])
        .await;
    rig.click("1700000000.000200", "action.approve", BOB).await;
    rig.answered("no longer waiting").await;
    assert!(rig.runs().is_empty(), "nothing ran: {:?}", rig.runs());
    rig.alarms.bot.stop().await.unwrap();
}

#[test]
fn check_names_the_key_of_every_broken_action() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.toml");
    let text = r#"
[slack]
app_token = "xapp-1-x"
bot_token = "xoxb-x"

[aws_commands]
role_arn = "arn:aws:iam::123456789012:role/chatops"
region = "eu-west-1"

[[actions]]
name = "leak"
description = "Reads a secret"
command = ["aws", "secretsmanager", "get-secret-value", "--secret-id", "prod/db"]
approvals = 0

[[actions]]
name = "elsewhere"
description = "Goes elsewhere"
command = ["aws", "ec2", "describe-instances", "--endpoint-url", "https://evil.example"]

[[actions]]
name = "scale"
description = "Scales"
command = ["aws", "autoscaling", "set-desired-capacity", "--desired-capacity", "{args.count}"]
approvers = ["U0BOB00001"]
"#;
    std::fs::write(&path, text).unwrap();
    let run = |path: &std::path::Path| {
        std::process::Command::new(support::bot_binary())
            .args(["check", "--config"])
            .arg(path)
            .output()
            .unwrap()
    };
    let out = run(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("actions[2].command[4]"),
        "undeclared variable: {stderr}"
    );
    // The guardrails run once the config itself reads: fix the variable, see them.
    std::fs::write(&path, text.replace("\"{args.count}\"]", "\"4\"]")).unwrap();
    let out = run(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("actions[0].command"),
        "denylisted: {stderr}"
    );
    assert!(
        stderr.contains("actions[1].command[3]"),
        "rejected flag: {stderr}"
    );
    assert!(stderr.contains("--endpoint-url"), "{stderr}");
}

#[test]
fn the_commented_example_in_bot_toml_loads_and_passes_the_guardrails() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("# [aws_commands]").unwrap();
    let example: String = text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let example = format!("[slack]\napp_token = \"xapp-1-x\"\nbot_token = \"xoxb-x\"\n[aws]\nregion = \"eu-west-1\"\n{example}");
    let config = chatops_bot::config::Config::load_from_str(
        "bot.toml",
        &example,
        Vec::<(String, String)>::new(),
        chatops_bot::config::Purpose::Run,
    )
    .unwrap_or_else(|e| panic!("{example}\n{e}"));
    let catalog = chatops_bot::custom_actions::Catalog::new(&config.actions).unwrap();
    let action = catalog.get("scale-web").unwrap();
    assert_eq!((action.approvals, action.config.slash), (1, true));
    assert!(config
        .slash_commands()
        .iter()
        .any(|c| c.name == "/platform-scale-web"));
}

//! `check --live` against the sandbox over loopback: with every fake up, every row is ✓ within
//! 5 s (in-process and through the real binary); each broken integration gives its ✗ row with
//! the fix and a failing status (a missing dead-letter queue only warns); a hanging probe is cut
//! by its timeout while the others report; the report never shows a token.

#[path = "preflight/rig.rs"]
mod rig;
mod support;

use chatops_bot::preflight::{self, Options, Status};
use chatops_sandbox::aws::SqsFault;
use chatops_sandbox::bedrock::{FAKE_AGENT_ALIAS_ID, FAKE_AGENT_ID};
use chatops_sandbox::github::{FaultKind, GitHubFault, TEST_APP_PRIVATE_KEY};
use chatops_sandbox::slack::{ConnectionEnd, DEFAULT_BOT_SCOPES};
use rig::{all_ok_but, failed, row, Rig, SECOND};
use support::{eventually, APP_TOKEN, BOT_TOKEN};

#[test]
fn the_fake_slack_grants_the_scopes_the_manifest_declares() {
    // An app installed from the manifest has exactly its scopes; keep the fake's list in step.
    assert_eq!(DEFAULT_BOT_SCOPES, chatops_bot::slack::manifest::BOT_SCOPES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_fake_up_every_row_is_ok_within_five_seconds() {
    let rig = Rig::start().await;
    let (rows, elapsed) = rig.check_with(|text| text, Options::default()).await;
    let names: Vec<&str> = rows.iter().map(|row| row.what.as_str()).collect();
    assert_eq!(
        names,
        [
            "Slack bot token",
            "Slack scopes",
            "Slack Socket Mode",
            "SQS alarm queue",
            "SQS dead-letter queue",
            "CloudWatch graphs",
            "Bedrock agent alias",
            "Bedrock invocation",
            "Confluence space",
            "GitHub repository",
        ]
    );
    all_ok_but(&rows, &[]);
    assert!(!preflight::failed(&rows));
    assert!(elapsed < 5 * SECOND, "took {elapsed:?}");
    assert!(row(&rows, "Slack bot token").detail.contains("in Sandbox"));
    assert!(row(&rows, "SQS alarm queue")
        .detail
        .contains("chatops-alarms: 0 waiting, 0 in flight"));
    assert!(row(&rows, "GitHub repository")
        .detail
        .contains("acme/app readable; permissions: pull, push, triage"));
    assert_eq!(
        rig.bedrock.alias_lookups(),
        [(FAKE_AGENT_ID.to_owned(), FAKE_AGENT_ALIAS_ID.to_owned())]
    );
    assert!(rig.bedrock.invocations().is_empty(), "nothing is invoked");
    // The Socket Mode connection said hello and was closed by the check.
    let log = rig.slack.connection_log();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert!(log[0].hello_at.is_some(), "{log:#?}");
    eventually(5 * SECOND, "the check's connection to end", || {
        rig.slack.connection_log()[0].end.is_some()
    })
    .await;
    let end = rig.slack.connection_log()[0].end.clone();
    assert!(
        matches!(end, Some(ConnectionEnd::ClientClosed { .. })),
        "closed by the check with a close frame: {end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_the_table_and_exits_0_when_all_is_well() {
    let rig = Rig::start().await;
    let (code, output, elapsed) = rig.run_binary(|text| text).await;
    assert_eq!(code, 0, "{output}");
    assert!(elapsed < 5 * SECOND, "took {elapsed:?}");
    for line in [
        "✓  Slack bot token",
        "✓  Slack Socket Mode",
        "✓  SQS dead-letter queue",
        "✓  CloudWatch graphs",
        "–  Bedrock invocation",
        "✓  GitHub repository",
    ] {
        assert!(output.contains(line), "{line:?} missing from:\n{output}");
    }
    assert!(!output.contains('✗'), "{output}");
    assert!(output.contains("9 ok · 1 not checked"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_bot_token_fails_the_binary_with_the_fix() {
    let rig = Rig::start().await;
    rig.slack.revoke_bot_token(true);
    let (code, output, _) = rig.run_binary(|text| text).await;
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("✗  Slack bot token")
            && output.contains("Slack refused the bot token: token_revoked"),
        "{output}"
    );
    assert!(
        output.contains("fix: the bot token was revoked"),
        "{output}"
    );
    assert!(output.contains("reinstall the app"), "{output}");
    assert!(output.contains("–  Slack scopes"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_bot_token_and_a_wrong_app_token_name_their_keys() {
    let rig = Rig::start().await;
    let (rows, _) = rig
        .check_with(
            |text| {
                text.replace(BOT_TOKEN, "xoxb-mistyped")
                    .replace(APP_TOKEN, "xapp-1-mistyped")
            },
            Options::default(),
        )
        .await;
    failed(&rows, "Slack bot token", "invalid_auth", "slack.bot_token");
    failed(
        &rows,
        "Slack Socket Mode",
        "invalid_auth",
        "slack.app_token",
    );
    all_ok_but(
        &rows,
        &["Slack bot token", "Slack scopes", "Slack Socket Mode"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_scopes_fail_with_reinstall_after_adding_them() {
    let rig = Rig::start().await;
    let fewer: Vec<&str> = DEFAULT_BOT_SCOPES
        .iter()
        .copied()
        .filter(|scope| !matches!(*scope, "users:read" | "usergroups:read"))
        .collect();
    rig.slack.set_bot_scopes(&fewer);
    let rows = rig.check().await;
    let scopes = failed(
        &rows,
        "Slack scopes",
        "missing users:read (for users.info); usergroups:read (for usergroups.users.list)",
        "reinstall the app after adding users:read, usergroups:read",
    );
    assert!(scopes.detail.starts_with("missing"));
    all_ok_but(&rows, &["Slack scopes"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_turned_off_fails_with_where_to_turn_it_on() {
    let rig = Rig::start().await;
    rig.slack.set_socket_mode(false);
    let rows = rig.check().await;
    failed(
        &rows,
        "Slack Socket Mode",
        "link_disabled (Socket Mode is off for this app)",
        "turn Socket Mode on",
    );
    all_ok_but(&rows, &["Slack Socket Mode"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_and_a_refused_queue_fail_with_what_to_check() {
    let rig = Rig::start().await;
    let missing = rig.queue.replace("chatops-alarms", "no-such-queue");
    let (rows, _) = rig
        .check_with(
            |text| text.replace(&rig.queue, &missing),
            Options::default(),
        )
        .await;
    failed(
        &rows,
        "SQS alarm queue",
        "does not exist",
        "check alarms.queue_url and aws.region (eu-west-1)",
    );
    assert!(
        rows.iter().all(|row| row.what != "SQS dead-letter queue"),
        "{rows:#?}"
    );

    rig.sqs
        .fail_next("GetQueueAttributes", SqsFault::AccessDenied, 1);
    let rows = rig.check().await;
    failed(
        &rows,
        "SQS alarm queue",
        "access denied",
        "allow sqs:GetQueueAttributes on the queue",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dead_letter_queue_warns_without_failing_and_a_full_one_warns_with_its_count() {
    let rig = Rig::start().await;
    let bare = rig
        .sqs
        .create_queue("bare-alarms", 30 * SECOND, None)
        .unwrap();
    let (code, output, _) = rig.run_binary(|text| text.replace(&rig.queue, &bare)).await;
    assert_eq!(code, 0, "a warning does not fail the check:\n{output}");
    assert!(
        output.contains(
            "⚠  SQS dead-letter queue  no dead-letter queue: bare-alarms has no redrive policy"
        ),
        "{output}"
    );
    assert!(output.contains("1 warning"), "{output}");

    rig.sqs
        .send("chatops-alarms-dlq", "a failed alarm", Default::default())
        .unwrap();
    let rows = rig.check().await;
    let dlq = row(&rows, "SQS dead-letter queue");
    assert_eq!(dlq.status, Status::Warn, "{dlq:#?}");
    assert!(
        dlq.detail
            .contains("chatops-alarms-dlq holds 1 message(s) that failed after 5 receives"),
        "{dlq:#?}"
    );
    assert!(!preflight::failed(&rows));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_agent_alias_fails_and_invoke_asks_one_word() {
    let rig = Rig::start().await;
    let (rows, _) = rig
        .check_with(
            |text| text.replace(FAKE_AGENT_ALIAS_ID, "NOSUCHALIA"),
            Options::default(),
        )
        .await;
    failed(
        &rows,
        "Bedrock agent alias",
        "agent alias NOSUCHALIA of agent AGENT12345 not found in eu-west-1",
        "check bedrock.agent_id, bedrock.agent_alias_id",
    );
    all_ok_but(&rows, &["Bedrock agent alias"]);

    let invoke = Options {
        invoke: true,
        ..Options::default()
    };
    let (rows, _) = rig.check_with(|text| text, invoke).await;
    let asked = row(&rows, "Bedrock invocation");
    assert_eq!(asked.status, Status::Ok, "{asked:#?}");
    assert!(
        asked.detail.starts_with("asked \"ping\", answered in"),
        "{asked:#?}"
    );
    let invocations = rig.bedrock.invocations();
    assert_eq!(invocations.len(), 1);
    assert_eq!(invocations[0].input_text, "ping");
    assert_eq!(invocations[0].agent_id, FAKE_AGENT_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_backend_says_what_it_cannot_probe_and_invoke_maps_model_access() {
    let rig = Rig::start().await;
    let model = |text: String| {
        text.replace(
            &format!(
                "agent_id = \"{FAKE_AGENT_ID}\"\nagent_alias_id = \"{FAKE_AGENT_ALIAS_ID}\"\n"
            ),
            "backend = \"model\"\nmodel_id = \"anthropic.claude-3-5-haiku-20241022-v1:0\"\n",
        )
    };
    let (rows, _) = rig.check_with(model, Options::default()).await;
    let probe = row(&rows, "Bedrock model");
    assert_eq!(probe.status, Status::Skipped, "{probe:#?}");
    assert!(probe.detail.contains("not probed"), "{probe:#?}");
    assert!(
        rig.bedrock.alias_lookups().is_empty(),
        "no GetAgentAlias for a model"
    );
    rig.bedrock
        .push_script(chatops_sandbox::bedrock::AgentScript::http_error(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ));
    let invoke = Options {
        invoke: true,
        ..Options::default()
    };
    let (rows, _) = rig.check_with(model, invoke).await;
    failed(
        &rows,
        "Bedrock invocation",
        "model anthropic.claude-3-5-haiku-20241022-v1:0 is not enabled in eu-west-1",
        "request access to the model in the Bedrock console",
    );
    let asked = rig.bedrock.invocations();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].input_text, "ping");
    assert_eq!(asked[0].messages.len(), 1, "no history for the check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_space_or_token_names_the_key_to_fix_in_both_flavours() {
    let rig = Rig::start().await;
    let (rows, _) = rig
        .check_with(
            |text| text.replace("space_key = \"OPS\"", "space_key = \"NOPE\""),
            Options::default(),
        )
        .await;
    failed(
        &rows,
        "Confluence space",
        "space NOPE not found",
        "check confluence.space_key (NOPE)",
    );
    all_ok_but(&rows, &["Confluence space"]);

    let (rows, _) = rig
        .check_with(
            |text| text.replace(&rig.wiki.api_token(), "wrong-token"),
            Options::default(),
        )
        .await;
    failed(
        &rows,
        "Confluence space",
        "(401)",
        "check confluence.user (the Atlassian account's email) and confluence.api_token",
    );

    // Data Center: GET /rest/api/space/KEY with the personal access token.
    let datacenter = |text: String, key: &str| {
        text.replace(&format!("user = \"{}\"\n", rig.wiki.user()), "")
            .replace(&rig.wiki.api_token(), &rig.wiki.personal_access_token())
            .replace(
                "space_key = \"OPS\"",
                &format!("space_key = \"{key}\"\nflavor = \"datacenter\""),
            )
    };
    let (rows, _) = rig
        .check_with(|text| datacenter(text, "OPS"), Options::default())
        .await;
    all_ok_but(&rows, &[]);
    let (rows, _) = rig
        .check_with(|text| datacenter(text, "NOPE"), Options::default())
        .await;
    failed(
        &rows,
        "Confluence space",
        "space NOPE not found",
        "confluence.space_key",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_404_missing_write_and_an_expiring_token_are_reported() {
    let rig = Rig::start().await;
    let (rows, _) = rig
        .check_with(
            |text| text.replace("repo = \"app\"", "repo = \"gone\""),
            Options::default(),
        )
        .await;
    failed(
        &rows,
        "GitHub repository",
        "repository acme/gone not found",
        "check github.owner and github.repo (acme/gone)",
    );
    all_ok_but(&rows, &["GitHub repository"]);

    rig.github.set_token_push(false);
    rig.github
        .set_token_expires_in(Some(3 * 24 * 3600 * SECOND));
    let rows = rig.check().await;
    failed(
        &rows,
        "GitHub repository",
        "lacks write access, Contents: write (repository_dispatch)",
        "give the token write access",
    );
    let expiry = row(&rows, "GitHub token expiry");
    assert_eq!(expiry.status, Status::Warn, "{expiry:#?}");
    assert!(expiry.detail.contains("in 2 day(s)") || expiry.detail.contains("in 3 day(s)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_probe_is_cut_by_its_timeout_and_the_rest_still_report() {
    let rig = Rig::start().await;
    let repo_path = format!("/repos/{}/{}", rig.github.owner(), rig.github.repo());
    rig.github
        .push_fault(GitHubFault::new("GET", &repo_path, 1, FaultKind::Hang));
    let options = Options {
        timeout: SECOND,
        ..Options::default()
    };
    let (rows, elapsed) = rig.check_with(|text| text, options).await;
    failed(
        &rows,
        "GitHub repository",
        "no answer within 1 s",
        "`--timeout` waits longer",
    );
    all_ok_but(&rows, &["GitHub repository"]);
    assert!(elapsed < 3 * SECOND, "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_shows_its_installation_permissions_and_lacking_actions_write_fails() {
    let rig = Rig::start().await;
    let (app_id, installation) = rig.github.app();
    let as_app = |text: String| {
        text.replace(
            &format!("token = \"{}\"", rig.github.token()),
            &format!(
                "app_id = \"{app_id}\"\ninstallation_id = {installation}\n\
                 private_key = \"\"\"\n{TEST_APP_PRIVATE_KEY}\"\"\""
            ),
        )
    };
    let rows = rig.check_with(as_app, Options::default()).await.0;
    let repo = row(&rows, "GitHub repository");
    assert_eq!(repo.status, Status::Ok, "{repo:#?}");
    assert!(
        repo.detail.contains(
            "permissions: actions: write, contents: write, deployments: read, metadata: read"
        ),
        "{repo:#?}"
    );

    // workflow_dispatch needs Actions: write; this installation may only read.
    rig.github
        .set_installation_permissions(&[("actions", "read"), ("contents", "write")]);
    let workflow =
        |text: String| as_app(text).replace("[deploy]\n", "[deploy]\nworkflow = \"deploy.yml\"\n");
    let rows = rig.check_with(workflow, Options::default()).await.0;
    failed(
        &rows,
        "GitHub repository",
        "lacks Actions: write (workflow_dispatch)",
        "give the App Actions: write (workflow_dispatch) in its settings",
    );
    assert!(
        rows.iter().all(|row| row.what != "GitHub token expiry"),
        "an installation token's expiry is the bot's business: {rows:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphs_the_role_may_not_draw_fail_with_the_action_and_graphs_off_are_skipped() {
    let rig = Rig::start().await;
    let rows = rig.check_with(|text| text, Options::default()).await.0;
    assert!(row(&rows, "CloudWatch graphs")
        .detail
        .contains("drew a test graph"));
    let request = &rig.cloudwatch.requests()[0];
    let widget: serde_json::Value =
        serde_json::from_str(request.metric_widget.as_deref().unwrap()).unwrap();
    assert_eq!(widget["metrics"][0][3], "chatops-alarms");

    rig.cloudwatch
        .set_fault(Some(chatops_sandbox::cloudwatch::GraphFault::AccessDenied));
    let rows = rig.check_with(|text| text, Options::default()).await.0;
    failed(
        &rows,
        "CloudWatch graphs",
        "cloudwatch:GetMetricWidgetImage",
        "allow cloudwatch:GetMetricWidgetImage in the bot's IAM policy",
    );
    all_ok_but(&rows, &["CloudWatch graphs"]);

    let off = |text: String| text.replace("[alarms]\n", "[alarms]\ngraphs = false\n");
    let rows = rig.check_with(off, Options::default()).await.0;
    let graphs = row(&rows, "CloudWatch graphs");
    assert_eq!(graphs.status, Status::Skipped, "{graphs:#?}");
    assert_eq!(
        rig.cloudwatch.requests().len(),
        2,
        "no call with graphs off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_commands_show_the_cli_version_and_whether_the_role_is_assumed() {
    let rig = Rig::start().await;
    let sts = chatops_sandbox::sts::FakeSts::start().await.unwrap();
    let bin = tempfile::tempdir().unwrap();
    let write_cli = |name: &str, version: &str| {
        let path = bin.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    let v2 = write_cli("aws2", "aws-cli/2.17.0 Python/3.11.9 Linux/6.8 exe/x86_64");
    let v1 = write_cli(
        "aws1",
        "aws-cli/1.29.0 Python/3.8.10 Linux/5.4 botocore/1.31.0",
    );
    let role = "arn:aws:iam::123456789012:role/chatops-readonly";
    let section = |cli: &str| {
        let endpoint = sts.endpoint_url();
        let cli = cli.to_owned();
        move |text: String| {
            // The rig's config already has [aws.endpoints] (the fake CloudWatch).
            let text = text.replace(
                "[aws.endpoints]\n",
                &format!("[aws.endpoints]\nsts = \"{endpoint}\"\n"),
            );
            format!("{text}\n[aws_commands]\nrole_arn = \"{role}\"\ncli = \"{cli}\"\n")
        }
    };
    let (rows, _) = rig.check_with(section(&v2), Options::default()).await;
    assert!(!preflight::failed(&rows), "{rows:#?}");
    assert!(row(&rows, "AWS CLI")
        .detail
        .ends_with(": aws-cli/2.17.0 Python/3.11.9 Linux/6.8 exe/x86_64"));
    assert_eq!(row(&rows, "AWS commands role").status, Status::Ok);
    assert!(row(&rows, "AWS commands role").detail.contains(role));
    assert_eq!(
        sts.calls()[0].session_name.as_deref(),
        Some("chatops-bot-check")
    );

    let (rows, _) = rig.check_with(section(&v1), Options::default()).await;
    assert_eq!(row(&rows, "AWS CLI").status, Status::Warn, "{rows:#?}");

    sts.set_access_denied(true);
    let (rows, _) = rig
        .check_with(section("/nonexistent/aws"), Options::default())
        .await;
    let cli = row(&rows, "AWS CLI");
    assert_eq!(cli.status, Status::Fail);
    assert!(
        cli.fix
            .as_deref()
            .unwrap_or_default()
            .contains("install AWS CLI v2"),
        "{cli:?}"
    );
    let role_row = row(&rows, "AWS commands role");
    assert_eq!(role_row.status, Status::Fail);
    assert!(
        role_row
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("sts:AssumeRole"),
        "{role_row:?}"
    );
    let issued = sts.issued();
    let shown = format!("{rows:?}");
    for credentials in issued {
        assert!(!shown.contains(&credentials.secret_access_key));
        assert!(!shown.contains(&credentials.session_token));
    }
}

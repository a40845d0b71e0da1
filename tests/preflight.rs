//! `check --live` against the sandbox over loopback: with every fake up, every row is ✓ within
//! 5 s (in-process and through the real binary); each broken integration gives its ✗ row with
//! the fix and a failing status (a missing dead-letter queue only warns); a hanging probe is cut
//! by its timeout while the others report; the report never shows a token.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatops_bot::config::{Config, Purpose};
use chatops_bot::preflight::{self, Options, ProbeResult, Status};
use chatops_sandbox::aws::{FakeSqs, SqsFault};
use chatops_sandbox::bedrock::{FakeBedrock, FAKE_AGENT_ALIAS_ID, FAKE_AGENT_ID};
use chatops_sandbox::confluence::FakeConfluence;
use chatops_sandbox::github::{FakeGitHub, FaultKind, GitHubFault};
use chatops_sandbox::slack::{ConnectionEnd, FakeSlack, DEFAULT_BOT_SCOPES};
use support::{aws_test_env, bot_binary, eventually, fake_slack, APP_TOKEN, BOT_TOKEN};

const SECOND: Duration = Duration::from_secs(1);

/// Every fake the live check talks to, and a config pointed at them all.
struct Rig {
    slack: FakeSlack,
    sqs: FakeSqs,
    bedrock: FakeBedrock,
    wiki: FakeConfluence,
    github: FakeGitHub,
    queue: String,
    dir: tempfile::TempDir,
}

impl Rig {
    /// The fakes, with an alarm queue whose redrive policy names an empty dead-letter queue.
    async fn start() -> Rig {
        aws_test_env();
        let sqs = FakeSqs::start().await.unwrap();
        sqs.create_queue("chatops-alarms-dlq", 30 * SECOND, None)
            .unwrap();
        let queue = sqs
            .create_queue(
                "chatops-alarms",
                30 * SECOND,
                Some(("chatops-alarms-dlq", 5)),
            )
            .unwrap();
        let wiki = FakeConfluence::start().await.unwrap();
        wiki.add_space("OPS");
        Rig {
            slack: fake_slack().await,
            sqs,
            bedrock: FakeBedrock::start().await.unwrap(),
            wiki,
            github: FakeGitHub::start().await.unwrap(),
            queue,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn toml(&self) -> String {
        format!(
            r#"
[slack]
app_token = "{APP_TOKEN}"
bot_token = "{BOT_TOKEN}"
api_url = "{slack}"

[store]
path = "{store}"

[aws]
region = "eu-west-1"
endpoint_url = "{sqs}"

[alarms]
queue_url = "{queue}"
default_channel = "C0ALERTS01"

[bedrock]
agent_id = "{FAKE_AGENT_ID}"
agent_alias_id = "{FAKE_AGENT_ALIAS_ID}"
endpoint_url = "{bedrock}"

[confluence]
base_url = "{wiki}/"
user = "{wiki_user}"
api_token = "{wiki_token}"
space_key = "OPS"

[github]
api_url = "{github}"
owner = "{owner}"
repo = "{repo}"
token = "{github_token}"

[deploy]

[deploy.environments.staging]
"#,
            slack = self.slack.api_url(),
            store = self.dir.path().join("bot.db").display(),
            sqs = self.sqs.endpoint_url(),
            queue = self.queue,
            bedrock = self.bedrock.endpoint_url(),
            wiki = self.wiki.base_url(),
            wiki_user = self.wiki.user(),
            wiki_token = self.wiki.api_token(),
            github = self.github.api_url(),
            owner = self.github.owner(),
            repo = self.github.repo(),
            github_token = self.github.token(),
        )
    }

    /// The tokens and keys the config holds: none may be printed.
    fn secrets(&self) -> Vec<String> {
        vec![
            APP_TOKEN.to_owned(),
            BOT_TOKEN.to_owned(),
            self.wiki.api_token(),
            self.github.token(),
        ]
    }

    fn config(&self, edit: impl FnOnce(String) -> String) -> Config {
        let text = edit(self.toml());
        Config::load_from_str(
            "test.toml",
            &text,
            Vec::<(String, String)>::new(),
            Purpose::Run,
        )
        .unwrap_or_else(|e| panic!("test config is invalid: {e}"))
    }

    /// The rows of a live check of the config as `edit` changes it, and how long it took.
    async fn check_with(
        &self,
        edit: impl FnOnce(String) -> String,
        options: Options,
    ) -> (Vec<ProbeResult>, Duration) {
        let config = self.config(edit);
        let started = Instant::now();
        let rows = preflight::run(&config, &options).await;
        (rows, started.elapsed())
    }

    async fn check(&self) -> Vec<ProbeResult> {
        self.check_with(|text| text, Options::default()).await.0
    }

    /// Runs the real binary's `check --live` on the config as `edit` changes it.
    async fn run_binary(&self, edit: impl FnOnce(String) -> String) -> (i32, String, Duration) {
        let path = self.dir.path().join("bot.toml");
        std::fs::write(&path, edit(self.toml())).unwrap();
        let started = Instant::now();
        let mut child = Command::new(bot_binary())
            .args(["check", "--live", "--config"])
            .arg(&path)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + 30 * SECOND;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("check --live did not exit within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let elapsed = started.elapsed();
        let mut stdout = String::new();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        for secret in self.secrets() {
            assert!(!stdout.contains(&secret), "a token was printed:\n{stdout}");
            assert!(!stderr.contains(&secret), "a token was logged:\n{stderr}");
        }
        let code = status.code().expect("exited by a signal");
        (code, format!("{stdout}{stderr}"), elapsed)
    }
}

/// The row named `what`.
fn row<'a>(rows: &'a [ProbeResult], what: &str) -> &'a ProbeResult {
    rows.iter()
        .find(|row| row.what == what)
        .unwrap_or_else(|| panic!("no {what:?} row in {rows:#?}"))
}

/// The row named `what`, which must be a ✗ whose detail and fix say what is expected.
fn failed<'a>(rows: &'a [ProbeResult], what: &str, detail: &str, fix: &str) -> &'a ProbeResult {
    let found = row(rows, what);
    assert_eq!(found.status, Status::Fail, "{found:#?}");
    assert!(found.detail.contains(detail), "{found:#?}");
    let shown = found.fix.as_deref().unwrap_or_default();
    assert!(shown.contains(fix), "fix {shown:?} lacks {fix:?}");
    assert!(preflight::failed(rows));
    found
}

/// Every row but `except` is ✓ (or the invocation, which needs `--invoke`, is skipped).
fn all_ok_but(rows: &[ProbeResult], except: &[&str]) {
    for row in rows {
        if except.contains(&row.what.as_str()) {
            continue;
        }
        let expected = if row.what == "Bedrock invocation" {
            Status::Skipped
        } else {
            Status::Ok
        };
        assert_eq!(row.status, expected, "{row:#?}");
    }
}

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
        "–  Bedrock invocation",
        "✓  GitHub repository",
    ] {
        assert!(output.contains(line), "{line:?} missing from:\n{output}");
    }
    assert!(!output.contains('✗'), "{output}");
    assert!(output.contains("8 ok · 1 not checked"), "{output}");
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

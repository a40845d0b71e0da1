//! No secret reaches any output: the real binary, with trace-level logs, through `check` with secrets from every source, a config error, start-up, an app-level token rotated (its credential file read again), a bot token revoked and fetched again from the fake Secrets Manager, and a second revocation that stops it with 77. Everything it printed goes through `.ci/scan-secrets`, the scan CI runs over the whole test suite's output.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use chatops_sandbox::github::{FakeGitHub, TEST_APP_PRIVATE_KEY};
use chatops_sandbox::secretsmanager::FakeSecretsManager;
use chatops_sandbox::slack::{envelopes, FakeSlack, Target};
use serde_json::json;
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const SECRET: &str = "wn/chatops/secret";
/// The fake Confluence's token is not token-shaped; this one is, and is written as is.
const LITERAL_TOKEN: &str = "ghp_literalWikiToken0123456789";

/// Runs `.ci/scan-secrets` over `text`: `Err` with its report when it found something.
fn scan(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("output.log");
    std::fs::write(&path, text).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join(".ci/scan-secrets"))
        .arg(&path)
        .output()
        .expect("bash runs .ci/scan-secrets");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(report),
        other => panic!("scan-secrets failed ({other:?}): {report}"),
    }
}

#[test]
fn the_scan_catches_every_token_the_sandbox_uses_and_passes_what_messages_say() {
    for token in [
        BOT_TOKEN,
        APP_TOKEN,
        "xoxb-sandbox-rotated-2",
        "github_pat_fake_0123456789",
        "ghs_fake0001x1",
        LITERAL_TOKEN,
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----",
    ] {
        let report = scan(&format!("a log line with {token} in it\n")).expect_err(token);
        assert!(report.contains("output.log:1:"), "{report}");
        assert!(
            !report.contains(token),
            "the report must not repeat it: {report}"
        );
    }
    let benign =
        "slack.app_token: must start with \"xapp-\" (an app-level token), got \"xoxb-…\"\n\
                  github.private_key: … which starts with a BEGIN RSA PRIVATE KEY line\n\
                  slack.bot_token: aws-secretsmanager:wn/chatops/secret#slack_token\n";
    scan(benign).unwrap_or_else(|report| panic!("{report}"));
}

/// The fakes and the files a configuration refers to.
struct Setup {
    slack: FakeSlack,
    manager: FakeSecretsManager,
    _github: FakeGitHub,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn start() -> Self {
        let slack = fake_slack().await;
        let manager = FakeSecretsManager::start().await.unwrap();
        manager.set_json(
            SECRET,
            &json!({"slack_token": BOT_TOKEN, "wiki_url": "unused"}),
        );
        let github = FakeGitHub::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("credentials")).unwrap();
        std::fs::write(dir.path().join("credentials/slack_app_token"), APP_TOKEN).unwrap();
        std::fs::write(dir.path().join("github.pem"), TEST_APP_PRIVATE_KEY).unwrap();
        Self {
            slack,
            manager,
            _github: github,
            dir,
        }
    }

    /// The bot token from Secrets Manager, the app token a credential, GitHub's token from the
    /// environment (or, with `app`, its App key from a file), Confluence's token written as is
    /// in a file others can read.
    fn config(&self, name: &str, github_app: bool) -> PathBuf {
        let base = config_toml(&self.slack, &self.dir.path().join("bot.db"), 1)
            .replace(
                &format!("bot_token = \"{BOT_TOKEN}\""),
                &format!("bot_token = \"aws-secretsmanager:{SECRET}#slack_token\""),
            )
            .replace(
                &format!("app_token = \"{APP_TOKEN}\""),
                "app_token = \"credential:slack_app_token\"",
            );
        let github = if github_app {
            format!(
                "app_id = \"Iv23liFakeApp\"\ninstallation_id = 4242\nprivate_key = \"file:{}\"",
                self.dir.path().join("github.pem").display()
            )
        } else {
            "token = \"env:GITHUB_TOKEN\"".to_owned()
        };
        let text = format!(
            "{base}\n[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{manager}\"\n\n\
             [github]\nowner = \"acme\"\nrepo = \"app\"\n{github}\n\n\
             [confluence]\nbase_url = \"http://127.0.0.1:9/wiki\"\nuser = \"ops@acme.test\"\n\
             api_token = \"{LITERAL_TOKEN}\"\nspace_key = \"OPS\"\n",
            manager = self.manager.endpoint_url(),
        );
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    fn command(&self, args: &[&str], config: &Path) -> Command {
        let mut command = Command::new(bot_binary());
        command
            .args(args)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "trace")
            .env("CREDENTIALS_DIRECTORY", self.dir.path().join("credentials"))
            .env("GITHUB_TOKEN", "github_pat_fake_0123456789")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("SLACK_APP_TOKEN")
            .env_remove("SLACK_BOT_TOKEN");
        command
    }

    fn check(&self, config: &Path) -> Output {
        self.command(&["check"], config).output().unwrap()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_shows_where_secrets_come_from_and_errors_name_keys_never_values() {
    let setup = Setup::start().await;
    let mut shown = String::new();
    for (name, app) in [("token.toml", false), ("app.toml", true)] {
        let config = setup.config(name, app);
        let out = setup.check(&config);
        let printed = text(&out);
        assert_eq!(out.status.code(), Some(0), "{printed}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        for line in [
            format!("slack.bot_token       aws-secretsmanager:{SECRET}#slack_token"),
            "slack.app_token       credential:slack_app_token".to_owned(),
            format!("confluence.api_token  literal in {}", config.display()),
        ] {
            assert!(stdout.contains(&line), "{line:?} in:\n{stdout}");
        }
        let github = if app {
            "github.private_key    file:"
        } else {
            "github.token          env:GITHUB_TOKEN"
        };
        assert!(stdout.contains(github), "{stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("warning: confluence.api_token is written as is in"),
            "{stderr}"
        );
        shown.push_str(&printed);
    }

    let broken = setup.config("broken.toml", false);
    let text_of = std::fs::read_to_string(&broken).unwrap();
    let text_of = text_of
        .replace("#slack_token", "#slack_tokn")
        .replace("credential:slack_app_token", "xoxb-sandbox-in-the-app-slot")
        .replace("env:GITHUB_TOKEN", "env:NOT_SET");
    std::fs::write(&broken, text_of).unwrap();
    let out = setup.check(&broken);
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(78), "{printed}");
    for part in [
        "slack.bot_token: aws-secretsmanager:wn/chatops/secret has no key \"slack_tokn\" (keys: slack_token, wiki_url)",
        "slack.app_token: must start with \"xapp-\"",
        "github.token: env:NOT_SET: the variable is not set",
    ] {
        assert!(printed.contains(part), "{part:?} in:\n{printed}");
    }
    shown.push_str(&printed);
    scan(&shown).unwrap_or_else(|report| panic!("check printed a secret:\n{report}"));
}

/// Mentions the bot and waits for its `n`-th successful `chat.postMessage`.
async fn mention_answered(slack: &FakeSlack, n: usize) {
    slack
        .send(
            Target::Any,
            envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help"),
        )
        .await
        .unwrap();
    eventually(10 * SECOND, "the bot's answer", || {
        slack
            .calls_to("chat.postMessage")
            .iter()
            .filter(|c| c.ok())
            .count()
            >= n
    })
    .await;
}

/// Waits (bounded) for the child to exit; its status code.
async fn exit_code(child: &mut Child, limit: Duration) -> i32 {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("exited by signal");
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the bot did not exit within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_bot_token_is_fetched_again_once_and_nothing_leaks() {
    let setup = Setup::start().await;
    let (slack, manager) = (&setup.slack, &setup.manager);
    let config = setup.config("bot.toml", true);
    let log = |name: &str| std::fs::File::create(setup.dir.path().join(name)).unwrap();
    let mut child = setup
        .command(&["run"], &config)
        .stdout(Stdio::from(log("stdout.log")))
        .stderr(Stdio::from(log("stderr.log")))
        .spawn()
        .unwrap();
    let first = slack.wait_for_connections(1, 10 * SECOND).await.unwrap();
    assert_eq!(manager.get_calls(SECRET), 1, "one fetch at start-up");
    mention_answered(slack, 1).await;

    // The app-level token is rotated and its credential file rewritten: the next
    // apps.connections.open is refused once, the file read again, and the socket reopened.
    let credential = setup.dir.path().join("credentials/slack_app_token");
    std::fs::write(&credential, "xapp-1-sandbox-rotated-2\n").unwrap();
    slack.rotate_app_token("xapp-1-sandbox-rotated-2");
    slack
        .disconnect(first[0], "refresh_requested")
        .await
        .unwrap();
    eventually(
        10 * SECOND,
        "a connection opened with the new app token",
        || {
            let replaced = slack
                .connection_log()
                .iter()
                .any(|c| c.id == first[0] && c.closed_at.is_some());
            replaced && slack.open_connections().len() == 1
        },
    )
    .await;
    let opens: Vec<bool> = slack
        .calls_to("apps.connections.open")
        .iter()
        .map(|c| c.ok())
        .collect();
    assert_eq!(opens, [true, false, true], "refused once, then opened");

    // The workspace rotates the bot token, and the secret is updated.
    slack.rotate_bot_token("xoxb-sandbox-rotated-2");
    manager.set_json(SECRET, &json!({"slack_token": "xoxb-sandbox-rotated-2"}));
    mention_answered(slack, 2).await;
    assert_eq!(manager.get_calls(SECRET), 2, "one fetch after the refusal");
    let refused = slack.calls_to("chat.postMessage");
    let last_two: Vec<bool> = refused.iter().rev().take(2).map(|c| c.ok()).collect();
    assert_eq!(
        last_two,
        [true, false],
        "refused once, then posted with the new token"
    );

    // Rotated again within the minute: no fetch; the refusal stops the bot as before.
    slack.rotate_bot_token("xoxb-sandbox-rotated-3");
    manager.set_json(SECRET, &json!({"slack_token": "xoxb-sandbox-rotated-3"}));
    slack
        .send(
            Target::Any,
            envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help"),
        )
        .await
        .unwrap();
    assert_eq!(exit_code(&mut child, 30 * SECOND).await, 77);
    assert_eq!(
        manager.get_calls(SECRET),
        2,
        "at most once a minute per secret id"
    );

    let read = |name: &str| std::fs::read_to_string(setup.dir.path().join(name)).unwrap();
    let (stdout, stderr) = (read("stdout.log"), read("stderr.log"));
    assert!(stderr.contains("token_revoked"), "the reason is logged");
    for logged in [
        "Slack refused the app-level token; trying the value fetched again.",
        "Slack refused the bot token; trying the value fetched again.",
        "A refused secret was fetched again less than a minute ago",
    ] {
        assert!(stderr.contains(logged), "{logged:?} is logged");
    }
    assert!(
        stderr.contains("confluence.api_token is written as is in"),
        "the warning is logged"
    );
    assert!(stderr.lines().count() > 100, "trace logs were on");
    scan(&format!("{stdout}{stderr}"))
        .unwrap_or_else(|report| panic!("the bot logged a secret:\n{report}"));
}

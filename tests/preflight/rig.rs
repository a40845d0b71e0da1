//! The live check's test rig: every fake it talks to, a config pointed at them all, the check
//! run in-process or as the real binary, and helpers that read its rows.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatops_bot::config::{Config, Purpose};
use chatops_bot::preflight::{self, Options, ProbeResult, Status};
use chatops_sandbox::aws::FakeSqs;
use chatops_sandbox::bedrock::{FakeBedrock, FAKE_AGENT_ALIAS_ID, FAKE_AGENT_ID};
use chatops_sandbox::cloudwatch::FakeCloudWatch;
use chatops_sandbox::confluence::FakeConfluence;
use chatops_sandbox::github::FakeGitHub;
use chatops_sandbox::slack::FakeSlack;

use crate::support::{aws_test_env, bot_binary, fake_slack, APP_TOKEN, BOT_TOKEN};

pub const SECOND: Duration = Duration::from_secs(1);

/// Every fake the live check talks to, and a config pointed at them all.
pub struct Rig {
    pub slack: FakeSlack,
    pub sqs: FakeSqs,
    pub cloudwatch: FakeCloudWatch,
    pub bedrock: FakeBedrock,
    pub wiki: FakeConfluence,
    pub github: FakeGitHub,
    pub queue: String,
    pub dir: tempfile::TempDir,
}

impl Rig {
    /// The fakes, with an alarm queue whose redrive policy names an empty dead-letter queue.
    pub async fn start() -> Rig {
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
            cloudwatch: FakeCloudWatch::start().await.unwrap(),
            bedrock: FakeBedrock::start().await.unwrap(),
            wiki,
            github: FakeGitHub::start().await.unwrap(),
            queue,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn toml(&self) -> String {
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

[aws.endpoints]
cloudwatch = "{cloudwatch}"

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
            cloudwatch = self.cloudwatch.endpoint_url(),
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
    pub fn secrets(&self) -> Vec<String> {
        vec![
            APP_TOKEN.to_owned(),
            BOT_TOKEN.to_owned(),
            self.wiki.api_token(),
            self.github.token(),
        ]
    }

    pub fn config(&self, edit: impl FnOnce(String) -> String) -> Config {
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
    pub async fn check_with(
        &self,
        edit: impl FnOnce(String) -> String,
        options: Options,
    ) -> (Vec<ProbeResult>, Duration) {
        let config = self.config(edit);
        let started = Instant::now();
        let rows = preflight::run(&config, &options).await;
        let elapsed = started.elapsed();
        for secret in self.secrets() {
            let shown = format!("{rows:?}");
            assert!(!shown.contains(&secret), "a token is in a row: {rows:#?}");
        }
        (rows, elapsed)
    }

    pub async fn check(&self) -> Vec<ProbeResult> {
        self.check_with(|text| text, Options::default()).await.0
    }

    /// Runs the real binary's `check --live` on the config as `edit` changes it.
    pub async fn run_binary(&self, edit: impl FnOnce(String) -> String) -> (i32, String, Duration) {
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
pub fn row<'a>(rows: &'a [ProbeResult], what: &str) -> &'a ProbeResult {
    rows.iter()
        .find(|row| row.what == what)
        .unwrap_or_else(|| panic!("no {what:?} row in {rows:#?}"))
}

/// The row named `what`, which must be a ✗ whose detail and fix say what is expected.
pub fn failed<'a>(rows: &'a [ProbeResult], what: &str, detail: &str, fix: &str) -> &'a ProbeResult {
    let found = row(rows, what);
    assert_eq!(found.status, Status::Fail, "{found:#?}");
    assert!(found.detail.contains(detail), "{found:#?}");
    let shown = found.fix.as_deref().unwrap_or_default();
    assert!(shown.contains(fix), "fix {shown:?} lacks {fix:?}");
    assert!(preflight::failed(rows));
    found
}

/// Every row but `except` is ✓ (or the invocation, which needs `--invoke`, is skipped).
pub fn all_ok_but(rows: &[ProbeResult], except: &[&str]) {
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

//! The harness of tests/aws_commands.rs: the fake Slack, the fake STS, a fake `aws` script that records each run, the bot in this process with `[aws_commands]`, and the bot's log lines captured.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatops_bot::store::aws_runs::{AwsRunLog, AwsRunRecord};
use chatops_bot::store::SqliteStore;
use chatops_sandbox::slack::{envelopes, FakeSlack, Target};
use chatops_sandbox::sts::FakeSts;

use crate::support::{fake_slack, RunningBot};

pub const SECOND: Duration = Duration::from_secs(1);
pub const OPS: &str = "C0OPS00001";
pub const EC2_ONLY: &str = "C0EC2ONLY1";
pub const ELSEWHERE: &str = "C0RANDOM01";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/chatops-readonly";

/// The fake `aws`: records `argv`, `env` and `pid` in `<records>/run-<pid>/`, then answers by
/// service and operation.
pub const FAKE_AWS: &str = r#"#!/bin/sh
rec="RECORDS/run-$$"
mkdir -p "$rec"
printf '%s\n' "$@" > "$rec/argv"
env > "$rec/env"
echo $$ > "$rec/pid"
case "$1 $2" in
  "ec2 describe-instances")
    printf '{"Reservations": [{"Instances": [{"InstanceId": "i-0abc123", "Tags": [{"Key": "Name", "Value": "<!channel> web"}]}]}]}\n' ;;
  "ec2 describe-images")
    head -c 2097152 /dev/zero | tr '\0' 'x' ;;
  "ec2 describe-regions")
    sleep 30 &
    echo $! > "$rec/grandchild"
    wait ;;
  "ec2 describe-volumes")
    echo "An error occurred (UnauthorizedOperation) when calling the DescribeVolumes operation: not authorized <!here>" >&2
    exit 254 ;;
  "ec2 describe-key-pairs")
    printf '{"Leak": "%s %s %s"}\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" ;;
  *)
    printf '{}\n' ;;
esac
"#;

/// One run of the fake `aws`: its argv, its environment, its pid.
#[derive(Debug)]
pub struct Run {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub pid: u32,
}

/// Everything a test needs: the fakes, the bot, where the fake `aws` records its runs, and
/// the log lines the bot wrote.
pub struct World {
    pub slack: FakeSlack,
    pub sts: FakeSts,
    pub bot: RunningBot,
    pub records: PathBuf,
    pub _scripts: tempfile::TempDir,
}

pub fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let writer = move || Writer(sink.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(writer)
            .try_init();
        logs
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub async fn world(cli: Option<&str>) -> World {
    world_with(cli, &[]).await
}

/// `world`, with environment overrides for the bot's configuration (the proxy variables).
pub async fn world_with(cli: Option<&str>, overrides: &[(&str, &str)]) -> World {
    logs();
    let slack = fake_slack().await;
    let sts = FakeSts::start().await.unwrap();
    let scripts = tempfile::tempdir().unwrap();
    let records = scripts.path().join("records");
    std::fs::create_dir(&records).unwrap();
    let script = scripts.path().join("aws");
    std::fs::write(
        &script,
        FAKE_AWS.replace("RECORDS", &records.display().to_string()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = cli.map_or_else(|| script.display().to_string(), str::to_owned);
    let extra = format!(
        r#"
[aws]
region = "eu-west-1"

[aws.endpoints]
sts = "{sts}"

[aws_commands]
role_arn = "{ROLE}"
cli = "{cli}"
timeout = "1s"

[[aws_commands.channels]]
channel = "{OPS}"

[[aws_commands.channels]]
channel = "{EC2_ONLY}"
allow = ["ec2 describe-*"]
"#,
        sts = sts.endpoint_url()
    );
    let bot = RunningBot::start_with_env(&slack, 1, &extra, overrides).await;
    slack.wait_for_connections(1, 10 * SECOND).await.unwrap();
    World {
        slack,
        sts,
        bot,
        records,
        _scripts: scripts,
    }
}

impl World {
    /// Mentions the bot with `aws <text>` and returns the first reply (in the thread, or
    /// ephemeral) posted after it.
    pub async fn ask(
        &self,
        channel: &str,
        text: &str,
    ) -> (String, chatops_sandbox::slack::ApiCall) {
        self.ask_within(channel, text, 10 * SECOND).await
    }

    /// `ask`, waiting up to `limit` for the reply.
    pub async fn ask_within(
        &self,
        channel: &str,
        text: &str,
        limit: Duration,
    ) -> (String, chatops_sandbox::slack::ApiCall) {
        let before = self.slack.calls().last().map_or(0, |c| c.seq);
        let mention = envelopes::app_mention(channel, "U0ALICE", &format!("<@U0BOT> aws {text}"));
        self.slack.send(Target::Any, mention).await.unwrap();
        let deadline = tokio::time::Instant::now() + limit;
        let reply = loop {
            let found = self.slack.calls().into_iter().find(|c| {
                c.seq > before
                    && matches!(c.method.as_str(), "chat.postMessage" | "chat.postEphemeral")
            });
            if let Some(call) = found {
                break call;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no reply to {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        (reply.params.to_string(), reply)
    }

    /// The runs the fake `aws` recorded, oldest first.
    pub fn runs(&self) -> Vec<Run> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&self.records)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort_by_key(|d| std::fs::metadata(d).unwrap().modified().unwrap());
        dirs.iter()
            .map(|dir| {
                let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
                let argv = read("argv").lines().map(str::to_owned).collect();
                let env = read("env")
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                Run {
                    argv,
                    env,
                    pid: read("pid").trim().parse().unwrap_or(0),
                }
            })
            .collect()
    }
}

/// The newest `limit` audit entries of the store in `dir`.
pub async fn audit_of(dir: &Path, limit: usize) -> Vec<AwsRunRecord> {
    let path = dir.join("bot.db");
    chatops_bot::store::unblock(move || SqliteStore::open(&path)?.recent_aws_runs(limit))
        .await
        .unwrap()
}

/// No process `pid`, or only its zombie.
pub fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Every file under `dir` (the database, its WAL), concatenated.
pub fn read_all(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(path).unwrap());
        }
    }
    bytes
}

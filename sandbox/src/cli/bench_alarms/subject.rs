//! The consumer under measurement: the real bot with its alarm pipeline on, or the floor
//! consumer, each a child process pointed at the fake SQS and the fake Slack.

use std::fmt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;

use super::workload::CHANNEL;
use crate::cli::bench::subject::wait_until_idle;
use crate::cli::bot_process::{sandbox_config, BotProcess, ChildProcess};
use crate::slack::FakeSlack;

/// How long a subject gets to exit after SIGTERM before it is killed: above the bot's shutdown
/// deadline (max(shutdown_grace, alarms.receive_wait) + 5 s = 25 s with the defaults).
const TERMINATE_LIMIT: Duration = Duration::from_secs(30);
/// Per-channel pacing off: the fake Slack does not rate-limit, and every card goes to one channel.
const PACING_OFF: &str = "channel_interval = \"0s\"";

/// Which consumer is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// The real `chatops-bot` binary.
    Bot,
    /// `chatops-sandbox alarm-floor`: receive, post plain text, delete.
    Floor,
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubjectKind::Bot => "chatops-bot",
            SubjectKind::Floor => "floor consumer",
        })
    }
}

/// Where a subject finds the fakes.
pub struct Endpoints<'a> {
    pub slack: &'a FakeSlack,
    pub sqs_endpoint: &'a str,
    pub queue_url: &'a str,
    /// The fake CloudWatch the bot draws its cards' metric graphs on (`aws.endpoints.cloudwatch`).
    pub cloudwatch_endpoint: &'a str,
    /// SQS receive loops: the bot's `alarms.pollers`, the floor's `--loops`.
    pub pollers: usize,
}

/// A running subject process. Dropping it kills the process if it still runs.
pub enum Subject {
    Bot(BotProcess),
    Floor(ChildProcess),
}

impl Subject {
    /// Starts `kind`; `bot_bin` is the chatops-bot binary.
    pub fn start(
        kind: SubjectKind,
        endpoints: &Endpoints<'_>,
        bot_bin: &Path,
        bot_logs: bool,
    ) -> anyhow::Result<Subject> {
        match kind {
            SubjectKind::Bot => Ok(Subject::Bot(BotProcess::spawn(
                bot_bin,
                &bot_config(endpoints),
                "warn",
                bot_logs,
            )?)),
            SubjectKind::Floor => Ok(Subject::Floor(spawn_floor(endpoints)?)),
        }
    }

    fn process(&self) -> &ChildProcess {
        match self {
            Subject::Bot(bot) => bot,
            Subject::Floor(floor) => floor,
        }
    }

    /// User + system CPU time used so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        self.process().cpu_time()
    }

    /// Peak resident set size (VmHWM) so far, in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.process().peak_rss_kib()
    }

    /// Waits (at most `limit`) until the process is idle; its CPU time then, and whether it was.
    pub async fn settle(&self, limit: Duration) -> anyhow::Result<(Duration, bool)> {
        wait_until_idle(self.process(), limit).await
    }

    /// SIGTERM, wait for the exit (SIGKILL after `TERMINATE_LIMIT`); the exit status.
    pub fn terminate(self) -> anyhow::Result<ExitStatus> {
        match self {
            Subject::Bot(bot) => bot.terminate(TERMINATE_LIMIT),
            Subject::Floor(floor) => floor.terminate(TERMINATE_LIMIT),
        }
    }
}

/// The sandbox config plus the alarm pipeline on the fake SQS: storm control off (one card per
/// alarm), per-channel pacing off, `pollers` receive loops.
pub fn bot_config(endpoints: &Endpoints<'_>) -> String {
    let opts = endpoints.slack.options();
    let slack = sandbox_config(
        &endpoints.slack.api_url(),
        &opts.app_token,
        &opts.bot_token,
        1,
    );
    let slack = if slack.contains("channel_interval") {
        slack
    } else {
        slack.replacen("[slack]\n", &format!("[slack]\n{PACING_OFF}\n"), 1)
    };
    format!(
        r#"{slack}
[aws]
region = "eu-west-1"
endpoint_url = "{endpoint}"

[aws.endpoints]
cloudwatch = "{cloudwatch}"

[alarms]
queue_url = "{queue}"
default_channel = "{CHANNEL}"
storm_threshold = 0
pollers = {pollers}
"#,
        endpoint = endpoints.sqs_endpoint,
        cloudwatch = endpoints.cloudwatch_endpoint,
        queue = endpoints.queue_url,
        pollers = endpoints.pollers,
    )
}

/// Starts `chatops-sandbox alarm-floor …` (re-executing this binary).
fn spawn_floor(endpoints: &Endpoints<'_>) -> anyhow::Result<ChildProcess> {
    let me = std::env::current_exe().context("Failed to locate the sandbox binary")?;
    let loops = endpoints.pollers.to_string();
    let api_url = endpoints.slack.api_url();
    let child = Command::new(&me)
        .args([
            "alarm-floor",
            "--sqs-endpoint",
            endpoints.sqs_endpoint,
            "--queue-url",
            endpoints.queue_url,
            "--api-url",
            &api_url,
            "--bot-token",
            &endpoints.slack.options().bot_token,
            "--channel",
            CHANNEL,
            "--loops",
            &loops,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("Failed to start {} alarm-floor", me.display()))?;
    Ok(ChildProcess::new(child, "the floor consumer"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::FakeSlackOptions;

    #[tokio::test]
    async fn the_bot_config_turns_storms_and_pacing_off_once() -> anyhow::Result<()> {
        let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
        let endpoints = Endpoints {
            slack: &slack,
            sqs_endpoint: "http://127.0.0.1:9",
            queue_url: "http://127.0.0.1:9/123456789012/alarms",
            cloudwatch_endpoint: "http://127.0.0.1:9",
            pollers: 4,
        };
        let config = bot_config(&endpoints);
        assert_eq!(config.matches("channel_interval").count(), 1);
        assert!(config.contains("storm_threshold = 0\npollers = 4\n"));
        let slack_table = config.split("\n[").next().unwrap_or_default();
        assert!(slack_table.contains(PACING_OFF), "{slack_table}");
        slack.shutdown().await;
        Ok(())
    }
}

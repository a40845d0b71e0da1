//! The process under measurement: the real bot or the floor client, started as a child of the bench.

use std::fmt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::bot_process::{sandbox_config, BotProcess, ChildProcess};
use crate::slack::FakeSlack;

/// How long a subject gets to exit after SIGTERM before it is killed (the bot's grace is 10 s).
const TERMINATE_LIMIT: Duration = Duration::from_secs(15);
/// How often the CPU time is sampled while waiting for a subject to go idle.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// Consecutive samples without a CPU tick that count as idle.
const IDLE_SAMPLES: u32 = 3;

/// Which client is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// The real `chatops-bot` binary, one Socket Mode connection.
    Bot,
    /// `chatops-sandbox floor-client`: connect and ack, nothing else.
    Floor,
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubjectKind::Bot => "chatops-bot",
            SubjectKind::Floor => "floor client",
        })
    }
}

/// A running subject process. Dropping it kills the process if it still runs.
pub enum Subject {
    /// The bot, with the lead's process wrapper.
    Bot(BotProcess),
    /// The floor client.
    Floor(ChildProcess),
}

impl Subject {
    /// Starts `kind` pointed at `fake` with one connection; `bot_bin` is the chatops-bot binary.
    pub fn start(
        kind: SubjectKind,
        fake: &FakeSlack,
        bot_bin: &Path,
        bot_logs: bool,
    ) -> anyhow::Result<Subject> {
        let opts = fake.options();
        match kind {
            SubjectKind::Bot => {
                let config = sandbox_config(&fake.api_url(), &opts.app_token, &opts.bot_token, 1);
                Ok(Subject::Bot(BotProcess::spawn(
                    bot_bin, &config, "warn", bot_logs,
                )?))
            }
            SubjectKind::Floor => Ok(Subject::Floor(spawn_floor(
                &fake.api_url(),
                &opts.app_token,
            )?)),
        }
    }

    fn process(&self) -> &ChildProcess {
        match self {
            Subject::Bot(bot) => bot,
            Subject::Floor(floor) => floor,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.process().pid()
    }

    /// User + system CPU time used so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        self.process().cpu_time()
    }

    /// Peak resident set size (VmHWM) over the process's life, in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.process().peak_rss_kib()
    }

    /// Waits (at most `limit`) until the process has used no CPU for a few samples in a row, so
    /// work triggered by a phase (handlers after the acks) is charged to that phase. Returns the
    /// CPU time at that point and whether it went idle within the limit.
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

/// Waits (at most `limit`) until `process` has used no CPU for a few samples in a row. Returns
/// the CPU time at that point and whether it went idle within the limit.
pub async fn wait_until_idle(
    process: &ChildProcess,
    limit: Duration,
) -> anyhow::Result<(Duration, bool)> {
    let deadline = Instant::now() + limit;
    let mut last = process.cpu_time()?;
    let mut quiet = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(IDLE_POLL).await;
        let now = process.cpu_time()?;
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
        if quiet >= IDLE_SAMPLES {
            return Ok((last, true));
        }
    }
    Ok((last, false))
}

/// Start the floor client (`chatops-sandbox floor-client …`, re-executing this binary).
fn spawn_floor(api_url: &str, app_token: &str) -> anyhow::Result<ChildProcess> {
    let me = std::env::current_exe().context("Failed to locate the sandbox binary")?;
    let child = Command::new(&me)
        .args([
            "floor-client",
            "--api-url",
            api_url,
            "--app-token",
            app_token,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("Failed to start {} floor-client", me.display()))?;
    Ok(ChildProcess::new(child, "the floor client"))
}

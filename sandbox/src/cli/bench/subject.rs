//! The process under measurement: the real bot or the floor client, started as a child of the bench.

use std::fmt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::cli::bot_process::{cpu_time_of, sandbox_config, BotProcess};
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
    Floor(FloorProcess),
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
            SubjectKind::Floor => Ok(Subject::Floor(FloorProcess::spawn(
                &fake.api_url(),
                &opts.app_token,
            )?)),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        match self {
            Subject::Bot(bot) => bot.pid(),
            Subject::Floor(floor) => floor.child.id(),
        }
    }

    /// User + system CPU time used so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_time_of(self.pid())
    }

    /// Peak resident set size (VmHWM) over the process's life, in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        match self {
            Subject::Bot(bot) => bot.peak_rss_kib(),
            Subject::Floor(floor) => vm_hwm_kib(floor.child.id()),
        }
    }

    /// Waits (at most `limit`) until the process has used no CPU for a few samples in a row, so
    /// work triggered by a phase (handlers after the acks) is charged to that phase. Returns the
    /// CPU time at that point and whether it went idle within the limit.
    pub async fn settle(&self, limit: Duration) -> anyhow::Result<(Duration, bool)> {
        let deadline = Instant::now() + limit;
        let mut last = self.cpu_time()?;
        let mut quiet = 0;
        while Instant::now() < deadline {
            tokio::time::sleep(IDLE_POLL).await;
            let now = self.cpu_time()?;
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
            if quiet >= IDLE_SAMPLES {
                return Ok((last, true));
            }
        }
        Ok((last, false))
    }

    /// SIGTERM, wait for the exit (SIGKILL after `TERMINATE_LIMIT`); the exit status.
    pub fn terminate(self) -> anyhow::Result<ExitStatus> {
        match self {
            Subject::Bot(bot) => bot.terminate(TERMINATE_LIMIT),
            Subject::Floor(floor) => floor.terminate(TERMINATE_LIMIT),
        }
    }
}

/// The floor client child process (`chatops-sandbox floor-client …`, re-executing this binary).
pub struct FloorProcess {
    child: Child,
}

impl FloorProcess {
    fn spawn(api_url: &str, app_token: &str) -> anyhow::Result<FloorProcess> {
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
        Ok(FloorProcess { child })
    }

    fn terminate(mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("Failed to run kill")?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the floor client did not exit within {limit:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FloorProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// VmHWM of any process we started, in KiB, from /proc.
fn vm_hwm_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc status")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("bad VmHWM line")?
        .parse()?)
}

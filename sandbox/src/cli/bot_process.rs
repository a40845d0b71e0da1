//! Start the real `chatops-bot` binary as a child process pointed at the sandbox, and measure it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Where the bot binary is: `CHATOPS_BOT_BIN`, else built with the same cargo and profile as this
/// sandbox (so `cargo run -p chatops-sandbox -- demo` works on a fresh clone), else next to us.
pub fn bot_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHATOPS_BOT_BIN") {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe().context("Failed to locate the sandbox binary")?;
    let dir = me.parent().context("the sandbox binary has no directory")?;
    let sibling = dir.join("chatops-bot");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = dir.file_name().is_some_and(|n| n == "release");
        eprintln!(
            "Building chatops-bot ({}); the first build takes a few minutes …",
            if release { "release" } else { "debug" }
        );
        let mut build = Command::new(cargo);
        // Not --quiet: cargo's own progress (a bar on a terminal, a "Compiling …" line per
        // crate otherwise) goes to our stderr, so a first build does not look hung.
        build.args(["build", "-p", "chatops-bot", "--bin", "chatops-bot"]);
        if release {
            build.arg("--release");
        }
        let status = build
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .context("Failed to run cargo build for chatops-bot")?;
        if !status.success() {
            bail!("cargo build of chatops-bot failed ({status})");
        }
    }
    if !sibling.exists() {
        bail!(
            "{} not found; build it (cargo build -p chatops-bot) or set CHATOPS_BOT_BIN",
            sibling.display()
        );
    }
    Ok(sibling)
}

/// A child process we started and measure: CPU time and peak RSS from /proc, SIGTERM to stop,
/// killed if still running when dropped.
pub struct ChildProcess {
    child: Child,
    name: &'static str,
}

impl ChildProcess {
    pub fn new(child: Child, name: &'static str) -> Self {
        Self { child, name }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU time so far, from /proc.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_time_of(self.pid())
    }

    /// Peak resident set size (VmHWM) in KiB, from /proc.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
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

    /// SIGTERM, then wait up to `limit` for the exit status (SIGKILL after that).
    pub fn terminate(mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let pid = self.pid().to_string();
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
                bail!("{} did not exit within {limit:?} of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A running bot process with its config file (removed when dropped).
pub struct BotProcess {
    process: ChildProcess,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for BotProcess {
    type Target = ChildProcess;
    fn deref(&self) -> &ChildProcess {
        &self.process
    }
}

impl BotProcess {
    /// Write `config_toml` to a temporary directory and run `chatops-bot run --config` on it.
    /// `log_level` goes to RUST_LOG; the bot's logs go to our stderr when `show_logs`.
    pub fn spawn(
        bin: &Path,
        config_toml: &str,
        log_level: &str,
        show_logs: bool,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("bot.toml");
        std::fs::write(
            &config,
            config_toml.replace("{dir}", &dir.path().display().to_string()),
        )?;
        let child = Command::new(bin)
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", log_level)
            .env_remove("SLACK_APP_TOKEN")
            .env_remove("SLACK_BOT_TOKEN")
            // Static credentials for the fake AWS endpoints; no EC2 metadata probe on a laptop.
            .env("AWS_ACCESS_KEY_ID", "sandbox")
            .env("AWS_SECRET_ACCESS_KEY", "sandbox")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(if show_logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .with_context(|| format!("Failed to start {}", bin.display()))?;
        Ok(Self {
            process: ChildProcess::new(child, "chatops-bot"),
            _dir: dir,
        })
    }

    /// SIGTERM, then wait up to `limit` for the exit status (SIGKILL after that).
    pub fn terminate(self, limit: Duration) -> anyhow::Result<ExitStatus> {
        self.process.terminate(limit)
    }
}

/// CPU time (utime + stime) of any process we started, from /proc/PID/stat.
pub fn cpu_time_of(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').context("bad /proc stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // USER_HZ is 100 on Linux.
    Ok(Duration::from_millis(ticks * 10))
}

/// A bot config for the sandbox; `{dir}` is replaced by the process's temporary directory.
pub fn sandbox_config(api_url: &str, app_token: &str, bot_token: &str, connections: u8) -> String {
    format!(
        r#"[slack]
app_token = "{app_token}"
bot_token = "{bot_token}"
api_url = "{api_url}"
connections = {connections}
# The sandbox's Slack does not rate-limit per channel, and demos and benches post many
# messages into one channel: no per-channel pacing.
channel_interval = "0s"

[slack.socket]
stagger = "100ms"

[store]
path = "{{dir}}/chatops-bot.db"
"#
    )
}

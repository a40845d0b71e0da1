//! The bot binary under test: spawned with the test config and extra TOML, its log read, its endpoint found, stopped with SIGTERM; `/healthz` and `/metrics` read from it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chatops_sandbox::slack::FakeSlack;
use tokio::time::Instant;

use super::scrape;
use super::support::{bot_binary, config_toml};

const SECOND: Duration = Duration::from_secs(1);

/// The bot binary, killed if a failed assertion leaves it running.
pub struct Bot {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Bot {
    /// `chatops-bot run` with the test config plus `extra`; stderr into `dir/bot.log`.
    pub fn spawn(fake: &FakeSlack, dir: &Path, extra: &str, env: &[(&str, &str)]) -> Self {
        let config = format!("{}\n{extra}", config_toml(fake, &dir.join("bot.db"), 1));
        let path = dir.join("bot.toml");
        std::fs::write(&path, config).unwrap();
        let log = dir.join("bot.log");
        let child = Command::new(bot_binary())
            .args(["run", "--config"])
            .arg(&path)
            .env("RUST_LOG", "info")
            .env_remove("JOURNAL_STREAM")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Bot { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) for a log line containing `what`; returns that line.
    pub async fn log_line(&self, what: &str) -> String {
        let deadline = Instant::now() + 10 * SECOND;
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(what)) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {what:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address the endpoint says it serves on.
    pub async fn metrics_addr(&self) -> SocketAddr {
        let line = self
            .log_line("Serving /metrics and /healthz on http://")
            .await;
        let start = line.find("http://").unwrap() + "http://".len();
        let addr: String = line[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect();
        let addr = addr.trim_end_matches('.');
        addr.parse()
            .unwrap_or_else(|_| panic!("no address in {line:?}"))
    }

    /// SIGTERM, then the exit status (bounded); the log.
    pub async fn stop(mut self) -> (i32, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + 15 * SECOND;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code().expect("exited by signal"), self.log());
            }
            assert!(Instant::now() < deadline, "no exit:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `/healthz` answers `status` (bounded wait); its body.
pub async fn healthz_becomes(addr: SocketAddr, status: u16, limit: Duration) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let answer = scrape::get(addr, "/healthz").await;
        if answer.status == status {
            assert_eq!(answer.headers["content-type"], "application/json");
            return serde_json::from_str(&answer.body).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "/healthz still {}: {}",
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn scrape_now(addr: SocketAddr) -> BTreeMap<String, f64> {
    let answer = scrape::get(addr, "/metrics").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.headers["content-type"].starts_with("application/openmetrics-text"),
        "{:?}",
        answer.headers
    );
    scrape::parse(&answer.body)
}

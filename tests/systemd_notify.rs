//! The systemd notify protocol, with the real binary and no service manager: the test binds the
//! notify socket (a path, or an abstract name) and reads what the bot sends: no READY before
//! every Slack connection said hello, READY=1 after, STATUS lines, WATCHDOG=1 only while the
//! health verdict is good (Slack refusing connections, SQS hanging), STOPPING=1 on SIGTERM,
//! also while the bot is still starting.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use chatops_bot::store::cards::{CardStore, DeliveryCommit};
use chatops_bot::store::{unblock, SqliteStore};
use chatops_sandbox::aws::{FakeSqs, SqsFault};
use chatops_sandbox::slack::{FakeSlack, HttpFault};
use support::*;
use tokio::net::UnixDatagram;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
/// `WATCHDOG_USEC` given to the bot: it feeds the watchdog every 300 ms while healthy.
const WATCHDOG_USEC: &str = "600000";

/// The test's end of `$NOTIFY_SOCKET`.
struct Systemd {
    socket: UnixDatagram,
    /// What to put in `$NOTIFY_SOCKET`.
    address: String,
}

impl Systemd {
    fn at_path(path: &Path) -> Self {
        Self {
            socket: UnixDatagram::bind(path).unwrap(),
            address: path.display().to_string(),
        }
    }

    fn at_abstract_name(name: &str) -> Self {
        use std::os::linux::net::SocketAddrExt as _;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).unwrap();
        let socket = std::os::unix::net::UnixDatagram::bind_addr(&addr).unwrap();
        socket.set_nonblocking(true).unwrap();
        Self {
            socket: UnixDatagram::from_std(socket).unwrap(),
            address: format!("@{name}"),
        }
    }

    /// The next message, or `None` once `deadline` passes.
    async fn next_before(&self, deadline: Instant) -> Option<String> {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout_at(deadline, self.socket.recv(&mut buf))
            .await
            .ok()?
            .unwrap();
        Some(String::from_utf8(buf[..n].to_vec()).unwrap())
    }

    /// Every message up to and including the first that `accept` takes (bounded by `limit`).
    async fn until(
        &self,
        limit: Duration,
        what: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut seen = vec![];
        loop {
            let Some(message) = self.next_before(deadline).await else {
                panic!("no {what} within {limit:?}; the bot sent {seen:#?}");
            };
            let done = accept(&message);
            seen.push(message);
            if done {
                return seen;
            }
        }
    }

    /// Every message sent within the next `window`.
    async fn during(&self, window: Duration) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut seen = vec![];
        while let Some(message) = self.next_before(deadline).await {
            seen.push(message);
        }
        seen
    }

    /// Waits until `count` watchdog pings have arrived (bounded); every message until then.
    async fn pings(&self, count: usize, limit: Duration) -> Vec<String> {
        let mut seen: Vec<String> = vec![];
        while seen.iter().filter(|m| has(m, "WATCHDOG=1")).count() < count {
            seen.extend(
                self.until(limit, "WATCHDOG=1", |m| has(m, "WATCHDOG=1"))
                    .await,
            );
        }
        seen
    }
}

fn has(message: &str, line: &str) -> bool {
    message.lines().any(|l| l == line)
}

fn status(message: &str) -> Option<&str> {
    message.lines().find_map(|l| l.strip_prefix("STATUS="))
}

/// The bot's process, killed if a failed assertion leaves it running.
struct Bot(Child);

impl Drop for Bot {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The real bot with `NOTIFY_SOCKET` and `WATCHDOG_USEC` set; `extra` is appended to the test
/// config and `overrides` are `CHATOPS_*` variables. Logs go to `dir/bot.log`.
fn spawn_bot(
    fake: &FakeSlack,
    dir: &Path,
    connections: u8,
    systemd: &Systemd,
    extra: &str,
    overrides: &[(&str, &str)],
) -> Bot {
    let config = format!(
        "{}\n{extra}",
        config_toml(fake, &dir.join("bot.db"), connections)
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, config).unwrap();
    let log = std::fs::File::create(dir.join("bot.log")).unwrap();
    let child = Command::new(bot_binary())
        .args(["run", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .env("NOTIFY_SOCKET", &systemd.address)
        .env("WATCHDOG_USEC", WATCHDOG_USEC)
        .env_remove("WATCHDOG_PID")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(overrides.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Bot(child)
}

/// SIGTERM: STOPPING=1 arrives, and the bot exits 0 (bounded).
async fn stop(mut bot: Bot, systemd: &Systemd, dir: &Path) {
    let killed = Command::new("kill")
        .args(["-TERM", &bot.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopping = systemd
        .until(5 * SECOND, "STOPPING=1", |m| has(m, "STOPPING=1"))
        .await;
    assert!(
        status(stopping.last().unwrap()).is_some_and(|s| s.starts_with("Stopping")),
        "{stopping:#?}"
    );
    let (code, log) = wait_exit(&mut bot.0, dir, 15 * SECOND).await;
    assert_eq!(code, 0, "log:\n{log}");
}

async fn wait_exit(child: &mut Child, dir: &Path, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("bot.log")).unwrap();
            return (status.code().expect("exited by signal"), log);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join("bot.log")).unwrap();
            panic!("the bot did not exit within {limit:?}; log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_after_hello_and_the_watchdog_only_while_slack_is_reachable() {
    let fake = fake_slack().await;
    // Slack refuses to hand out connections: no hello can come.
    fake.set_open_error(Some("internal_error"));
    let dir = tempfile::tempdir().unwrap();
    let systemd = Systemd::at_path(&dir.path().join("notify"));
    // Reconnecting may take backoff_max 1s + request_timeout 1s + idle_timeout 3s = 5s.
    let overrides = [("CHATOPS_SLACK__REQUEST_TIMEOUT", "1s")];
    let bot = spawn_bot(&fake, dir.path(), 2, &systemd, "", &overrides);

    // Starting, within the reconnect allowance: fed, not ready.
    let starting = systemd.pings(2, 10 * SECOND).await;
    assert!(
        starting
            .iter()
            .filter_map(|m| status(m))
            .any(|s| s.starts_with("Starting: 0/2 Slack connections")),
        "{starting:#?}"
    );
    // Past the allowance: unhealthy, and the watchdog goes hungry.
    let mut before_ready = starting;
    before_ready.extend(
        systemd
            .until(10 * SECOND, "an unhealthy status", |m| {
                status(m).is_some_and(|s| s.starts_with("Unhealthy: no Slack connection for"))
            })
            .await,
    );
    assert!(!has(before_ready.last().unwrap(), "WATCHDOG=1"));
    let hungry = systemd.during(2 * SECOND).await;
    assert!(
        !hungry.iter().any(|m| has(m, "WATCHDOG=1")),
        "fed while unhealthy: {hungry:#?}"
    );
    assert!(
        fake.calls_to("apps.connections.open").len() >= 2,
        "it kept trying"
    );
    before_ready.extend(hungry);
    assert!(
        !before_ready.iter().any(|m| has(m, "READY=1")),
        "READY before any hello: {before_ready:#?}"
    );

    // Slack lets the bot in: READY once both connections said hello, and fed again.
    fake.set_open_error(None);
    let up = systemd
        .until(10 * SECOND, "READY=1", |m| has(m, "READY=1"))
        .await;
    assert_eq!(
        fake.open_connections().len(),
        2,
        "READY=1 came before both hellos"
    );
    let ready = up.last().unwrap();
    assert_eq!(
        status(ready),
        Some("2/2 Slack connections · alarms off"),
        "{ready}"
    );
    systemd.pings(3, 5 * SECOND).await;

    stop(bot, &systemd, dir.path()).await;
    assert!(
        !std::fs::read_to_string(dir.path().join("bot.log"))
            .unwrap()
            .contains("Cannot reach systemd"),
        "every notification was delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abstract_socket_and_a_hanging_sqs_starve_the_watchdog() {
    let fake = fake_slack().await;
    let sqs = FakeSqs::start().await.unwrap();
    let queue = sqs
        .create_queue("chatops-alarms", 30 * SECOND, None)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let name = format!("chatops-bot-test-{}-{}", std::process::id(), line!());
    let systemd = Systemd::at_abstract_name(&name);
    let alarms = format!(
        r#"
[aws]
region = "eu-west-1"
endpoint_url = "{endpoint}"

[alarms]
queue_url = "{queue}"
default_channel = "C0ALERTS01"
# Long polls of 1 s: the pollers must have polled within 2 s.
receive_wait = "1s"
"#,
        endpoint = sqs.endpoint_url(),
    );
    // Two alarms delivered earlier today (a restart ago) and one yesterday: "2 today".
    let path = dir.path().join("bot.db");
    unblock(move || {
        let store = SqliteStore::open(&path)?;
        let midnight = chatops_bot::health::start_of_utc_day(SystemTime::now());
        let delivered = |id: &str, at: SystemTime| DeliveryCommit {
            message_id: id.to_owned(),
            channel: "C0ALERTS01".to_owned(),
            delivered_at: at,
            card: None,
            transition: None,
        };
        store.commit_deliveries(&[
            delivered("yesterday", midnight - SECOND),
            delivered("early", midnight),
            delivered("later", SystemTime::now()),
        ])?;
        Ok(())
    })
    .await
    .unwrap();
    let bot = spawn_bot(&fake, dir.path(), 1, &systemd, &alarms, &[]);

    let up = systemd
        .until(15 * SECOND, "READY=1", |m| has(m, "READY=1"))
        .await;
    assert_eq!(fake.open_connections().len(), 1);
    let ready = status(up.last().unwrap()).unwrap().to_owned();
    assert!(
        ready.starts_with("1/1 Slack connections · alarms: 2 today, 0 in progress · last poll"),
        "{ready}"
    );
    systemd.pings(3, 5 * SECOND).await;

    // The next receive hangs for 8 s: after 2 s without one, no more WATCHDOG=1.
    sqs.fail_next("ReceiveMessage", SqsFault::Delay(8 * SECOND), 1);
    let stalled = systemd
        .until(10 * SECOND, "an unhealthy status", |m| {
            status(m).is_some_and(|s| s.starts_with("Unhealthy: no SQS receive for"))
        })
        .await;
    assert!(!has(stalled.last().unwrap(), "WATCHDOG=1"), "{stalled:#?}");
    let hungry = systemd.during(2 * SECOND).await;
    assert!(
        !hungry.iter().any(|m| has(m, "WATCHDOG=1")),
        "fed while SQS hangs: {hungry:#?}"
    );
    // The receive answers at last: fed again.
    let recovered = systemd.pings(1, 15 * SECOND).await;
    let fed = recovered.last().unwrap();
    assert!(
        status(fed).is_none_or(|s| !s.starts_with("Unhealthy")),
        "{fed}"
    );

    stop(bot, &systemd, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_starting_stops_cleanly_and_says_so() {
    let fake = fake_slack().await;
    // auth.test keeps failing: the bot retries it for about 8 s before giving up.
    fake.outage(&["auth.test"], HttpFault::ServerError, 60 * SECOND);
    let dir = tempfile::tempdir().unwrap();
    let systemd = Systemd::at_path(&dir.path().join("notify"));
    let bot = spawn_bot(&fake, dir.path(), 2, &systemd, "", &[]);
    let starting = systemd
        .until(10 * SECOND, "a starting status", |m| {
            status(m).is_some_and(|s| s.starts_with("Starting:"))
        })
        .await;
    fake.wait_for_call("auth.test", |_| true, 10 * SECOND)
        .await
        .unwrap();
    assert!(!starting.iter().any(|m| has(m, "READY=1")));
    let started = Instant::now();
    stop(bot, &systemd, dir.path()).await;
    assert!(
        started.elapsed() < 3 * SECOND,
        "the stop waited {:?} for auth.test's retries",
        started.elapsed()
    );
}

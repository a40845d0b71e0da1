//! Shared harness: a fake Slack on loopback, and the bot wired to it (in-process or as a child process).
#![allow(dead_code)]

pub mod alarm_sandbox;
pub mod backends;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chatops_bot::config::{Config, Purpose};
use chatops_bot::slack::interaction::Interaction;
use chatops_bot::slack::socket::connection::ConnectionSettings;
use chatops_bot::slack::socket::dispatch::{DispatchLimits, Dispatcher, InteractionHandler};
use chatops_bot::slack::socket::opener::ConnectionOpener;
use chatops_bot::slack::socket::{ClientSettings, SocketModeClient, SocketModeError};
use chatops_bot::store::{SqliteStore, StoreLedger};
use chatops_bot::telemetry::metrics::Metrics;
use chatops_sandbox::slack::{FakeSlack, FakeSlackOptions};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const APP_TOKEN: &str = "xapp-1-sandbox";
pub const BOT_TOKEN: &str = "xoxb-sandbox";

/// A bot config pointed at `fake`, with timings short enough for tests.
pub fn config_toml(fake: &FakeSlack, store: &Path, connections: u8) -> String {
    format!(
        r#"
[slack]
app_token = "{APP_TOKEN}"
bot_token = "{BOT_TOKEN}"
api_url = "{api}"
connections = {connections}
# Tests send many messages into one channel; the fake Slack does not rate-limit per channel.
channel_interval = "0s"

[slack.socket]
ping_interval = "400ms"
pong_timeout = "300ms"
idle_timeout = "3s"
stagger = "50ms"
close_timeout = "500ms"
shutdown_grace = "2s"
backoff_max = "1s"

[store]
path = "{store}"
"#,
        api = fake.api_url(),
        store = store.display()
    )
}

pub fn config(fake: &FakeSlack, store: &Path, connections: u8) -> Config {
    let text = config_toml(fake, store, connections);
    Config::load_from_str(
        "test.toml",
        &text,
        Vec::<(String, String)>::new(),
        Purpose::Run,
    )
    .unwrap_or_else(|e| panic!("test config is invalid: {e}"))
}

/// Static test credentials for the AWS SDK's default chain, and no IMDS probe.
pub fn aws_test_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    });
}

/// The real daemon running in this process until `stop` is called.
pub struct RunningBot {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), chatops_bot::app::RunError>>,
    pub dir: tempfile::TempDir,
}

impl RunningBot {
    pub async fn start(fake: &FakeSlack, connections: u8) -> Self {
        Self::start_with(fake, connections, "").await
    }

    /// Start with extra TOML appended to the test config (e.g. `[aws]` and `[alarms]`).
    pub async fn start_with(fake: &FakeSlack, connections: u8, extra_toml: &str) -> Self {
        Self::start_with_env(fake, connections, extra_toml, &[]).await
    }

    /// Like `start_with`, plus `CHATOPS_*` overrides: the way to change a key the test config
    /// already sets (a TOML table cannot be opened twice), e.g.
    /// `("CHATOPS_SLACK__CHANNEL_INTERVAL", "200ms")`.
    pub async fn start_with_env(
        fake: &FakeSlack,
        connections: u8,
        extra_toml: &str,
        overrides: &[(&str, &str)],
    ) -> Self {
        Self::start_in(
            tempfile::tempdir().unwrap(),
            fake,
            connections,
            extra_toml,
            overrides,
        )
    }

    /// Like `start_with_env`, with the store in `dir`: a bot started again in the directory of
    /// one that stopped finds everything the first one stored (a restart).
    pub fn start_in(
        dir: tempfile::TempDir,
        fake: &FakeSlack,
        connections: u8,
        extra_toml: &str,
        overrides: &[(&str, &str)],
    ) -> Self {
        aws_test_env();
        let text = format!(
            "{}\n{extra_toml}",
            config_toml(fake, &dir.path().join("bot.db"), connections)
        );
        let overrides = overrides
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()));
        let config = Config::load_from_str("test.toml", &text, overrides, Purpose::Run)
            .unwrap_or_else(|e| panic!("test config is invalid: {e}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(chatops_bot::app::run(config, async {
            let _ = stopped.await;
        }));
        Self {
            stop: Some(stop),
            task,
            dir,
        }
    }

    pub async fn stop(self) -> Result<(), chatops_bot::app::RunError> {
        self.stop_keeping_store().await.0
    }

    /// Stops the bot and hands back its directory (the store), for a restart with `start_in`.
    pub async fn stop_keeping_store(
        mut self,
    ) -> (Result<(), chatops_bot::app::RunError>, tempfile::TempDir) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let stopped = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("bot did not stop in time")
            .unwrap();
        (stopped, self.dir)
    }
}

/// Records every interaction; the first `slow` ones sleep `delay` first.
#[derive(Default)]
pub struct RecordingHandler {
    pub seen: Mutex<Vec<Interaction>>,
    /// Interactions answered "busy" instead of handled.
    pub busy: Mutex<Vec<Interaction>>,
    pub slow: usize,
    pub delay: Duration,
    started: Mutex<usize>,
}

impl RecordingHandler {
    pub fn slow(slow: usize, delay: Duration) -> Self {
        Self {
            slow,
            delay,
            ..Default::default()
        }
    }
    pub fn mention_texts(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|i| match i {
                Interaction::Mention(m) => Some(m.text.clone()),
                _ => None,
            })
            .collect()
    }
}

#[async_trait]
impl InteractionHandler for RecordingHandler {
    async fn handle(&self, interaction: Interaction) {
        let nth = {
            let mut started = self.started.lock().unwrap();
            *started += 1;
            *started
        };
        if nth <= self.slow {
            tokio::time::sleep(self.delay).await;
        }
        self.seen.lock().unwrap().push(interaction);
    }

    async fn answer_busy(&self, interaction: Interaction) {
        self.busy.lock().unwrap().push(interaction);
    }
}

/// Just the Socket Mode client with a test handler, for precise protocol tests.
pub struct RunningClient {
    pub metrics: Arc<Metrics>,
    pub dispatcher: Dispatcher,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), SocketModeError>>,
}

impl RunningClient {
    pub fn start(
        fake: &FakeSlack,
        handler: Arc<dyn InteractionHandler>,
        connections: usize,
        max_handlers: usize,
    ) -> Self {
        let limits = DispatchLimits {
            max_handlers,
            max_queued: 100_000,
        };
        Self::start_with_limits(fake, handler, connections, limits)
    }

    pub fn start_with_limits(
        fake: &FakeSlack,
        handler: Arc<dyn InteractionHandler>,
        connections: usize,
        limits: DispatchLimits,
    ) -> Self {
        let metrics = Arc::new(Metrics::default());
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let dispatcher = Dispatcher::new(
            handler,
            Arc::new(StoreLedger::new(store).unwrap()),
            limits,
            metrics.clone(),
        );
        let api_url = url::Url::parse(&fake.api_url()).unwrap();
        let opener = ConnectionOpener::new(
            &api_url,
            APP_TOKEN.to_owned().into(),
            Duration::from_secs(5),
            &Default::default(),
        )
        .unwrap();
        let settings = ClientSettings {
            connections,
            stagger: Duration::from_millis(50),
            backoff_max: Duration::from_secs(1),
            connection: ConnectionSettings {
                ping_interval: Duration::from_millis(400),
                pong_timeout: Duration::from_millis(300),
                idle_timeout: Duration::from_secs(3),
                close_timeout: Duration::from_millis(500),
                hello_timeout: Duration::from_secs(3),
                proxy: Default::default(),
            },
        };
        let client = SocketModeClient::new(opener, settings, dispatcher.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(client.run(async {
            let _ = stopped.await;
        }));
        Self {
            metrics,
            dispatcher,
            stop: Some(stop),
            task,
        }
    }

    pub async fn stop(mut self) -> Result<(), SocketModeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("client did not stop in time")
            .unwrap()
    }
}

pub async fn fake_slack() -> FakeSlack {
    FakeSlack::start(FakeSlackOptions::default()).await.unwrap()
}

/// The bot's binary; `$CHATOPS_BOT_BINARY` picks another build of it (a target dir shared
/// between checkouts has one `chatops-bot` for all of them).
pub fn bot_binary() -> PathBuf {
    std::env::var_os("CHATOPS_BOT_BINARY").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_chatops-bot")),
        PathBuf::from,
    )
}

/// Poll `cond` every 10 ms for up to `limit`.
pub async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The ARN of test alarms, without the alarm name.
pub const ALARM_ARN_PREFIX: &str = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:";

/// A CloudWatch alarm notification, as CloudWatch publishes it to SNS.
pub fn cloudwatch_alarm(name: &str, state: &str, old: &str, time: &str, reason: &str) -> String {
    serde_json::json!({
        "AlarmName": name, "AlarmDescription": null, "AWSAccountId": "111122223333",
        "AlarmConfigurationUpdatedTimestamp": "2026-11-01T10:00:00.000+0000",
        "NewStateValue": state, "NewStateReason": reason, "StateChangeTime": time,
        "Region": "EU (Ireland)", "AlarmArn": format!("{ALARM_ARN_PREFIX}{name}"), "OldStateValue": old,
        "OKActions": [], "AlarmActions": [], "InsufficientDataActions": [],
        "Trigger": {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "StatisticType": "Statistic",
            "Statistic": "AVERAGE", "Unit": null, "Dimensions": [{"value": "i-0abc", "name": "InstanceId"}],
            "Period": 300, "EvaluationPeriods": 3, "DatapointsToAlarm": 3,
            "ComparisonOperator": "GreaterThanThreshold", "Threshold": 80.0,
            "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": ""}
    })
    .to_string()
}

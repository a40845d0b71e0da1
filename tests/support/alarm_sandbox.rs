//! The bot in-process with the alarm pipeline on the fake SQS, and helpers to read what it posted.

use std::collections::BTreeMap;
use std::time::Duration;

use chatops_sandbox::aws::FakeSqs;
use chatops_sandbox::cloudwatch::FakeCloudWatch;
use chatops_sandbox::slack::{FakeSlack, StoredMessage};

use super::{cloudwatch_alarm, fake_slack, RunningBot};

const SECOND: Duration = Duration::from_secs(1);
/// `alarms.default_channel`.
pub const CHANNEL: &str = "C0ALERTS01";

pub struct AlarmSandbox {
    pub slack: FakeSlack,
    pub sqs: FakeSqs,
    /// `aws.endpoints.cloudwatch`. Graphs are off (`alarms.graphs = false`) unless a test turns
    /// them on with the override `("CHATOPS_ALARMS__GRAPHS", "true")`.
    pub cloudwatch: FakeCloudWatch,
    pub queue: String,
    pub bot: RunningBot,
    /// The config beyond the test defaults, and the overrides: a restart uses them again.
    extra: String,
    overrides: Vec<(String, String)>,
}

impl AlarmSandbox {
    /// The bot with `[alarms]` on a fresh fake SQS queue, posting to `CHANNEL` by default;
    /// `alarms_toml` goes inside `[alarms]` (and may add `[[alarms.route]]`s after it).
    pub async fn start(alarms_toml: &str, overrides: &[(&str, &str)]) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), alarms_toml, overrides).await
    }

    /// Like `start`, with the bot's store in `dir` (`dir/bot.db`), which a test may fill first.
    pub async fn start_in(
        dir: tempfile::TempDir,
        alarms_toml: &str,
        overrides: &[(&str, &str)],
    ) -> Self {
        let slack = fake_slack().await;
        let sqs = FakeSqs::start().await.unwrap();
        let cloudwatch = FakeCloudWatch::start().await.unwrap();
        let queue = sqs
            .create_queue("chatops-alarms", 30 * SECOND, None)
            .unwrap();
        let extra = format!(
            r#"
[aws]
region = "eu-west-1"
endpoint_url = "{endpoint}"

[alarms]
queue_url = "{queue}"
default_channel = "{CHANNEL}"
# Short long polls: a stop waits for the running ones.
receive_wait = "1s"
graphs = false
{alarms_toml}
"#,
            endpoint = sqs.endpoint_url(),
        );
        // An override rather than [aws.endpoints], which a test's own TOML may open.
        let mut overrides: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        overrides.push((
            "CHATOPS_AWS__ENDPOINTS__CLOUDWATCH".to_owned(),
            cloudwatch.endpoint_url(),
        ));
        let pairs: Vec<(&str, &str)> = overrides
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let bot = RunningBot::start_in(dir, &slack, 1, &extra, &pairs);
        slack.wait_for_connections(1, 5 * SECOND).await.unwrap();
        Self {
            slack,
            sqs,
            cloudwatch,
            queue,
            bot,
            extra,
            overrides,
        }
    }

    /// Stops the bot (it must exit cleanly) and starts a new one on the same store, config and
    /// fakes, as a service restart does; returns once the new one is connected.
    pub async fn restart(self) -> Self {
        let Self {
            slack,
            sqs,
            cloudwatch,
            queue,
            bot,
            extra,
            overrides,
        } = self;
        let (stopped, dir) = bot.stop_keeping_store().await;
        stopped.expect("the bot stops cleanly before its restart");
        super::eventually(5 * SECOND, "the old connection closed", || {
            slack.open_connections().is_empty()
        })
        .await;
        let pairs: Vec<(&str, &str)> = overrides
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let bot = RunningBot::start_in(dir, &slack, 1, &extra, &pairs);
        slack.wait_for_connections(1, 5 * SECOND).await.unwrap();
        Self {
            slack,
            sqs,
            cloudwatch,
            queue,
            bot,
            extra,
            overrides,
        }
    }

    pub fn publish(&self, name: &str, state: &str, old: &str, time: &str) {
        let body = cloudwatch_alarm(name, state, old, time, "Threshold Crossed: test");
        let subject = format!("{state}: \"{name}\" in EU (Ireland)");
        self.sqs
            .publish_sns(&self.queue, Some(&subject), &body, BTreeMap::new(), false)
            .unwrap();
    }

    /// Publishes a firing alarm `name` (fired at `time`) and waits up to 10 s for its card: the
    /// card's `chat.postMessage`.
    pub async fn publish_firing(&self, name: &str, time: &str) -> chatops_sandbox::slack::ApiCall {
        self.publish(name, "ALARM", "OK", time);
        self.slack
            .wait_for_call(
                "chat.postMessage",
                |c| c.params.to_string().contains(name) && c.param_str("thread_ts").is_none(),
                10 * SECOND,
            )
            .await
            .unwrap()
    }

    /// Publish any payload (EventBridge, custom, …) through SNS, without a subject.
    pub fn publish_body(&self, body: &str) {
        self.sqs
            .publish_sns(&self.queue, None, body, BTreeMap::new(), false)
            .unwrap();
    }

    /// The bot's messages in the channel as they are now (updates applied), top level only.
    pub fn top_level(&self) -> Vec<StoredMessage> {
        self.slack
            .messages(CHANNEL)
            .into_iter()
            .filter(|m| m.thread_ts.is_none())
            .collect()
    }

    pub fn thread(&self, root: &str) -> Vec<StoredMessage> {
        self.slack
            .messages(CHANNEL)
            .into_iter()
            .filter(|m| m.thread_ts.as_deref() == Some(root))
            .collect()
    }
}

/// Everything a message shows: its fallback text, blocks and attachments.
pub fn shown(m: &StoredMessage) -> String {
    format!(
        "{}\n{}\n{}",
        m.text,
        m.blocks.clone().unwrap_or_default(),
        m.attachments.clone().unwrap_or_default()
    )
}

//! The defaults phase of `bench-alarms`: the real bot with storm control and per-channel pacing at
//! their defaults, 2,000 alarms over 40 channels visible at once; alarms/s and the busiest channel.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use anyhow::{bail, Context};
use tokio::time::Instant;

use super::phase::{drain, Rig};
use super::subject::{Endpoints, Subject};
use super::workload::{cloudwatch_alarm, subject};
use crate::aws::{notification_body, FakeSqs};
use crate::cli::bot_process::{sandbox_config, BotProcess};
use crate::cloudwatch::FakeCloudWatch;
use crate::slack::{FakeSlack, FakeSlackOptions};

/// Alarms in the defaults phase, spread round-robin over `CHANNELS` channels.
pub const ALARMS: usize = 2_000;
pub const CHANNELS: usize = 40;
/// The window the busiest channel's rate is counted in.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Longest wait for the bot to open its Socket Mode connection, and to go idle afterwards.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const SETTLE_LIMIT: Duration = Duration::from_secs(20);
/// The alarms become visible this long after loading starts.
const LEAD: Duration = Duration::from_secs(2);

/// What the defaults phase measured.
#[derive(Debug, Clone, Default)]
pub struct DefaultsResult {
    /// `ALARMS` / (visible → the last deletion).
    pub alarms_per_sec: f64,
    /// The most Slack calls (posts and updates) to one channel within any `RATE_WINDOW`.
    pub busiest_channel_per_sec: f64,
    /// `chat.postMessage` calls in the phase (cards, digests), over every channel.
    pub posts: usize,
    /// `chat.update` calls in the phase (digest lines), over every channel.
    pub updates: usize,
    /// Whether the bot went idle within `SETTLE_LIMIT` after the last deletion.
    pub settled: bool,
}

/// The channel alarm `index` is routed to.
fn channel(index: usize) -> String {
    format!("C0BENCHD{:02}", index % CHANNELS)
}

fn alarm_name(index: usize) -> String {
    format!("bench-alarm-d{:02}-{index:06}", index % CHANNELS)
}

/// The sandbox config with the defaults left alone (storm control and per-channel pacing on),
/// one route per channel by alarm name.
pub fn defaults_config(endpoints: &Endpoints<'_>) -> String {
    let opts = endpoints.slack.options();
    let api_url = endpoints.slack.api_url();
    let slack = sandbox_config(&api_url, &opts.app_token, &opts.bot_token, 1);
    let slack = slack.replace("channel_interval = \"0s\"\n", "");
    let mut routes = String::new();
    for c in 0..CHANNELS {
        routes.push_str(&format!(
            "\n[[alarms.route]]\nchannels = [\"{}\"]\n[alarms.route.match]\nname = \"bench-alarm-d{c:02}-*\"\n",
            channel(c)
        ));
    }
    format!(
        "{slack}\n[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{endpoint}\"\n\n\
         [aws.endpoints]\ncloudwatch = \"{cloudwatch}\"\n\n[alarms]\n\
         queue_url = \"{queue}\"\ndefault_channel = \"C0BENCHDXX\"\npollers = {pollers}\n{routes}",
        endpoint = endpoints.sqs_endpoint,
        cloudwatch = endpoints.cloudwatch_endpoint,
        queue = endpoints.queue_url,
        pollers = endpoints.pollers,
    )
}

/// One defaults-phase measurement: fresh fakes and a fresh bot, all alarms visible at once.
pub async fn measure_defaults(
    bot_bin: &Path,
    pollers: usize,
    timeout: Duration,
    bot_logs: bool,
) -> anyhow::Result<DefaultsResult> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let sqs = Arc::new(FakeSqs::start().await?);
    let queue_url = sqs.create_queue("chatops-alarms-defaults", Duration::from_secs(60), None)?;
    let sqs_endpoint = sqs.endpoint_url();
    let cloudwatch = FakeCloudWatch::start().await?;
    let cloudwatch_endpoint = cloudwatch.endpoint_url();
    let endpoints = Endpoints {
        slack: &slack,
        sqs_endpoint: &sqs_endpoint,
        queue_url: &queue_url,
        cloudwatch_endpoint: &cloudwatch_endpoint,
        pollers,
    };
    let config = defaults_config(&endpoints);
    let bot = Subject::Bot(BotProcess::spawn(bot_bin, &config, "warn", bot_logs)?);
    let rig = Rig {
        slack: &slack,
        sqs: &sqs,
        queue_url: &queue_url,
        subject: &bot,
        timeout,
    };
    let measured = run(&rig).await;
    let exit = tokio::task::spawn_blocking(move || bot.terminate())
        .await
        .context("the terminate task failed")??;
    match Arc::try_unwrap(sqs) {
        Ok(sqs) => sqs.shutdown().await,
        Err(shared) => drop(shared),
    }
    slack.shutdown().await;
    if !exit.success() {
        bail!("chatops-bot exited {exit} after SIGTERM in the defaults phase");
    }
    measured
}

async fn run(rig: &Rig<'_>) -> anyhow::Result<DefaultsResult> {
    rig.slack
        .wait_for_connections(1, CONNECT_TIMEOUT)
        .await
        .context("waiting for the bot's Socket Mode connection")?;
    rig.subject.settle(SETTLE_LIMIT).await?;
    let bodies: Vec<String> = (0..ALARMS)
        .map(|i| {
            let name = alarm_name(i);
            notification_body(Some(&subject(&name)), &cloudwatch_alarm(&name))
        })
        .collect();
    let posts_before = rig.slack.calls_to("chat.postMessage").len();
    let updates_before = rig.slack.calls_to("chat.update").len();
    let visible_at = Instant::now() + LEAD;
    let sqs = Arc::clone(rig.sqs);
    let queue = rig.queue_url.to_string();
    let ids =
        tokio::task::spawn_blocking(move || sqs.send_batch_visible_at(&queue, bodies, visible_at))
            .await
            .context("the loader thread failed")??;
    tokio::time::sleep_until(visible_at).await;
    drain(rig).await.context("defaults phase")?;
    let (_, settled) = rig.subject.settle(SETTLE_LIMIT).await?;
    let mut last_deleted = visible_at;
    for id in &ids {
        let history = rig.sqs.message_history(id).context("no message history")?;
        let deleted = history.deleted_at.context("a message was not deleted")?;
        last_deleted = last_deleted.max(deleted);
    }
    let span = last_deleted.saturating_duration_since(visible_at);
    let posts = rig.slack.calls_to("chat.postMessage");
    let updates = rig.slack.calls_to("chat.update");
    let posts = posts.get(posts_before..).unwrap_or_default();
    let updates = updates.get(updates_before..).unwrap_or_default();
    let phase_calls: Vec<(String, StdInstant)> = posts
        .iter()
        .chain(updates)
        .map(|call| {
            (
                call.param_str("channel").unwrap_or_default().to_owned(),
                call.at,
            )
        })
        .collect();
    Ok(DefaultsResult {
        alarms_per_sec: ALARMS as f64 / span.as_secs_f64().max(1e-9),
        busiest_channel_per_sec: busiest_channel(&phase_calls) as f64 / RATE_WINDOW.as_secs_f64(),
        posts: posts.len(),
        updates: updates.len(),
        settled,
    })
}

/// The most calls to one channel within any `RATE_WINDOW`.
fn busiest_channel(calls: &[(String, StdInstant)]) -> usize {
    let mut by_channel: HashMap<&str, Vec<StdInstant>> = HashMap::new();
    for (channel, at) in calls {
        by_channel.entry(channel).or_default().push(*at);
    }
    let mut busiest = 0;
    for times in by_channel.values_mut() {
        times.sort_unstable();
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) >= RATE_WINDOW {
                start += 1;
            }
            busiest = busiest.max(end - start + 1);
        }
    }
    busiest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_config_keeps_the_defaults_and_routes_to_every_channel() -> anyhow::Result<()> {
        let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
        let endpoints = Endpoints {
            slack: &slack,
            sqs_endpoint: "http://127.0.0.1:9",
            queue_url: "http://127.0.0.1:9/123456789012/alarms",
            cloudwatch_endpoint: "http://127.0.0.1:9",
            pollers: 4,
        };
        let config = defaults_config(&endpoints);
        assert!(!config.contains("channel_interval"), "{config}");
        assert!(!config.contains("storm_threshold"), "{config}");
        assert_eq!(config.matches("[[alarms.route]]").count(), CHANNELS);
        assert!(config.contains(&format!("name = \"{}*\"", &alarm_name(CHANNELS + 7)[..16])));
        assert_eq!(channel(CHANNELS + 7), "C0BENCHD07");
        slack.shutdown().await;
        Ok(())
    }

    #[test]
    fn the_busiest_channel_counts_calls_within_one_second() {
        let t0 = StdInstant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let calls: Vec<(String, StdInstant)> = [
            ("A", 0),
            ("A", 100),
            ("B", 150),
            ("A", 900),
            ("A", 1_050),
            ("A", 1_200),
            ("B", 200),
        ]
        .iter()
        .map(|(c, ms)| (c.to_string(), at(*ms)))
        .collect();
        assert_eq!(
            busiest_channel(&calls),
            3,
            "A at 0, 100, 900, or 100, 900, 1050"
        );
        assert_eq!(busiest_channel(&[]), 0);
    }
}

//! The `test-alarm` command's run: build the clients, publish, wait, and print what happened.

use std::time::Duration;

use time::OffsetDateTime;

use super::{plan, publish_and_wait, SnsTopic};
use crate::config::{AwsService, Config};
use crate::exit;
use crate::slack::messenger::SlackMessenger;

/// Runs the test against the configured topic and Slack; returns the exit status.
pub async fn command(config: &Config, timeout: Duration) -> u8 {
    match run(config, timeout).await {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("✗ {e:#}");
            exit::FAILURE
        }
    }
}

async fn run(config: &Config, timeout: Duration) -> anyhow::Result<()> {
    let plan = plan(&config.alarms, OffsetDateTime::now_utc())?;
    let endpoint = config.aws.endpoint(AwsService::Sns);
    let sdk = crate::notify::sqs::sdk_config(&plan.topic.region, endpoint, &config.proxy).await;
    let topic = SnsTopic::new(&sdk, plan.topic.clone());
    let bot_token = config.slack.bot_token.as_ref().ok_or_else(|| {
        anyhow::anyhow!("slack.bot_token is not set: test-alarm reads the channel to find the card")
    })?;
    let slack = SlackMessenger::new(
        &config.slack.api_url,
        bot_token,
        config.slack.request_timeout,
        &config.proxy,
    )?;
    let channels: Vec<&str> = plan.channels.iter().map(|c| c.0.as_str()).collect();
    println!(
        "Publishing {} to {} and waiting up to {} for its card in {} …",
        plan.alarm.name,
        plan.topic.arn,
        humantime::format_duration(timeout),
        channels.join(", ")
    );
    let seen = publish_and_wait(&plan, &topic, &slack, timeout).await?;
    println!(
        "✓ The card for {} is in {}, {:.1}s after publishing: {}",
        seen.alarm,
        seen.channel.0,
        seen.publish_to_post.as_secs_f64(),
        seen.permalink.as_deref().unwrap_or(&seen.ts.0)
    );
    Ok(())
}

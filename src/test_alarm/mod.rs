//! `chatops-bot test-alarm`: publish a realistic alarm through SNS and wait for the bot's card.
//!
//! The alarm goes the whole real way: SNS → the subscribed SQS queue → the running bot → Slack.
//! It carries the `chatops_test=1` message attribute, so its card says it is a test and pages
//! nobody. The card is found in Slack by the client-side id the bot gives every card
//! (`<SNS message id>/<channel>/card`, or the body's `sha256:` id with raw message delivery),
//! with `conversations.history` on each channel the alarm is routed to.

mod command;
mod message;
mod topic;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

pub use command::command;
pub use message::{test_alarm, TestAlarm, TopicArn};
pub use topic::{AlarmTopic, PublishError, SnsTopic};

use crate::alarms::routing::{Routes, RoutesError};
use crate::alarms::{content_id, parse_sqs_message, TEST_ALARM_ATTRIBUTE};
use crate::config::AlarmsConfig;
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::messenger::{Messenger, SlackApiError, SlackMessenger};

/// Between two looks for the card: `conversations.history` is a Tier 3 method (50 a minute).
const LOOK_INTERVAL: Duration = Duration::from_secs(2);

/// Why the test did not end with a card.
#[derive(Debug, thiserror::Error)]
pub enum TestAlarmError {
    #[error(
        "alarms.topic_arn is not set: test-alarm publishes to the SNS topic your alarms publish to"
    )]
    NoTopic,
    #[error(transparent)]
    Routes(#[from] RoutesError),
    #[error("the test alarm is routed only to channels given by name ({0}); test-alarm finds the card by channel id, so route it (or set alarms.default_channel) to a channel id such as C0123ABCD")]
    NoChannelIds(String),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("Slack refused to read {channel}: {source}")]
    Slack {
        channel: String,
        source: SlackApiError,
    },
    #[error("no card for {name} in {channels} after {waited:?}. Is the bot running with this configuration, and is alarms.queue_url subscribed to alarms.topic_arn? `chatops-bot check --live` checks the queue; a storm digest may also have taken the alarm in")]
    NotSeen {
        name: String,
        channels: String,
        waited: Duration,
    },
}

/// What the test saw.
#[derive(Debug)]
pub struct Sighting {
    pub alarm: String,
    pub channel: ChannelId,
    pub ts: MessageTs,
    /// `chat.getPermalink`; `None` when Slack would not say.
    pub permalink: Option<String>,
    /// From just before the publish to the card's Slack timestamp.
    pub publish_to_post: Duration,
}

/// The test alarm, and where the bot will post it.
#[derive(Debug)]
pub struct Plan {
    /// `alarms.topic_arn`, parsed.
    pub topic: TopicArn,
    pub alarm: TestAlarm,
    pub channels: Vec<ChannelId>,
}

/// Builds the test alarm for `alarms.topic_arn` and routes it as the bot will.
pub fn plan(alarms: &AlarmsConfig, at: OffsetDateTime) -> Result<Plan, TestAlarmError> {
    let topic = alarms
        .topic_arn
        .as_deref()
        .and_then(TopicArn::parse)
        .ok_or(TestAlarmError::NoTopic)?;
    let alarm = test_alarm(&topic, at);
    let attributes = BTreeMap::from([(TEST_ALARM_ATTRIBUTE.to_owned(), "1".to_owned())]);
    let routed = Routes::new(alarms)?.route(&parse_sqs_message(&alarm.message, &attributes));
    let (ids, names): (Vec<String>, Vec<String>) = routed
        .channels
        .into_iter()
        .partition(|channel| !channel.starts_with('#'));
    if ids.is_empty() {
        return Err(TestAlarmError::NoChannelIds(names.join(", ")));
    }
    Ok(Plan {
        topic,
        alarm,
        channels: ids.into_iter().map(ChannelId).collect(),
    })
}

/// Publishes the planned alarm and waits up to `timeout` for its card in any planned channel.
pub async fn publish_and_wait(
    plan: &Plan,
    topic: &dyn AlarmTopic,
    slack: &SlackMessenger,
    timeout: Duration,
) -> Result<Sighting, TestAlarmError> {
    let started = tokio::time::Instant::now();
    let published_at = SystemTime::now();
    let message_id = topic.publish(&plan.alarm).await?;
    let body_id = content_id(&plan.alarm.message);
    loop {
        for channel in &plan.channels {
            let ids = [
                format!("{message_id}/{}/card", channel.0),
                format!("{body_id}/{}/card", channel.0),
            ];
            let found = slack
                .find_post(channel, &ids, published_at)
                .await
                .map_err(|source| TestAlarmError::Slack {
                    channel: channel.0.clone(),
                    source,
                })?;
            if let Some(ts) = found {
                let permalink = Messenger::permalink(slack, channel, &ts).await.ok();
                return Ok(Sighting {
                    alarm: plan.alarm.name.clone(),
                    publish_to_post: since(published_at, &ts),
                    channel: channel.clone(),
                    ts,
                    permalink,
                });
            }
        }
        if started.elapsed() + LOOK_INTERVAL > timeout {
            return Err(TestAlarmError::NotSeen {
                name: plan.alarm.name.clone(),
                channels: plan
                    .channels
                    .iter()
                    .map(|c| c.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(LOOK_INTERVAL).await;
    }
}

/// From `start` to the Slack timestamp `ts` (zero when the clocks disagree).
fn since(start: SystemTime, ts: &MessageTs) -> Duration {
    let posted =
        ts.0.parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .map(|d| UNIX_EPOCH + d);
    posted
        .and_then(|posted| posted.duration_since(start).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::config::{Config, Purpose};

    fn alarms(text: &str) -> AlarmsConfig {
        Config::load_from_str("t.toml", text, Vec::new(), Purpose::Manifest)
            .unwrap_or_else(|e| panic!("{e}"))
            .alarms
    }

    #[test]
    fn plans_follow_the_routes_and_need_a_topic_and_a_channel_id() {
        let at = datetime!(2026-12-07 12:00:00 UTC);
        let routed = alarms(
            r##"[alarms]
            topic_arn = "arn:aws:sns:eu-west-1:123456789012:chatops-alarms"
            default_channel = "C0DEFAULT1"
            [[alarms.route]]
            name = "tests"
            match.name = "chatops-bot-test-*"
            channels = ["C0TESTS001", "#by-name"]
            "##,
        );
        let plan = plan(&routed, at).unwrap();
        assert_eq!(plan.channels, [ChannelId("C0TESTS001".into())]);
        assert_eq!(plan.alarm.name, "chatops-bot-test-20261207T120000Z");

        let no_topic = alarms("[alarms]\ndefault_channel = \"C0DEFAULT1\"\n");
        assert!(matches!(
            super::plan(&no_topic, at),
            Err(TestAlarmError::NoTopic)
        ));

        let by_name = alarms(
            "[alarms]\ntopic_arn = \"arn:aws:sns:eu-west-1:123456789012:a\"\ndefault_channel = \"#alerts\"\n",
        );
        let refused = super::plan(&by_name, at).unwrap_err();
        assert!(
            matches!(refused, TestAlarmError::NoChannelIds(_)),
            "{refused}"
        );
        assert!(refused.to_string().contains("#alerts"));
    }

    #[test]
    fn publish_to_post_is_measured_to_the_cards_slack_timestamp() {
        let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let ts = MessageTs("1700000002.750000".into());
        assert_eq!(since(start, &ts), Duration::from_millis(2500));
        assert_eq!(
            since(start, &MessageTs("1699999999.000000".into())),
            Duration::ZERO
        );
    }
}

//! The test alarm itself: a CloudWatch alarm going into ALARM, as CloudWatch publishes it to SNS.

use serde_json::json;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::alarms::region_display_name;

/// The parts of `alarms.topic_arn` the message needs (the config checked its shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicArn {
    pub arn: String,
    pub region: String,
    pub account: String,
}

impl TopicArn {
    /// `arn:<partition>:sns:<region>:<account>:<name>`; `None` for anything else.
    pub fn parse(arn: &str) -> Option<Self> {
        match arn.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "sns", region, account, name] if !region.is_empty() && !name.is_empty() => {
                Some(Self {
                    arn: arn.to_owned(),
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// What `test-alarm` publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestAlarm {
    /// `chatops-bot-test-<UTC time>`: unique per second, and easy to route or filter on.
    pub name: String,
    /// The SNS subject CloudWatch would use.
    pub subject: String,
    /// The CloudWatch alarm notification JSON (the SNS `Message`).
    pub message: String,
}

/// The test alarm for `topic`, changing state at `at`.
pub fn test_alarm(topic: &TopicArn, at: OffsetDateTime) -> TestAlarm {
    let at = at.to_offset(time::UtcOffset::UTC);
    let stamp = at
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let name = format!("chatops-bot-test-{stamp}");
    let region_name = region_display_name(&topic.region).unwrap_or(&topic.region);
    let state_change = at
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
        ))
        .unwrap_or_default();
    let datapoint_time = at
        .format(format_description!(
            "[day]/[month]/[year repr:last_two] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    let message = json!({
        "AlarmName": name,
        "AlarmDescription": "A test alarm sent by `chatops-bot test-alarm` to check the path \
            SNS → SQS → chatops-bot → Slack. Nothing is wrong.",
        "AWSAccountId": topic.account,
        "AlarmConfigurationUpdatedTimestamp": state_change,
        "NewStateValue": "ALARM",
        "NewStateReason": format!(
            "Threshold Crossed: 1 datapoint [1.0 ({datapoint_time})] was greater than or equal \
             to the threshold (1.0)."
        ),
        "StateChangeTime": state_change,
        "Region": region_name,
        "AlarmArn": format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{name}",
            topic.region, topic.account
        ),
        "OldStateValue": "OK",
        "OKActions": [],
        "AlarmActions": [topic.arn],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "TestAlarm",
            "Namespace": "ChatOpsBot",
            "StatisticType": "Statistic",
            "Statistic": "MAXIMUM",
            "Unit": null,
            "Dimensions": [],
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "missing",
            "EvaluateLowSampleCountPercentile": ""
        }
    });
    TestAlarm {
        subject: format!("ALARM: \"{name}\" in {region_name}"),
        name,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::datetime;

    use super::*;
    use crate::alarms::{parse_sqs_message, AlarmState, Event, TEST_ALARM_ATTRIBUTE};

    #[test]
    fn topic_arns_give_region_and_account() {
        let topic = TopicArn::parse("arn:aws:sns:eu-west-1:123456789012:chatops-alarms").unwrap();
        assert_eq!(
            (topic.region.as_str(), topic.account.as_str()),
            ("eu-west-1", "123456789012")
        );
        assert_eq!(
            TopicArn::parse("arn:aws:sqs:eu-west-1:123456789012:q"),
            None
        );
        assert_eq!(TopicArn::parse("chatops-alarms"), None);
    }

    #[test]
    fn the_bot_reads_the_test_alarm_as_a_firing_test_alarm() {
        let topic = TopicArn::parse("arn:aws:sns:eu-west-1:123456789012:chatops-alarms").unwrap();
        let alarm = test_alarm(&topic, datetime!(2026-12-07 12:03:04.5 UTC));
        assert_eq!(alarm.name, "chatops-bot-test-20261207T120304Z");
        assert_eq!(
            alarm.subject,
            "ALARM: \"chatops-bot-test-20261207T120304Z\" in Europe (Ireland)"
        );
        let attributes = BTreeMap::from([(TEST_ALARM_ATTRIBUTE.to_owned(), "1".to_owned())]);
        let parsed = parse_sqs_message(&alarm.message, &attributes);
        assert!(parsed.is_test());
        let Event::Alarm(parsed_alarm) = &parsed.event else {
            panic!("not an alarm: {parsed:?}");
        };
        assert_eq!(parsed_alarm.name, alarm.name);
        assert_eq!(parsed_alarm.state, AlarmState::Alarm);
        assert_eq!(parsed_alarm.region, "eu-west-1");
        assert_eq!(parsed_alarm.account, "123456789012");
        assert!(
            parsed_alarm.reason.contains("(07/12/26 12:03:04)"),
            "{}",
            parsed_alarm.reason
        );
    }
}

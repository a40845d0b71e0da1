//! What the alarm benchmark sends: distinct CloudWatch alarms in SNS envelopes, and how a
//! `chat.postMessage` is traced back to the message it was made from.

use serde_json::json;

/// The channel every card (and every floor post) goes to.
pub const CHANNEL: &str = "C0ALARMBENCH";
/// The floor posts this followed by the SQS message id.
pub const FLOOR_TEXT_PREFIX: &str = "sqs message ";
/// Every benchmark alarm name starts with this.
const NAME_PREFIX: &str = "bench-alarm-";

/// A batch of alarms: `warmup`, `paced` or `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Warmup,
    Paced,
    Burst,
}

impl Batch {
    fn tag(self) -> &'static str {
        match self {
            Batch::Warmup => "w",
            Batch::Paced => "p",
            Batch::Burst => "b",
        }
    }
}

/// The name of alarm `index` of `batch`: distinct, so each one gets a card of its own.
pub fn alarm_name(batch: Batch, index: usize) -> String {
    format!("{NAME_PREFIX}{}-{index:06}", batch.tag())
}

/// The SNS `Subject` CloudWatch writes for an ALARM.
pub fn subject(name: &str) -> String {
    format!("ALARM: \"{name}\" in EU (Ireland)")
}

/// The CloudWatch alarm state change SNS carries in `Message`, as a JSON string. It changed state
/// just now, as a live alarm has (an old `StateChangeTime` makes the card's nudge, "nobody has
/// pressed Watching for 15m", due at once: posts a slow run would count as the pipeline's).
pub fn cloudwatch_alarm(name: &str) -> String {
    let now = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
        ))
        .unwrap_or_else(|_| "2026-11-23T14:20:05.517+0000".to_owned());
    json!({
        "AlarmName": name,
        "AlarmDescription": "5xx responses on the checkout API (benchmark)",
        "AWSAccountId": "210987654321",
        "AlarmConfigurationUpdatedTimestamp": "2026-11-02T09:12:44.120+0000",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 3 datapoints [61.0, 74.0, 90.0] were greater than the threshold (30.0).",
        "StateChangeTime": now,
        "Region": "EU (Ireland)",
        "AlarmArn": format!("arn:aws:cloudwatch:eu-west-1:210987654321:alarm:{name}"),
        "OldStateValue": "OK",
        "OKActions": [],
        "AlarmActions": ["arn:aws:sns:eu-west-1:210987654321:chatops-alarms"],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "HTTPCode_Target_5XX_Count",
            "Namespace": "AWS/ApplicationELB",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": null,
            "Dimensions": [{"value": "app/checkout/fedcba9876543210", "name": "LoadBalancer"}],
            "Period": 60,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 30.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": ""
        }
    })
    .to_string()
}

/// The key a posted text carries: the alarm name (bot cards) or the SQS message id (floor).
pub fn key_in(text: &str) -> Option<&str> {
    if let Some(id) = text.strip_prefix(FLOOR_TEXT_PREFIX) {
        return Some(id.trim());
    }
    let start = text.find(NAME_PREFIX)?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_found_again_in_card_and_floor_texts() -> anyhow::Result<()> {
        let name = alarm_name(Batch::Burst, 42);
        assert_eq!(name, "bench-alarm-b-000042");
        assert_ne!(name, alarm_name(Batch::Paced, 42));
        let card = format!("🔴 ALARM {name} in EU (Ireland)");
        assert_eq!(key_in(&card), Some(name.as_str()));
        assert_eq!(key_in(&format!("ALARM {name}")), Some(name.as_str()));
        assert_eq!(key_in("sqs message 5f0c-11"), Some("5f0c-11"));
        assert_eq!(key_in("something else"), None);
        let alarm: serde_json::Value = serde_json::from_str(&cloudwatch_alarm(&name))?;
        assert_eq!(alarm["AlarmName"], name.as_str());
        assert!(alarm["AlarmArn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(&name)));
        Ok(())
    }
}

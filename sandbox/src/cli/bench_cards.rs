//! Alarm cards for the benches: firing alarms published through the fake SQS, and their cards'
//! ts once the bot has posted them.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;

use crate::aws::FakeSqs;
use crate::slack::FakeSlack;

const ARN_PREFIX: &str = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:";

/// The ARN of the alarm named `name`, as the card's buttons carry it.
pub fn alarm_arn(name: &str) -> String {
    format!("{ARN_PREFIX}{name}")
}

/// Publishes one firing CloudWatch alarm per name and returns their cards' ts, in the names'
/// order, once every message is deleted from the queue (the cards are recorded by then).
pub async fn post_cards(
    slack: &FakeSlack,
    sqs: &FakeSqs,
    queue: &str,
    names: &[String],
    wait: Duration,
) -> anyhow::Result<Vec<String>> {
    for name in names {
        let body = serde_json::json!({
            "AlarmName": name, "AWSAccountId": "111122223333",
            "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed: bench",
            "StateChangeTime": "2026-11-23T13:53:39.351+0000", "Region": "EU (Ireland)",
            "OldStateValue": "OK", "AlarmArn": alarm_arn(name),
            "Trigger": {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "Statistic": "AVERAGE",
                "Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 80.0, "Dimensions": []}
        });
        sqs.publish_sns(
            queue,
            Some("ALARM"),
            &body.to_string(),
            BTreeMap::new(),
            false,
        )?;
    }
    sqs.wait_for_deleted(queue, names.len(), wait).await?;
    let mut roots = BTreeMap::new();
    for call in slack.calls_to("chat.postMessage") {
        if call.param_str("thread_ts").is_some() {
            continue;
        }
        let text = call.params.to_string();
        // The longest matching name wins, so `x-1` never takes `x-10`'s card.
        let found = names
            .iter()
            .enumerate()
            .filter(|(_, name)| text.contains(name.as_str()))
            .max_by_key(|(_, name)| name.len());
        if let Some((i, _)) = found {
            let ts = call.response["ts"].as_str().unwrap_or_default().to_owned();
            roots.insert(i, ts);
        }
    }
    if roots.len() != names.len() {
        bail!(
            "expected {} alarm cards, found {}",
            names.len(),
            roots.len()
        );
    }
    Ok(roots.into_values().collect())
}

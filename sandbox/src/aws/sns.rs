//! What SNS puts into a subscribed SQS queue: the Notification envelope, or the bare message with
//! SQS message attributes when raw message delivery is on.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::aws::ids;
use crate::aws::{ACCOUNT_ID, REGION};

/// The topic `FakeSqs::publish_sns` pretends to publish from.
pub const DEFAULT_TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:chatops-alarms";

/// The SNS Notification envelope (raw delivery off) as a JSON string.
pub(crate) fn notification_envelope(
    topic_arn: &str,
    sns_message_id: &str,
    subject: Option<&str>,
    message: &str,
    attributes: &BTreeMap<String, String>,
    now: SystemTime,
) -> String {
    let mut envelope = Map::new();
    envelope.insert("Type".into(), json!("Notification"));
    envelope.insert("MessageId".into(), json!(sns_message_id));
    envelope.insert("TopicArn".into(), json!(topic_arn));
    if let Some(subject) = subject {
        envelope.insert("Subject".into(), json!(subject));
    }
    envelope.insert("Message".into(), json!(message));
    envelope.insert("Timestamp".into(), json!(iso8601_millis(now)));
    envelope.insert("SignatureVersion".into(), json!("1"));
    envelope.insert("Signature".into(), json!(ids::random_base64(256)));
    envelope.insert(
        "SigningCertURL".into(),
        json!(format!(
            "https://sns.{REGION}.amazonaws.com/SimpleNotificationService-{}.pem",
            ids::random_hex(32)
        )),
    );
    envelope.insert(
        "UnsubscribeURL".into(),
        json!(format!(
            "https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{}",
            ids::uuid()
        )),
    );
    if !attributes.is_empty() {
        let attributes: Map<String, Value> = attributes
            .iter()
            .map(|(name, value)| (name.clone(), json!({"Type": "String", "Value": value})))
            .collect();
        envelope.insert("MessageAttributes".into(), Value::Object(attributes));
    }
    Value::Object(envelope).to_string()
}

/// The body SNS puts into a subscribed queue with raw delivery off: a Notification envelope from
/// `DEFAULT_TOPIC_ARN` with a fresh SNS `MessageId`, for seeding with
/// `FakeSqs::send_batch_visible_at`.
pub fn notification_body(subject: Option<&str>, message: &str) -> String {
    notification_envelope(
        DEFAULT_TOPIC_ARN,
        &ids::uuid(),
        subject,
        message,
        &BTreeMap::new(),
        SystemTime::now(),
    )
}

/// `arn:aws:sqs:REGION:ACCOUNT:NAME`.
pub(crate) fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}")
}

/// `2021-06-27T13:53:39.351Z`: UTC with milliseconds, as SNS writes `Timestamp`.
pub(crate) fn iso8601_millis(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_format_like_sns() {
        let at = UNIX_EPOCH + Duration::from_millis(1_624_801_819_351);
        assert_eq!(iso8601_millis(at), "2021-06-27T13:50:19.351Z");
        assert_eq!(iso8601_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601_millis(leap_day), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn envelope_carries_the_message_as_a_string_and_typed_attributes() -> anyhow::Result<()> {
        let attributes = BTreeMap::from([("severity".to_string(), "high".to_string())]);
        let text = notification_envelope(
            DEFAULT_TOPIC_ARN,
            "sns-1",
            None,
            r#"{"AlarmName":"x"}"#,
            &attributes,
            SystemTime::now(),
        );
        let envelope: Value = serde_json::from_str(&text)?;
        assert_eq!(envelope["Type"], "Notification");
        assert_eq!(envelope["Message"], r#"{"AlarmName":"x"}"#);
        assert!(envelope.get("Subject").is_none());
        assert_eq!(
            envelope["MessageAttributes"]["severity"],
            json!({"Type": "String", "Value": "high"})
        );
        assert!(envelope["UnsubscribeURL"]
            .as_str()
            .is_some_and(|url| url.contains(DEFAULT_TOPIC_ARN)));
        Ok(())
    }
}

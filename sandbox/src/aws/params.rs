//! Reading AWS JSON 1.0 request bodies: required strings, bounded numbers, lists, message
//! attributes and queue attributes, with the errors SQS gives for bad input.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::aws::error::SqsError;
use crate::aws::model::{AttributeValue, QueueConfig, RedrivePolicy};

/// Most message attributes one message may carry.
const MAX_MESSAGE_ATTRIBUTES: usize = 10;
/// Most entries in one batch request.
pub(crate) const MAX_BATCH_ENTRIES: usize = 10;

/// A required string field.
pub(crate) fn required_str<'a>(request: &'a Value, key: &str) -> Result<&'a str, SqsError> {
    request
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| SqsError::missing_parameter(key))
}

/// An optional whole number (given as a JSON number or a numeric string) within `min..=max`.
pub(crate) fn optional_number(
    request: &Value,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, SqsError> {
    let Some(raw) = request.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let number = match raw {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(SqsError::invalid_parameter(format!(
            "Value {raw} for parameter {key} is invalid. Reason: Must be between {min} and {max}."
        ))),
    }
}

/// An optional number of seconds within `0..=max`.
pub(crate) fn optional_seconds(
    request: &Value,
    key: &str,
    max: u64,
) -> Result<Option<Duration>, SqsError> {
    Ok(optional_number(request, key, 0, max)?.map(Duration::from_secs))
}

/// An optional list of strings (missing means empty).
pub(crate) fn string_list(request: &Value, key: &str) -> Vec<String> {
    request
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The `Entries` of a batch request: 1 to 10 objects with distinct, well-formed `Id`s.
pub(crate) fn batch_entries(request: &Value) -> Result<Vec<(String, &Value)>, SqsError> {
    let entries = request
        .get("Entries")
        .and_then(Value::as_array)
        .ok_or_else(|| SqsError::missing_parameter("Entries"))?;
    if entries.is_empty() {
        return Err(SqsError::empty_batch());
    }
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(SqsError::too_many_entries(entries.len()));
    }
    let mut seen = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = required_str(entry, "Id")?;
        let well_formed = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !well_formed {
            return Err(SqsError::invalid_parameter(format!(
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. ({id})"
            )));
        }
        if seen.iter().any(|(other, _)| other == id) {
            return Err(SqsError::batch_ids_not_distinct(id));
        }
        seen.push((id.to_string(), entry));
    }
    Ok(seen)
}

/// `MessageAttributes`: `{name: {DataType, StringValue | BinaryValue}}`.
pub(crate) fn message_attributes(
    request: &Value,
) -> Result<BTreeMap<String, AttributeValue>, SqsError> {
    let Some(map) = request.get("MessageAttributes").and_then(Value::as_object) else {
        return Ok(BTreeMap::new());
    };
    if map.len() > MAX_MESSAGE_ATTRIBUTES {
        return Err(SqsError::invalid_parameter(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}].",
            map.len()
        )));
    }
    map.iter()
        .map(|(name, value)| Ok((name.clone(), attribute_value(name, value)?)))
        .collect()
}

fn attribute_value(name: &str, value: &Value) -> Result<AttributeValue, SqsError> {
    let data_type = value
        .get("DataType")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            SqsError::invalid_parameter(format!(
                "The message attribute '{name}' must contain a non-empty attribute type."
            ))
        })?;
    let base = data_type.split('.').next().unwrap_or_default();
    if !["String", "Number", "Binary"].contains(&base) {
        return Err(SqsError::invalid_parameter(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    }
    let string = value.get("StringValue").and_then(Value::as_str);
    let binary = match value.get("BinaryValue").and_then(Value::as_str) {
        Some(encoded) => Some(STANDARD.decode(encoded).map_err(|_| {
            SqsError::invalid_parameter(format!(
                "The message attribute '{name}' has a BinaryValue that is not valid base64."
            ))
        })?),
        None => None,
    };
    let present = if base == "Binary" {
        binary.is_some()
    } else {
        string.is_some_and(|s| !s.is_empty())
    };
    if !present {
        return Err(SqsError::invalid_parameter(format!(
            "The message attribute '{name}' must contain a non-empty message attribute value for message attribute type '{data_type}'."
        )));
    }
    Ok(AttributeValue {
        data_type: data_type.to_string(),
        string: if base == "Binary" {
            None
        } else {
            string.map(str::to_string)
        },
        binary: if base == "Binary" { binary } else { None },
    })
}

/// The `AWSTraceHeader` system attribute, if given.
pub(crate) fn trace_header(request: &Value) -> Option<String> {
    request
        .get("MessageSystemAttributes")
        .and_then(|attrs| attrs.get("AWSTraceHeader"))
        .and_then(|value| value.get("StringValue"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Attributes that are accepted at CreateQueue but have no effect in the fake.
const IGNORED_QUEUE_ATTRIBUTES: [&str; 8] = [
    "Policy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "RedriveAllowPolicy",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// CreateQueue's `Attributes` (a map of strings) as a queue configuration.
pub(crate) fn queue_config(request: &Value) -> Result<QueueConfig, SqsError> {
    let mut config = QueueConfig::default();
    let empty = Map::new();
    let attributes = request
        .get("Attributes")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (name, value) in attributes {
        let holder = serde_json::json!({ name.as_str(): value });
        match name.as_str() {
            "VisibilityTimeout" => {
                config.visibility_timeout =
                    optional_seconds(&holder, name, 43_200)?.unwrap_or_default();
            }
            "DelaySeconds" => {
                config.delay = optional_seconds(&holder, name, 900)?.unwrap_or_default();
            }
            "ReceiveMessageWaitTimeSeconds" => {
                config.receive_wait = optional_seconds(&holder, name, 20)?.unwrap_or_default();
            }
            "MessageRetentionPeriod" => {
                let secs = optional_number(&holder, name, 60, 1_209_600)?;
                config.retention = Duration::from_secs(secs.unwrap_or(345_600));
            }
            "MaximumMessageSize" => {
                let size = optional_number(&holder, name, 1_024, 1_048_576)?;
                config.max_message_size = size
                    .and_then(|s| usize::try_from(s).ok())
                    .unwrap_or(262_144);
            }
            "RedrivePolicy" => config.redrive = redrive_policy(value)?,
            "FifoQueue" => {
                if value.as_str() == Some("true") {
                    return Err(SqsError::invalid_parameter(
                        "The fake SQS supports standard queues only (FifoQueue=true).",
                    ));
                }
            }
            other if IGNORED_QUEUE_ATTRIBUTES.contains(&other) => {}
            other => return Err(SqsError::invalid_attribute_name(other)),
        }
    }
    Ok(config)
}

/// `RedrivePolicy`: a JSON string `{"deadLetterTargetArn": "...", "maxReceiveCount": n}`
/// (the count may be a number or a numeric string); an empty string clears it.
fn redrive_policy(value: &Value) -> Result<Option<RedrivePolicy>, SqsError> {
    let text = value.as_str().unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(None);
    }
    let invalid = || {
        SqsError::invalid_parameter(format!(
            "Value {text} for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount (1 to 1000)."
        ))
    };
    let policy: Value = serde_json::from_str(text).map_err(|_| invalid())?;
    let arn = policy
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .filter(|arn| arn.starts_with("arn:") && arn.split(':').count() == 6)
        .ok_or_else(invalid)?;
    let count = optional_number(&policy, "maxReceiveCount", 1, 1_000)
        .map_err(|_| invalid())?
        .ok_or_else(invalid)?;
    Ok(Some(RedrivePolicy {
        dead_letter_target_arn: arn.to_string(),
        max_receive_count: u32::try_from(count).map_err(|_| invalid())?,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn queue_attributes_parse_with_string_numbers_and_redrive_json() -> anyhow::Result<()> {
        let request = json!({"Attributes": {
            "VisibilityTimeout": "5",
            "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\",\"maxReceiveCount\":\"3\"}"
        }});
        let config = queue_config(&request)?;
        assert_eq!(config.visibility_timeout, Duration::from_secs(5));
        let redrive = config.redrive.expect("redrive parsed");
        assert_eq!((redrive.dlq_name(), redrive.max_receive_count), ("dlq", 3));
        let bad = json!({"Attributes": {"VisibilityTimeout": "99999"}});
        assert!(queue_config(&bad).is_err());
        let unknown = json!({"Attributes": {"Colour": "blue"}});
        assert_eq!(
            queue_config(&unknown).map_err(|e| e.short_type().to_string()),
            Err("InvalidAttributeName".to_string())
        );
        Ok(())
    }

    #[test]
    fn message_attributes_need_a_type_and_a_value() -> anyhow::Result<()> {
        let good = json!({"MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": "high"},
            "blob": {"DataType": "Binary", "BinaryValue": "aGk="}
        }});
        let parsed = message_attributes(&good)?;
        assert_eq!(parsed["severity"].string.as_deref(), Some("high"));
        assert_eq!(parsed["blob"].binary.as_deref(), Some(&b"hi"[..]));
        for bad in [
            json!({"MessageAttributes": {"a": {"StringValue": "x"}}}),
            json!({"MessageAttributes": {"a": {"DataType": "Date", "StringValue": "x"}}}),
            json!({"MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}}}),
        ] {
            assert!(message_attributes(&bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn batches_are_bounded_and_ids_distinct() {
        let entry = |id: &str| json!({"Id": id, "ReceiptHandle": "h"});
        let too_many: Vec<Value> = (0..11).map(|i| entry(&i.to_string())).collect();
        let cases = [
            (json!({"Entries": []}), "EmptyBatchRequest"),
            (json!({"Entries": too_many}), "TooManyEntriesInBatchRequest"),
            (
                json!({"Entries": [entry("a"), entry("a")]}),
                "BatchEntryIdsNotDistinct",
            ),
        ];
        for (request, expected) in cases {
            let error = batch_entries(&request).map(|e| e.len());
            assert_eq!(
                error.map_err(|e| e.short_type().to_string()),
                Err(expected.into())
            );
        }
        assert!(batch_entries(&json!({"Entries": [entry("a"), entry("b")]})).is_ok());
        assert_eq!(
            optional_number(&json!({"N": "7"}), "N", 1, 10)
                .ok()
                .flatten(),
            Some(7)
        );
    }
}

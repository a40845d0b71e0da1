//! Recognising the SNS JSON envelope around a message, and content ids for raw bodies.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::lenient::{opt_string, opt_value, value_to_text};
use super::timestamp::parse_aws_time;

/// The fields of an SNS envelope this crate uses. Signature fields (`SigningCertURL` or the
/// Lambda spelling `SigningCertUrl`, `UnsubscribeURL`/`UnsubscribeUrl`, …) are accepted and
/// ignored: SQS access is already authenticated.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawEnvelope {
    #[serde(rename = "Type", default, deserialize_with = "opt_string")]
    message_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    message_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    topic_arn: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    subject: Option<String>,
    #[serde(default, deserialize_with = "opt_value")]
    message: Option<Value>,
    #[serde(default, deserialize_with = "opt_string")]
    timestamp: Option<String>,
    #[serde(default, deserialize_with = "opt_value")]
    message_attributes: Option<Value>,
}

/// An SNS envelope, unpacked.
#[derive(Debug)]
pub(crate) struct SnsEnvelope {
    pub(crate) message_type: String,
    pub(crate) message_id: String,
    pub(crate) topic_arn: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) message: String,
    pub(crate) published_at: Option<OffsetDateTime>,
    pub(crate) attributes: BTreeMap<String, String>,
}

/// Reads `body` as an SNS envelope: a JSON object with `Type`, `MessageId` and `Message`.
/// Returns `None` for anything else, which is then treated as a raw-delivery message.
pub(crate) fn parse_sns_envelope(body: &str) -> Option<SnsEnvelope> {
    let looks_like_envelope = body.contains("\"MessageId\"") && body.contains("\"Type\"");
    if !looks_like_envelope {
        return None;
    }
    let raw: RawEnvelope = serde_json::from_str(body).ok()?;
    let message = match raw.message? {
        Value::String(text) => text,
        // A publisher that put structured JSON in `Message` instead of a string.
        other => other.to_string(),
    };
    Some(SnsEnvelope {
        message_type: raw.message_type?,
        message_id: raw.message_id?,
        topic_arn: raw.topic_arn,
        subject: raw.subject,
        message,
        published_at: raw.timestamp.as_deref().and_then(parse_aws_time),
        attributes: raw
            .message_attributes
            .map(attribute_values)
            .unwrap_or_default(),
    })
}

/// `{"Name": {"Type": "String", "Value": "x"}}` → `{"Name": "x"}`. A bare value is also taken.
fn attribute_values(attributes: Value) -> BTreeMap<String, String> {
    let Value::Object(entries) = attributes else {
        return BTreeMap::new();
    };
    entries
        .into_iter()
        .map(|(name, attribute)| {
            let value = match &attribute {
                Value::Object(fields) => fields
                    .get("Value")
                    .or_else(|| fields.get("StringValue"))
                    .or_else(|| fields.get("value"))
                    .and_then(value_to_text),
                other => value_to_text(other),
            };
            (name, value.unwrap_or_default())
        })
        .collect()
}

/// `sha256:<hex>` of the body: a stable id for messages that carry none.
pub fn content_id(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let mut id = String::with_capacity(7 + digest.len() * 2);
    id.push_str("sha256:");
    for byte in digest {
        let _ = write!(id, "{byte:02x}");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_id_is_sha256_hex() {
        assert_eq!(
            content_id("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(content_id("abc"), content_id("abc"));
        assert_ne!(content_id("abc"), content_id("abd"));
    }

    #[test]
    fn envelope_requires_type_id_and_message() {
        let full = r#"{"Type":"Notification","MessageId":"m-1","Message":"hi","Subject":null,
            "MessageAttributes":{"team":{"Type":"String","Value":"core"},"n":{"Type":"Number","Value":"3"}}}"#;
        let envelope = parse_sns_envelope(full).expect("an envelope");
        assert_eq!(envelope.message, "hi");
        assert_eq!(envelope.subject, None);
        assert_eq!(
            envelope.attributes.get("team").map(String::as_str),
            Some("core")
        );
        assert_eq!(envelope.attributes.get("n").map(String::as_str), Some("3"));
        assert!(parse_sns_envelope(r#"{"Type":"Notification","MessageId":"m-1"}"#).is_none());
        assert!(parse_sns_envelope(r#"{"MessageId":"m-1","Message":"x"}"#).is_none());
        assert!(parse_sns_envelope(r#"["Type","MessageId"]"#).is_none());
    }

    #[test]
    fn structured_message_is_kept_as_json_text() {
        let body = r#"{"Type":"Notification","MessageId":"m-2","Message":{"a":1}}"#;
        assert_eq!(
            parse_sns_envelope(body).expect("an envelope").message,
            r#"{"a":1}"#
        );
    }
}

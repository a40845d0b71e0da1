//! ReceiveMessage: true long polling (answers as soon as a message is visible, or empty after
//! `WaitTimeSeconds`, or at shutdown), and the message shape with the attributes asked for.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::aws::digest::{md5_of_attributes, md5_of_body};
use crate::aws::error::SqsError;
use crate::aws::message_ops::MAX_VISIBILITY_SECS;
use crate::aws::model::StoredMessage;
use crate::aws::params::{optional_number, optional_seconds, required_str, string_list};
use crate::aws::protocol::Outcome;
use crate::aws::record::SqsTimelineKind as Kind;
use crate::aws::shared::Shared;
use crate::aws::store::queue_name_of;

/// Longest long poll SQS allows.
const MAX_WAIT_SECS: u64 = 20;
/// Upper bound on wake-ups of one long poll (each one is a state change or a timer).
const MAX_WAKEUPS: u32 = 100_000;
/// The `SenderId` the fake reports for every message.
const SENDER_ID: &str = "AIDASANDBOXSENDER0001";

pub(crate) async fn receive_message(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    let max = optional_number(request, "MaxNumberOfMessages", 1, 10)?.unwrap_or(1);
    let max = usize::try_from(max).unwrap_or(1);
    let visibility = optional_seconds(request, "VisibilityTimeout", MAX_VISIBILITY_SECS)?;
    let asked_wait = optional_seconds(request, "WaitTimeSeconds", MAX_WAIT_SECS)?;
    let queue_wait = shared.read(|state| {
        state
            .queue(url, Instant::now())
            .map(|q| q.config.receive_wait)
    })?;
    let wait = asked_wait.unwrap_or(queue_wait);
    let mut system_names = string_list(request, "AttributeNames");
    system_names.extend(string_list(request, "MessageSystemAttributeNames"));
    let attribute_names = string_list(request, "MessageAttributeNames");

    let started = Instant::now();
    let messages = wait_for_messages(shared, url, max, visibility, wait).await?;
    if !messages.is_empty() {
        let listed: Vec<String> = messages
            .iter()
            .map(|m| format!("{} (receive #{})", m.id, m.receive_count))
            .collect();
        shared.note(
            Kind::Receive,
            format!(
                "{} -> {} after {:.3}s: {}",
                queue_name_of(url),
                messages.len(),
                started.elapsed().as_secs_f64(),
                listed.join(", ")
            ),
        );
    }
    let ids = messages.iter().map(|m| m.id.clone()).collect();
    let shaped: Vec<Value> = messages
        .iter()
        .map(|m| shape(m, &system_names, &attribute_names))
        .collect();
    let body = if shaped.is_empty() {
        json!({})
    } else {
        json!({ "Messages": shaped })
    };
    Ok(Outcome::new(body).with_ids(ids))
}

/// Receives, waiting up to `wait` for a first message: wakes on sends, visibility changes and
/// the moment the next hidden message becomes visible; returns empty at the deadline or shutdown.
async fn wait_for_messages(
    shared: &Shared,
    url: &str,
    max: usize,
    visibility: Option<Duration>,
    wait: Duration,
) -> Result<Vec<StoredMessage>, SqsError> {
    let deadline = Instant::now() + wait;
    let mut arrivals = shared.arrivals.subscribe();
    let mut stop = shared.shutdown.subscribe();
    for _ in 0..MAX_WAKEUPS {
        arrivals.borrow_and_update();
        let now = Instant::now();
        let (messages, next_visible) = shared.with_state(|state| {
            let messages = state.receive(url, max, visibility, now)?;
            Ok::<_, SqsError>((messages, state.next_visible_at(url)))
        })?;
        if !messages.is_empty() || now >= deadline || shared.is_shutting_down() {
            return Ok(messages);
        }
        let wake = next_visible.map_or(deadline, |at| at.min(deadline));
        let sender_alive = tokio::select! {
            changed = arrivals.changed() => changed.is_ok(),
            () = tokio::time::sleep_until(wake) => true,
            () = stopped(&mut stop) => return Ok(Vec::new()),
        };
        if !sender_alive {
            tokio::time::sleep_until(wake).await;
        }
    }
    Ok(Vec::new())
}

/// Resolves once shutdown has been requested.
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Whether a message attribute name is selected by `MessageAttributeNames`
/// (`All`, `.*`, `prefix.*` or an exact name).
fn attribute_selected(name: &str, selectors: &[String]) -> bool {
    selectors.iter().any(|selector| {
        selector == "All"
            || selector == ".*"
            || selector == name
            || selector
                .strip_suffix(".*")
                .is_some_and(|prefix| name.starts_with(&format!("{prefix}.")))
    })
}

/// One message as ReceiveMessage returns it.
fn shape(message: &StoredMessage, system_names: &[String], attribute_names: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(message.id));
    out.insert(
        "ReceiptHandle".into(),
        json!(message.receipt.clone().unwrap_or_default()),
    );
    out.insert("MD5OfBody".into(), json!(md5_of_body(&message.body)));
    out.insert("Body".into(), json!(message.body));

    let all = system_names.iter().any(|n| n == "All");
    let wanted = |name: &str| all || system_names.iter().any(|n| n == name);
    let mut system = Map::new();
    let first_receive = message
        .first_receive_epoch_ms
        .unwrap_or(message.sent_epoch_ms);
    let values = [
        ("SenderId", Some(SENDER_ID.to_string())),
        ("SentTimestamp", Some(message.sent_epoch_ms.to_string())),
        (
            "ApproximateReceiveCount",
            Some(message.receive_count.to_string()),
        ),
        (
            "ApproximateFirstReceiveTimestamp",
            Some(first_receive.to_string()),
        ),
        ("AWSTraceHeader", message.trace_header.clone()),
    ];
    for (name, value) in values {
        if let (true, Some(value)) = (wanted(name), value) {
            system.insert(name.into(), json!(value));
        }
    }
    if !system.is_empty() {
        out.insert("Attributes".into(), Value::Object(system));
    }

    let selected: std::collections::BTreeMap<_, _> = message
        .attributes
        .iter()
        .filter(|(name, _)| attribute_selected(name, attribute_names))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if let Some(md5) = md5_of_attributes(&selected) {
        out.insert("MD5OfMessageAttributes".into(), json!(md5));
        let attributes: Map<String, Value> = selected
            .iter()
            .map(|(name, value)| {
                let mut shaped = Map::new();
                shaped.insert("DataType".into(), json!(value.data_type));
                if let Some(text) = &value.string {
                    shaped.insert("StringValue".into(), json!(text));
                }
                if let Some(bytes) = &value.binary {
                    shaped.insert("BinaryValue".into(), json!(STANDARD.encode(bytes)));
                }
                (name.clone(), Value::Object(shaped))
            })
            .collect();
        out.insert("MessageAttributes".into(), Value::Object(attributes));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::aws::model::AttributeValue;

    #[test]
    fn attribute_selectors_follow_sqs_rules() {
        let all = vec!["All".to_string()];
        let prefix = vec!["alarm.*".to_string()];
        assert!(attribute_selected("anything", &all));
        assert!(attribute_selected("alarm.name", &prefix));
        assert!(!attribute_selected("alarmname", &prefix));
        assert!(!attribute_selected("x", &[]));
    }

    #[test]
    fn shape_includes_only_what_was_asked() {
        let mut message = StoredMessage::new(
            "m1".into(),
            "derp".into(),
            BTreeMap::from([("severity".to_string(), AttributeValue::string("high"))]),
            1_700_000_000_000,
            Instant::now(),
        );
        message.receive_count = 2;
        let bare = shape(&message, &[], &[]);
        assert_eq!(bare["MD5OfBody"], "58fd9edd83341c29f1aebba81c31e257");
        assert!(bare.get("Attributes").is_none() && bare.get("MessageAttributes").is_none());
        let full = shape(&message, &["All".into()], &["All".into()]);
        assert_eq!(full["Attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(full["Attributes"]["SentTimestamp"], "1700000000000");
        assert_eq!(full["MessageAttributes"]["severity"]["StringValue"], "high");
        let one = shape(&message, &["ApproximateReceiveCount".into()], &[]);
        assert_eq!(one["Attributes"].as_object().map(Map::len), Some(1));
    }
}

//! Message operations other than receiving: SendMessage(Batch), DeleteMessage(Batch) and
//! ChangeMessageVisibility(Batch). Batches answer 200 with per-entry `Successful` and `Failed`.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::aws::digest::{md5_of_attributes, md5_of_body};
use crate::aws::error::SqsError;
use crate::aws::params::{
    batch_entries, message_attributes, optional_seconds, required_str, trace_header,
};
use crate::aws::protocol::Outcome;
use crate::aws::record::SqsTimelineKind as Kind;
use crate::aws::shared::Shared;
use crate::aws::store::{queue_name_of, NewMessage};

/// Longest visibility timeout SQS allows (12 hours).
pub(crate) const MAX_VISIBILITY_SECS: u64 = 43_200;
/// Longest per-message delay SQS allows (15 minutes).
const MAX_DELAY_SECS: u64 = 900;

/// Reads one message to send (a SendMessage request or a SendMessageBatch entry).
fn new_message(request: &Value) -> Result<NewMessage, SqsError> {
    Ok(NewMessage {
        body: required_str(request, "MessageBody")?.to_string(),
        attributes: message_attributes(request)?,
        delay: optional_seconds(request, "DelaySeconds", MAX_DELAY_SECS)?,
        trace_header: trace_header(request),
    })
}

/// The digest fields SQS returns for a sent message.
fn sent_fields(id: &str, message: &NewMessage, out: &mut Map<String, Value>) {
    out.insert("MessageId".into(), json!(id));
    out.insert("MD5OfMessageBody".into(), json!(md5_of_body(&message.body)));
    if let Some(md5) = md5_of_attributes(&message.attributes) {
        out.insert("MD5OfMessageAttributes".into(), json!(md5));
    }
}

fn failed_entry(id: &str, error: &SqsError) -> Value {
    json!({
        "Id": id,
        "SenderFault": error.status < 500,
        "Code": error.code(),
        "Message": error.message,
    })
}

pub(crate) fn send_message(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    let message = new_message(request)?;
    let stored = shared.with_state(|state| state.send(url, message.clone(), Instant::now()))?;
    let mut out = Map::new();
    sent_fields(&stored.id, &message, &mut out);
    Ok(Outcome::new(Value::Object(out)).with_ids(vec![stored.id]))
}

pub(crate) fn send_message_batch(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    shared.read(|state| state.queue(url, Instant::now()).map(|_| ()))?;
    let entries = batch_entries(request)?;
    let (mut successful, mut failed, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for (id, entry) in entries {
        let sent = new_message(entry).and_then(|message| {
            let stored =
                shared.with_state(|state| state.send(url, message.clone(), Instant::now()))?;
            Ok((stored.id, message))
        });
        match sent {
            Ok((message_id, message)) => {
                let mut out = Map::new();
                out.insert("Id".into(), json!(id));
                sent_fields(&message_id, &message, &mut out);
                successful.push(Value::Object(out));
                ids.push(message_id);
            }
            Err(error) => failed.push(failed_entry(&id, &error)),
        }
    }
    Ok(Outcome::new(json!({ "Successful": successful, "Failed": failed })).with_ids(ids))
}

pub(crate) fn delete_message(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    let handle = required_str(request, "ReceiptHandle")?;
    let deleted = shared.with_state(|state| state.delete(url, handle, Instant::now()))?;
    let name = queue_name_of(url);
    let ids: Vec<String> = deleted.into_iter().collect();
    let text = match ids.first() {
        Some(id) => format!("{name} {id} deleted"),
        None => format!("{name} delete repeated for an already deleted message"),
    };
    shared.note(Kind::Delete, text);
    Ok(Outcome::new(json!({})).with_ids(ids))
}

pub(crate) fn delete_message_batch(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    shared.read(|state| state.queue(url, Instant::now()).map(|_| ()))?;
    let entries = batch_entries(request)?;
    let (mut successful, mut failed, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for (id, entry) in entries {
        let result = required_str(entry, "ReceiptHandle").and_then(|handle| {
            if shared.faults.take_delete_entry_failure() {
                shared.note(
                    Kind::Fault,
                    format!("DeleteMessageBatch entry {id} failed on purpose"),
                );
                return Err(SqsError::receipt_handle_is_invalid(handle));
            }
            shared.with_state(|state| state.delete(url, handle, Instant::now()))
        });
        match result {
            Ok(deleted) => {
                successful.push(json!({ "Id": id }));
                ids.extend(deleted);
            }
            Err(error) => failed.push(failed_entry(&id, &error)),
        }
    }
    shared.note(
        Kind::Delete,
        format!(
            "{} batch: {} deleted {ids:?}, {} failed",
            queue_name_of(url),
            successful.len(),
            failed.len()
        ),
    );
    Ok(Outcome::new(json!({ "Successful": successful, "Failed": failed })).with_ids(ids))
}

fn visibility_timeout(request: &Value) -> Result<Duration, SqsError> {
    optional_seconds(request, "VisibilityTimeout", MAX_VISIBILITY_SECS)?
        .ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))
}

pub(crate) fn change_message_visibility(
    shared: &Shared,
    request: &Value,
) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    let handle = required_str(request, "ReceiptHandle")?;
    let timeout = visibility_timeout(request)?;
    let id =
        shared.with_state(|state| state.change_visibility(url, handle, timeout, Instant::now()))?;
    Ok(Outcome::new(json!({})).with_ids(vec![id]))
}

pub(crate) fn change_message_visibility_batch(
    shared: &Shared,
    request: &Value,
) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    shared.read(|state| state.queue(url, Instant::now()).map(|_| ()))?;
    let entries = batch_entries(request)?;
    let (mut successful, mut failed, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for (id, entry) in entries {
        let result = required_str(entry, "ReceiptHandle").and_then(|handle| {
            let timeout = visibility_timeout(entry)?;
            shared.with_state(|state| state.change_visibility(url, handle, timeout, Instant::now()))
        });
        match result {
            Ok(message_id) => {
                successful.push(json!({ "Id": id }));
                ids.push(message_id);
            }
            Err(error) => failed.push(failed_entry(&id, &error)),
        }
    }
    Ok(Outcome::new(json!({ "Successful": successful, "Failed": failed })).with_ids(ids))
}

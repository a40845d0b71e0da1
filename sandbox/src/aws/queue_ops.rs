//! Queue-level operations: CreateQueue, GetQueueUrl, GetQueueAttributes, ListQueues, PurgeQueue.

use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::aws::error::SqsError;
use crate::aws::params::{queue_config, required_str, string_list};
use crate::aws::protocol::Outcome;
use crate::aws::record::SqsTimelineKind as Kind;
use crate::aws::shared::Shared;
use crate::aws::store::queue_name_of;

/// Every attribute GetQueueAttributes can return, in the order `All` lists them.
const QUEUE_ATTRIBUTES: [&str; 11] = [
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
];

pub(crate) fn create_queue(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let name = required_str(request, "QueueName")?;
    let config = queue_config(request)?;
    let url = shared.with_state(|state| state.create_queue(name, config))?;
    Ok(Outcome::new(json!({ "QueueUrl": url })))
}

pub(crate) fn get_queue_url(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let name = required_str(request, "QueueName")?;
    let url = shared.read(|state| {
        state
            .queue(name, Instant::now())
            .map(|queue| queue.url.clone())
    })?;
    shared.note(Kind::ApiCall, format!("GetQueueUrl {name} -> {url}"));
    Ok(Outcome::new(json!({ "QueueUrl": url })))
}

pub(crate) fn list_queues(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let prefix = request
        .get("QueueNamePrefix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut urls: Vec<(String, String)> = shared
        .read(|state| state.urls())
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .collect();
    urls.sort();
    let urls: Vec<String> = urls.into_iter().map(|(_, url)| url).collect();
    Ok(Outcome::new(json!({ "QueueUrls": urls })))
}

pub(crate) fn get_queue_attributes(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    let mut wanted = string_list(request, "AttributeNames");
    if wanted.iter().any(|name| name == "All") {
        wanted = QUEUE_ATTRIBUTES.iter().map(|s| s.to_string()).collect();
        wanted.push("RedrivePolicy".into());
    }
    let attributes = shared.read(|state| -> Result<Map<String, Value>, SqsError> {
        let queue = state.queue(url, Instant::now())?;
        let counts = queue.counts();
        let config = &queue.config;
        let mut out = Map::new();
        for name in &wanted {
            let value = match name.as_str() {
                "QueueArn" => queue.arn.clone(),
                "ApproximateNumberOfMessages" => counts.visible.to_string(),
                "ApproximateNumberOfMessagesNotVisible" => counts.in_flight.to_string(),
                "ApproximateNumberOfMessagesDelayed" => counts.delayed.to_string(),
                "CreatedTimestamp" | "LastModifiedTimestamp" => queue.created_epoch_s.to_string(),
                "VisibilityTimeout" => config.visibility_timeout.as_secs().to_string(),
                "MaximumMessageSize" => config.max_message_size.to_string(),
                "MessageRetentionPeriod" => config.retention.as_secs().to_string(),
                "DelaySeconds" => config.delay.as_secs().to_string(),
                "ReceiveMessageWaitTimeSeconds" => config.receive_wait.as_secs().to_string(),
                "RedrivePolicy" => match &config.redrive {
                    Some(policy) => json!({
                        "deadLetterTargetArn": policy.dead_letter_target_arn,
                        "maxReceiveCount": policy.max_receive_count,
                    })
                    .to_string(),
                    None => continue,
                },
                other => return Err(SqsError::invalid_attribute_name(other)),
            };
            out.insert(name.clone(), Value::String(value));
        }
        Ok(out)
    })?;
    shared.note(
        Kind::ApiCall,
        format!(
            "GetQueueAttributes {} -> {}",
            queue_name_of(url),
            Value::Object(attributes.clone())
        ),
    );
    Ok(Outcome::new(json!({ "Attributes": attributes })))
}

pub(crate) fn purge_queue(shared: &Shared, request: &Value) -> Result<Outcome, SqsError> {
    let url = required_str(request, "QueueUrl")?;
    shared.with_state(|state| state.purge(url, Instant::now()))?;
    Ok(Outcome::new(json!({})))
}

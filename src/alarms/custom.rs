//! AWS Chatbot custom notifications (`{"version":"1.0","source":"custom","content":{…}}`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::lenient::{opt_bool, opt_string, string_list, string_map};
use super::other_events::CustomNotification;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCustom {
    #[serde(default, deserialize_with = "opt_string")]
    version: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    id: Option<String>,
    content: RawContent,
    #[serde(default)]
    metadata: Option<RawMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawContent {
    #[serde(default, deserialize_with = "opt_string")]
    text_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    next_steps: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    keywords: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    #[serde(default, deserialize_with = "opt_string")]
    thread_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    event_type: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    related_resources: Vec<String>,
    #[serde(default, deserialize_with = "string_map")]
    additional_context: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "opt_bool")]
    enable_custom_actions: Option<bool>,
}

/// True when the object declares `"source": "custom"` and has a `content` object.
pub(crate) fn is_custom(object: &serde_json::Map<String, Value>) -> bool {
    object.get("source").and_then(Value::as_str) == Some("custom")
        && object.get("content").is_some_and(Value::is_object)
}

/// Parses a custom notification. `None` when it has neither a title nor a description.
pub(crate) fn parse(value: &Value) -> Option<CustomNotification> {
    let raw = RawCustom::deserialize(value).ok()?;
    if raw.content.title.is_none() && raw.content.description.is_none() {
        return None;
    }
    let metadata = raw.metadata.unwrap_or_default();
    Some(CustomNotification {
        id: raw.id,
        version: raw.version,
        text_type: raw.content.text_type,
        title: raw.content.title,
        description: raw.content.description.unwrap_or_default(),
        next_steps: raw.content.next_steps,
        keywords: raw.content.keywords,
        thread_id: metadata.thread_id,
        summary: metadata.summary,
        event_type: metadata.event_type,
        related_resources: metadata.related_resources,
        additional_context: metadata.additional_context,
        enable_custom_actions: metadata.enable_custom_actions,
    })
}

//! CloudTrail records: "AWS API Call via CloudTrail" EventBridge events, or a bare record.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::eventbridge::EventFrame;
use super::lenient::{opt_bool, opt_string, opt_value, value_to_text};
use super::other_events::{ApiCallEvent, CallerIdentity};
use super::timestamp::parse_aws_time;

/// Nesting depth and entry count kept when flattening `requestParameters`.
const MAX_REQUEST_DEPTH: usize = 4;
const MAX_REQUEST_ENTRIES: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default, deserialize_with = "opt_string")]
    event_source: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    event_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    event_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    event_time: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    aws_region: Option<String>,
    #[serde(rename = "sourceIPAddress", default, deserialize_with = "opt_string")]
    source_ip_address: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    user_agent: Option<String>,
    #[serde(default)]
    user_identity: Option<UserIdentity>,
    #[serde(default, deserialize_with = "opt_value")]
    request_parameters: Option<Value>,
    #[serde(default, deserialize_with = "opt_value")]
    resources: Option<Value>,
    #[serde(default, deserialize_with = "opt_string")]
    error_code: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    error_message: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    read_only: Option<bool>,
    #[serde(rename = "eventID", default, deserialize_with = "opt_string")]
    event_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    recipient_account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    #[serde(rename = "type", default, deserialize_with = "opt_string")]
    identity_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    principal_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    arn: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    user_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    invoked_by: Option<String>,
    #[serde(default)]
    session_context: Option<SessionContext>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    #[serde(default)]
    session_issuer: Option<SessionIssuer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    #[serde(default, deserialize_with = "opt_string")]
    arn: Option<String>,
}

/// True for a bare CloudTrail record (not wrapped in an EventBridge event).
pub(crate) fn is_bare_record(object: &serde_json::Map<String, Value>) -> bool {
    object.contains_key("eventVersion")
        && object.contains_key("eventSource")
        && object.contains_key("eventName")
}

/// The EventBridge "… via CloudTrail" event: the record is the `detail`.
pub(crate) fn parse_detail(frame: &EventFrame) -> Option<ApiCallEvent> {
    let mut call = parse_record(&frame.detail)?;
    if let Some(account) = &frame.account {
        call.account = account.clone();
    }
    if let Some(region) = &frame.region {
        call.region = region.clone();
    }
    call.at = call.at.or(frame.time);
    for resource in &frame.resources {
        if !call.resources.contains(resource) {
            call.resources.push(resource.clone());
        }
    }
    Some(call)
}

/// A CloudTrail record. `None` without an event source and name.
pub(crate) fn parse_record(value: &Value) -> Option<ApiCallEvent> {
    let record = Record::deserialize(value).ok()?;
    let identity = record.user_identity;
    let account = record
        .recipient_account_id
        .or_else(|| {
            identity
                .as_ref()
                .and_then(|identity| identity.account_id.clone())
        })
        .unwrap_or_default();
    let mut request = BTreeMap::new();
    if let Some(parameters) = &record.request_parameters {
        flatten(parameters, String::new(), 0, &mut request);
    }
    Some(ApiCallEvent {
        event_source: record.event_source?,
        event_name: record.event_name?,
        event_type: record.event_type,
        identity: identity.map(caller_identity).unwrap_or_default(),
        source_ip: record.source_ip_address,
        user_agent: record.user_agent,
        request,
        resources: record
            .resources
            .as_ref()
            .map(resource_arns)
            .unwrap_or_default(),
        account,
        region: record.aws_region.unwrap_or_default(),
        at: record.event_time.as_deref().and_then(parse_aws_time),
        error_code: record.error_code,
        error_message: record.error_message,
        read_only: record.read_only,
        event_id: record.event_id,
    })
}

fn caller_identity(identity: UserIdentity) -> CallerIdentity {
    CallerIdentity {
        identity_type: identity
            .identity_type
            .unwrap_or_else(|| "Unknown".to_string()),
        arn: identity.arn,
        principal_id: identity.principal_id,
        account_id: identity.account_id,
        user_name: identity.user_name,
        session_issuer: identity
            .session_context
            .and_then(|context| context.session_issuer)
            .and_then(|issuer| issuer.arn),
        invoked_by: identity.invoked_by,
    }
}

/// Record `resources` are `[{"ARN": "…", "type": "…"}]`; plain strings are taken as ARNs.
fn resource_arns(resources: &Value) -> Vec<String> {
    let Value::Array(items) = resources else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::Object(fields) => fields
                .get("ARN")
                .or_else(|| fields.get("arn"))
                .and_then(value_to_text),
            other => value_to_text(other),
        })
        .collect()
}

/// Flattens request parameters into `a.b[0].c = value`, bounded in depth and entry count.
fn flatten(value: &Value, path: String, depth: usize, out: &mut BTreeMap<String, String>) {
    if out.len() >= MAX_REQUEST_ENTRIES {
        return;
    }
    let descend = depth < MAX_REQUEST_DEPTH;
    match value {
        Value::Object(fields) if descend && !fields.is_empty() => {
            for (key, child) in fields {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(child, child_path, depth + 1, out);
            }
        }
        Value::Array(items) if descend && !items.is_empty() => {
            for (index, child) in items.iter().enumerate() {
                flatten(child, format!("{path}[{index}]"), depth + 1, out);
            }
        }
        Value::String(text) => {
            out.insert(path, text.clone());
        }
        Value::Null => {
            out.insert(path, "null".to_string());
        }
        other => {
            out.insert(path, other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_parameters_are_flattened() {
        let mut out = BTreeMap::new();
        let params = json!({
            "bucketName": "b",
            "delete": {"objects": [{"key": "k1"}, {"key": "k2"}], "quiet": true},
            "empty": {},
            "tags": []
        });
        flatten(&params, String::new(), 0, &mut out);
        let flat: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            flat,
            vec![
                ("bucketName", "b"),
                ("delete.objects[0].key", "k1"),
                ("delete.objects[1].key", "k2"),
                ("delete.quiet", "true"),
                ("empty", "{}"),
                ("tags", "[]"),
            ]
        );
    }

    #[test]
    fn flattening_is_bounded() {
        let wide: serde_json::Map<String, Value> =
            (0..500).map(|i| (format!("k{i:03}"), json!(i))).collect();
        let mut out = BTreeMap::new();
        flatten(&Value::Object(wide), String::new(), 0, &mut out);
        assert_eq!(out.len(), MAX_REQUEST_ENTRIES);

        let deep = json!({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}});
        let mut out = BTreeMap::new();
        flatten(&deep, String::new(), 0, &mut out);
        assert_eq!(
            out.get("a.b.c.d").map(String::as_str),
            Some(r#"{"e":{"f":1}}"#)
        );
    }
}

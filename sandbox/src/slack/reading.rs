//! Reading history back: `conversations.history` and `conversations.replies`, paged, with metadata on request.

use serde_json::{json, Map, Value};

use crate::slack::messages::{str_param, StoredMessage};
use crate::slack::state::Shared;
use crate::slack::timeline::lock;

type Params = Map<String, Value>;

/// Slack's default page size, and its largest.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// `conversations.history`: the channel's top-level messages (thread replies are not listed),
/// newest first.
pub(crate) fn history(
    shared: &Shared,
    channel: String,
    params: &Params,
) -> Result<Value, &'static str> {
    let mut messages: Vec<StoredMessage> = lock(&shared.messages)
        .channel(&channel, false)
        .into_iter()
        .filter(|m| m.thread_ts.is_none() || m.thread_ts.as_deref() == Some(m.ts.as_str()))
        .collect();
    messages.sort_by_key(|m| std::cmp::Reverse(ts_micros(&m.ts)));
    let (page, next_cursor) = page(messages, params)?;
    let messages: Vec<Value> = page.iter().map(|m| render(m, params)).collect();
    Ok(
        json!({"ok": true, "messages": messages, "has_more": !next_cursor.is_empty(),
        "pin_count": 0, "response_metadata": {"next_cursor": next_cursor}}),
    )
}

/// `conversations.replies`: the thread's root (if within the window) and its replies, oldest
/// first.
pub(crate) fn replies(
    shared: &Shared,
    channel: String,
    params: &Params,
) -> Result<Value, &'static str> {
    let ts = str_param(params, "ts").ok_or("thread_not_found")?;
    let thread = lock(&shared.messages).thread(&channel, &ts);
    if thread.is_empty() {
        return Err("thread_not_found");
    }
    let reply_count = thread.iter().filter(|m| m.ts != ts).count();
    let (page, next_cursor) = page(thread, params)?;
    let messages: Vec<Value> = page
        .iter()
        .map(|message| {
            let mut body = render(message, params);
            if message.ts == ts {
                body["thread_ts"] = json!(ts);
                body["reply_count"] = json!(reply_count);
            }
            body
        })
        .collect();
    Ok(
        json!({"ok": true, "messages": messages, "has_more": !next_cursor.is_empty(),
        "response_metadata": {"next_cursor": next_cursor}}),
    )
}

/// A message as listed: `metadata` only with `include_all_metadata=true`, as Slack does.
fn render(message: &StoredMessage, params: &Params) -> Value {
    let mut body = message.to_json();
    if !flag(params, "include_all_metadata") {
        if let Value::Object(map) = &mut body {
            map.remove("metadata");
        }
    }
    body
}

/// The messages within `oldest`/`latest` (exclusive unless `inclusive`), from the `cursor` on, at
/// most `limit` of them, and the cursor of the next page ("" on the last).
fn page(
    messages: Vec<StoredMessage>,
    params: &Params,
) -> Result<(Vec<StoredMessage>, String), &'static str> {
    let inclusive = flag(params, "inclusive");
    let bound = |key: &str| -> Result<Option<u64>, &'static str> {
        match str_param(params, key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(ts) => parse_ts(&ts).map(Some).ok_or("invalid_ts_oldest"),
        }
    };
    let (oldest, latest) = (bound("oldest")?, bound("latest")?);
    let within = |m: &StoredMessage| {
        let at = ts_micros(&m.ts);
        let after = oldest.is_none_or(|o| at > o || (inclusive && at == o));
        let before = latest.is_none_or(|l| at < l || (inclusive && at == l));
        after && before
    };
    let limit = match str_param(params, "limit").filter(|v| !v.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(limit) => limit
            .parse::<usize>()
            .map_err(|_| "invalid_limit")?
            .clamp(1, MAX_LIMIT),
    };
    let skip = match str_param(params, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => cursor
            .strip_prefix("sbx-offset:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or("invalid_cursor")?,
    };
    let matching: Vec<StoredMessage> = messages.into_iter().filter(within).collect();
    let next = skip + limit;
    let next_cursor = if next < matching.len() {
        format!("sbx-offset:{next}")
    } else {
        String::new()
    };
    let page = matching.into_iter().skip(skip).take(limit).collect();
    Ok((page, next_cursor))
}

fn flag(params: &Params, key: &str) -> bool {
    matches!(params.get(key), Some(Value::Bool(true)))
        || str_param(params, key).is_some_and(|v| v == "true" || v == "1")
}

/// `1700000000.000123` as microseconds.
fn parse_ts(ts: &str) -> Option<u64> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: u64 = secs.parse().ok()?;
    let digits = micros.get(..micros.len().min(6))?;
    let micros: u64 = format!("{digits:0<6}").parse().ok()?;
    Some(secs * 1_000_000 + micros)
}

fn ts_micros(ts: &str) -> u64 {
    parse_ts(ts).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(ts: &str, thread_ts: Option<&str>) -> StoredMessage {
        let params = json!({"text": ts, "thread_ts": thread_ts,
            "metadata": {"event_type": "chatops_post", "event_payload": {"id": ts}}});
        StoredMessage::from_post("C1", ts.into(), params.as_object().unwrap())
    }

    fn params(value: Value) -> Params {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn pages_respect_oldest_limit_and_cursor() {
        let all: Vec<StoredMessage> = (1..=5)
            .map(|i| message(&format!("1700000000.00000{i}"), None))
            .collect();
        let (first, cursor) = page(
            all.clone(),
            &params(json!({"oldest": "1700000000.000001", "limit": "2"})),
        )
        .unwrap();
        assert_eq!(
            first.iter().map(|m| m.ts.as_str()).collect::<Vec<_>>(),
            ["1700000000.000002", "1700000000.000003"],
            "oldest is exclusive"
        );
        let (rest, end) = page(
            all,
            &params(json!({"oldest": "1700000000.000001", "limit": "2", "cursor": cursor})),
        )
        .unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].ts, "1700000000.000004");
        assert!(end.is_empty(), "the last page");
        assert_eq!(parse_ts("1700000000.5"), Some(1_700_000_000_500_000));
    }

    #[test]
    fn metadata_is_listed_only_when_asked_for() {
        let m = message("1700000000.000001", None);
        assert!(render(&m, &params(json!({}))).get("metadata").is_none());
        let listed = render(&m, &params(json!({"include_all_metadata": "true"})));
        assert_eq!(
            listed["metadata"]["event_payload"]["id"],
            "1700000000.000001"
        );
    }
}

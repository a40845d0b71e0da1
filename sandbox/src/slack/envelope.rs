//! The `Envelope` type: one Socket Mode text frame to send, usually a JSON envelope.

use serde_json::Value;

use crate::slack::record::abbreviate;

/// Base of the `response_url`s the builders write; `FakeSlack::send` rewrites it to the fake's
/// own `hooks_url()`, so the URLs a client receives point at the running fake.
pub const HOOKS_PLACEHOLDER: &str = "https://hooks.sandbox.slack.test/";

/// One frame to push to a Socket Mode client.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    body: EnvelopeBody,
}

#[derive(Debug, Clone, PartialEq)]
enum EnvelopeBody {
    Json(Value),
    Garbage(String),
}

impl Envelope {
    /// Any JSON value, sent as it is (after `response_url` placeholder rewriting).
    pub fn raw(value: Value) -> Self {
        Envelope {
            body: EnvelopeBody::Json(value),
        }
    }

    /// Arbitrary text sent as a text frame, for malformed-frame tests.
    pub fn garbage(text: impl Into<String>) -> Self {
        Envelope {
            body: EnvelopeBody::Garbage(text.into()),
        }
    }

    /// The JSON value, unless this is a garbage frame.
    pub fn json(&self) -> Option<&Value> {
        match &self.body {
            EnvelopeBody::Json(value) => Some(value),
            EnvelopeBody::Garbage(_) => None,
        }
    }

    /// Mutable access to the JSON value, to tweak a built envelope before sending it.
    pub fn json_mut(&mut self) -> Option<&mut Value> {
        match &mut self.body {
            EnvelopeBody::Json(value) => Some(value),
            EnvelopeBody::Garbage(_) => None,
        }
    }

    /// `envelope_id`, if the frame has one.
    pub fn envelope_id(&self) -> Option<&str> {
        self.json()?.get("envelope_id")?.as_str()
    }

    /// Envelope `type`: `events_api`, `interactive`, `slash_commands`, …
    pub fn kind(&self) -> Option<&str> {
        self.json()?.get("type")?.as_str()
    }

    /// `payload.event_id` (events_api envelopes).
    pub fn event_id(&self) -> Option<&str> {
        self.json()?.pointer("/payload/event_id")?.as_str()
    }

    /// `retry_attempt` (0 when absent).
    pub fn retry_attempt(&self) -> u32 {
        self.json()
            .and_then(|v| v.get("retry_attempt"))
            .and_then(Value::as_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// `accepts_response_payload` (false when absent).
    pub fn accepts_response_payload(&self) -> bool {
        self.json()
            .and_then(|v| v.get("accepts_response_payload"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The frame text as written to the socket.
    pub fn to_text(&self) -> String {
        match &self.body {
            EnvelopeBody::Json(value) => value.to_string(),
            EnvelopeBody::Garbage(text) => text.clone(),
        }
    }

    /// A one-line description for the timeline: type, inner type and a short text.
    pub fn summary(&self) -> String {
        let Some(value) = self.json() else {
            return format!("garbage {:?}", abbreviate(&self.to_text(), 40));
        };
        let kind = self.kind().unwrap_or("?");
        let inner = value
            .pointer("/payload/event/type")
            .or_else(|| value.pointer("/payload/type"))
            .or_else(|| value.pointer("/payload/command"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let text = value
            .pointer("/payload/event/text")
            .or_else(|| value.pointer("/payload/text"))
            .or_else(|| value.pointer("/payload/actions/0/action_id"))
            .or_else(|| value.pointer("/payload/view/callback_id"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut line = format!("{kind} {inner}");
        if !text.is_empty() {
            line.push_str(&format!(" {:?}", abbreviate(text, 60)));
        }
        if self.retry_attempt() > 0 {
            line.push_str(&format!(" (retry {})", self.retry_attempt()));
        }
        line
    }

    /// Replaces the builders' placeholder base in `response_url` fields with `base`.
    pub(crate) fn rewrite_hooks_base(&mut self, base: &str) {
        if let Some(value) = self.json_mut() {
            rewrite_urls(value, base, 0);
        }
    }

    /// Sets `retry_attempt`/`retry_reason` and, optionally, a new envelope id (for redelivery).
    pub(crate) fn mark_retry(&mut self, attempt: u32, new_envelope_id: Option<String>) {
        if let Some(Value::Object(map)) = self.json_mut() {
            map.insert("retry_attempt".into(), Value::from(attempt));
            map.insert("retry_reason".into(), Value::from("timeout"));
            if let Some(id) = new_envelope_id {
                map.insert("envelope_id".into(), Value::from(id));
            }
        }
    }
}

/// Walks at most a few levels deep: response URLs sit at `payload.response_url` and
/// `payload.response_urls[].response_url`.
fn rewrite_urls(value: &mut Value, base: &str, depth: usize) {
    if depth > 4 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if key == "response_url" {
                    if let Some(url) = field.as_str() {
                        if let Some(rest) = url.strip_prefix(HOOKS_PLACEHOLDER) {
                            *field = Value::from(format!("{base}{rest}"));
                        }
                    }
                } else {
                    rewrite_urls(field, base, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_urls(item, base, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_urls_are_rewritten_to_the_given_base() {
        let mut envelope = Envelope::raw(json!({
            "payload": {
                "response_url": format!("{HOOKS_PLACEHOLDER}actions/T/1/x"),
                "response_urls": [{"response_url": format!("{HOOKS_PLACEHOLDER}views/2")}],
                "other": "https://example.test/keep"
            }
        }));
        envelope.rewrite_hooks_base("http://127.0.0.1:9/hooks/");
        let value = envelope.json().expect("json envelope");
        assert_eq!(
            value["payload"]["response_url"],
            "http://127.0.0.1:9/hooks/actions/T/1/x"
        );
        assert_eq!(
            value["payload"]["response_urls"][0]["response_url"],
            "http://127.0.0.1:9/hooks/views/2"
        );
        assert_eq!(value["payload"]["other"], "https://example.test/keep");
    }

    #[test]
    fn garbage_is_sent_verbatim() {
        let envelope = Envelope::garbage("{not json");
        assert_eq!(envelope.to_text(), "{not json");
        assert_eq!(envelope.envelope_id(), None);
        assert!(envelope.summary().starts_with("garbage"));
    }
}

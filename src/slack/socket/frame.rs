//! Socket Mode wire frames: what Slack sends over the WebSocket, parsed just enough to ack.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One text frame from Slack, parsed only as deep as the ack path needs.
#[derive(Debug)]
pub enum Frame {
    Hello { num_connections: Option<u32> },
    Disconnect { reason: DisconnectReason },
    Envelope(RawEnvelope),
}

/// Why Slack asks us to go away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The connection will be recycled soon; reconnect at leisure.
    Warning,
    /// Slack wants this connection replaced now.
    RefreshRequested,
    /// Too many connections for this app (the cap is 10, half-open ones count).
    TooManyWebsockets,
    /// Socket Mode was turned off for the app: fatal.
    LinkDisabled,
    Other(String),
}

impl DisconnectReason {
    fn parse(reason: &str) -> Self {
        match reason {
            "warning" => Self::Warning,
            "refresh_requested" => Self::RefreshRequested,
            "too_many_websockets" => Self::TooManyWebsockets,
            "link_disabled" => Self::LinkDisabled,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Warning => "warning",
            Self::RefreshRequested => "refresh_requested",
            Self::TooManyWebsockets => "too_many_websockets",
            Self::LinkDisabled => "link_disabled",
            Self::Other(s) => s,
        }
    }
}

/// An envelope whose payload is still raw JSON: parsing it happens off the ack path.
#[derive(Debug, Deserialize)]
pub struct RawEnvelope {
    pub envelope_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: Option<Box<RawValue>>,
    #[serde(default)]
    pub accepts_response_payload: bool,
    #[serde(default)]
    pub retry_attempt: u32,
    #[serde(default)]
    pub retry_reason: Option<String>,
}

/// A frame that is not valid Socket Mode JSON; its envelope id is kept if one could be found.
#[derive(Debug, thiserror::Error)]
#[error("malformed Socket Mode frame ({len} bytes): {reason}")]
pub struct MalformedFrame {
    pub envelope_id: Option<String>,
    pub len: usize,
    pub reason: String,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    envelope_id: Option<std::borrow::Cow<'a, str>>,
    num_connections: Option<u32>,
    #[serde(borrow)]
    reason: Option<std::borrow::Cow<'a, str>>,
}

impl Frame {
    /// Parse one text frame. Pure; errors carry the envelope id when there is one so it can be acked.
    pub fn parse(text: &str) -> Result<Frame, MalformedFrame> {
        let malformed = |envelope_id: Option<String>, reason: String| MalformedFrame {
            envelope_id,
            len: text.len(),
            reason,
        };
        if text.contains("\"envelope_id\"") {
            return match serde_json::from_str::<RawEnvelope>(text) {
                Ok(envelope) => Ok(Frame::Envelope(envelope)),
                Err(e) => Err(malformed(salvage_envelope_id(text), e.to_string())),
            };
        }
        let probe: Probe =
            serde_json::from_str(text).map_err(|e| malformed(None, e.to_string()))?;
        match probe.kind.as_deref() {
            Some("hello") => Ok(Frame::Hello {
                num_connections: probe.num_connections,
            }),
            Some("disconnect") => Ok(Frame::Disconnect {
                reason: DisconnectReason::parse(probe.reason.as_deref().unwrap_or("")),
            }),
            other => Err(malformed(
                probe.envelope_id.map(|c| c.into_owned()),
                format!("unexpected frame type {other:?}"),
            )),
        }
    }
}

/// Find `"envelope_id":"…"` in text that is not valid JSON, so that even a broken frame is acked.
fn salvage_envelope_id(text: &str) -> Option<String> {
    let after_key = &text[text.find("\"envelope_id\"")? + "\"envelope_id\"".len()..];
    let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = after_colon.strip_prefix('"')?;
    let end = value.find('"')?;
    let id = &value[..end];
    let plausible = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plausible.then(|| id.to_owned())
}

/// The ack frame for an envelope: `{"envelope_id":"…"}`.
pub fn ack_frame(envelope_id: &str) -> String {
    // Envelope ids are ASCII (validated by serde as a JSON string); escape anyway.
    let mut out = String::with_capacity(envelope_id.len() + 18);
    out.push_str("{\"envelope_id\":");
    out.push_str(&serde_json::to_string(envelope_id).unwrap_or_else(|_| "\"\"".into()));
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hello_disconnect_and_envelope() {
        let hello = r#"{"type":"hello","num_connections":2,"debug_info":{"host":"a"},"connection_info":{"app_id":"A1"}}"#;
        assert!(matches!(
            Frame::parse(hello),
            Ok(Frame::Hello {
                num_connections: Some(2)
            })
        ));
        let d = r#"{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"a"}}"#;
        match Frame::parse(d) {
            Ok(Frame::Disconnect { reason }) => {
                assert_eq!(reason, DisconnectReason::RefreshRequested)
            }
            other => panic!("{other:?}"),
        }
        let e = r#"{"envelope_id":"e-1","type":"events_api","payload":{"event_id":"Ev1"},"accepts_response_payload":false,"retry_attempt":2,"retry_reason":"timeout"}"#;
        match Frame::parse(e) {
            Ok(Frame::Envelope(env)) => {
                assert_eq!(env.envelope_id, "e-1");
                assert_eq!(env.retry_attempt, 2);
                assert_eq!(env.retry_reason.as_deref(), Some("timeout"));
                assert_eq!(env.payload.unwrap().get(), r#"{"event_id":"Ev1"}"#);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn broken_frames_keep_their_envelope_id_for_the_ack() {
        let err = Frame::parse(r#"{"envelope_id": "abc-123", "type": "events_api", "payload": {"#)
            .unwrap_err();
        assert_eq!(err.envelope_id.as_deref(), Some("abc-123"));
        let err = Frame::parse("not json at all").unwrap_err();
        assert_eq!(err.envelope_id, None);
        let err = Frame::parse(r#"{"type":"surprise"}"#).unwrap_err();
        assert!(err.reason.contains("surprise"));
    }

    #[test]
    fn ack_frame_is_valid_json() {
        let v: serde_json::Value = serde_json::from_str(&ack_frame("x\"y")).unwrap();
        assert_eq!(v["envelope_id"], "x\"y");
    }
}

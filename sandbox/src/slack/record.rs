//! Plain records of what the fake Slack saw: API calls, acks, connections, frames and rejections.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Identifies one Socket Mode WebSocket connection accepted by the fake (`conn-1`, `conn-2`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// Which credential an HTTP request presented (the token itself is never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// No `Authorization` header and no `token` field.
    Missing,
    /// The configured bot token (`xoxb-…`).
    Bot,
    /// The configured app-level token (`xapp-…`).
    App,
    /// Some other token.
    Unknown,
    /// A bot or app-level token rotated away (`FakeSlack::rotate_bot_token`).
    Revoked,
}

/// One HTTP request to the fake, Web API or response_url hook.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// Position in arrival order, starting at 1.
    pub seq: u64,
    /// The Web API method (`chat.postMessage`), or `hooks` for a response_url POST.
    pub method: String,
    /// The request path, e.g. `/api/chat.postMessage` or `/hooks/commands/T0SANDBOX/7/x`.
    pub path: String,
    /// `GET` or `POST`.
    pub http_method: String,
    /// Parsed parameters: a JSON object (form fields become string values; `blocks`,
    /// `attachments` and `metadata` given as JSON strings are parsed). The `token` field is removed.
    /// A hook body that is not JSON or a form is kept as a JSON string.
    pub params: Value,
    /// Which credential the request carried.
    pub auth: AuthKind,
    /// When the request arrived.
    pub at: Instant,
    /// HTTP status of the response; 0 when the connection was dropped without an answer
    /// (`HttpFault::ResponseLost`).
    pub status: u16,
    /// The JSON response body (`Value::Null` when the response was not JSON); for a lost answer,
    /// what would have been answered.
    pub response: Value,
}

impl ApiCall {
    /// A top-level string parameter, if present.
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(Value::as_str)
    }

    /// Whether the response said `"ok": true`.
    pub fn ok(&self) -> bool {
        self.response.get("ok").and_then(Value::as_bool) == Some(true)
    }

    /// The `error` field of the response, if any.
    pub fn error(&self) -> Option<&str> {
        self.response.get("error").and_then(Value::as_str)
    }
}

/// One acknowledgement frame read from a client.
#[derive(Debug, Clone)]
pub struct AckRecord {
    /// The acknowledged envelope id.
    pub envelope_id: String,
    /// The connection the ack arrived on.
    pub conn: ConnId,
    /// The optional `payload` riding along with the ack.
    pub payload: Option<Value>,
    /// From just before the envelope frame was written to the moment the ack was read.
    /// `None` when the envelope id was unknown or had already been acked.
    pub latency: Option<Duration>,
    /// When the ack was read.
    pub received_at: Instant,
    /// `payload.event_id` of the acked envelope, for `events_api` envelopes.
    pub event_id: Option<String>,
    /// `retry_attempt` of the acked delivery (0 for the first delivery).
    pub retry_attempt: u32,
}

/// How a Socket Mode connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The client sent a close frame (the fake answered it).
    ClientClosed {
        /// Close code from the client's frame, if it had one.
        code: Option<u16>,
        /// Close reason from the client's frame.
        reason: String,
    },
    /// The TCP stream ended (or was reset) without a close handshake.
    ClientEof,
    /// The fake closed it with a close frame (after a `disconnect`, or its grace period).
    ServerClosed {
        /// Why the fake closed it.
        reason: String,
    },
    /// `FakeSlack::abort`: the fake dropped the TCP stream without a close frame.
    ServerAborted,
    /// Reading failed with a protocol error other than an abrupt EOF.
    ReadError(String),
    /// Writing failed.
    WriteError(String),
    /// The fake was shut down.
    Shutdown,
}

/// Where a connection stands, from the fake's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Handshake done, hello not yet written.
    Opening,
    /// Hello written; receives envelopes.
    Live,
    /// A `warning`/`refresh_requested` disconnect was sent; no new envelopes, closes after the grace.
    Draining,
    /// `FakeSlack::stall`: neither read nor written any more, TCP still open.
    Stalled,
    /// Gone.
    Closed,
}

impl ConnectionState {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            ConnectionState::Opening => 0,
            ConnectionState::Live => 1,
            ConnectionState::Draining => 2,
            ConnectionState::Stalled => 3,
            ConnectionState::Closed => 4,
        }
    }

    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => ConnectionState::Opening,
            1 => ConnectionState::Live,
            2 => ConnectionState::Draining,
            3 => ConnectionState::Stalled,
            _ => ConnectionState::Closed,
        }
    }
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameDirection {
    /// Written by the fake.
    ToClient,
    /// Read from the client.
    FromClient,
}

/// WebSocket frame type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Text frame (JSON, or garbage in malformed tests).
    Text,
    /// Binary frame.
    Binary,
    /// Ping.
    Ping,
    /// Pong.
    Pong,
    /// Close (summary holds `code reason`).
    Close,
}

/// One frame on a connection, with an abbreviated body.
#[derive(Debug, Clone)]
pub struct FrameRecord {
    /// When it was written (just before) or read.
    pub at: Instant,
    /// Which way it went.
    pub direction: FrameDirection,
    /// Frame type.
    pub kind: FrameKind,
    /// The first ~120 characters of the body (close frames: `code reason`).
    pub summary: String,
}

/// The life of one Socket Mode connection.
#[derive(Debug, Clone)]
pub struct ConnectionRecord {
    /// The connection.
    pub id: ConnId,
    /// When the WebSocket handshake completed.
    pub opened_at: Instant,
    /// When hello was written.
    pub hello_at: Option<Instant>,
    /// When the connection ended.
    pub closed_at: Option<Instant>,
    /// How it ended (`None` while open).
    pub end: Option<ConnectionEnd>,
    /// Current state.
    pub state: ConnectionState,
    /// Reason of the `disconnect` message the fake sent, if any.
    pub disconnect_reason: Option<String>,
    /// Every frame, in order.
    pub frames: Vec<FrameRecord>,
}

impl ConnectionRecord {
    /// Frames of one kind going one way.
    pub fn frames_of(&self, direction: FrameDirection, kind: FrameKind) -> Vec<&FrameRecord> {
        self.frames
            .iter()
            .filter(|f| f.direction == direction && f.kind == kind)
            .collect()
    }
}

/// A client frame the fake could not understand as an ack.
#[derive(Debug, Clone)]
pub struct MalformedFrame {
    /// The connection it arrived on.
    pub conn: ConnId,
    /// When it was read.
    pub at: Instant,
    /// The frame body (abbreviated to 2,000 characters; binary frames as a length note).
    pub text: String,
    /// What was wrong with it.
    pub problem: String,
}

/// A WebSocket handshake the fake refused.
#[derive(Debug, Clone)]
pub struct HandshakeRejection {
    /// When it was refused.
    pub at: Instant,
    /// The request path without the query.
    pub path: String,
    /// The HTTP status answered.
    pub status: u16,
    /// Why.
    pub reason: String,
}

/// The first `max` characters of `text`, with `…` appended when something was cut.
pub(crate) fn abbreviate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviate_cuts_on_char_boundaries() {
        assert_eq!(abbreviate("héllo wörld", 4), "héll…");
        assert_eq!(abbreviate("short", 10), "short");
    }

    #[test]
    fn state_round_trips_through_u8() {
        for state in [
            ConnectionState::Opening,
            ConnectionState::Live,
            ConnectionState::Draining,
            ConnectionState::Stalled,
            ConnectionState::Closed,
        ] {
            assert_eq!(ConnectionState::from_u8(state.to_u8()), state);
        }
    }
}

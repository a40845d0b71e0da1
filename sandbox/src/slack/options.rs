//! Settings of a fake Slack instance, with defaults that match real Slack where Slack has a number.

use std::time::Duration;

/// How the fake Slack behaves. `FakeSlackOptions::default()` is a good start.
#[derive(Debug, Clone)]
pub struct FakeSlackOptions {
    /// The app-level token `apps.connections.open` accepts (default `xapp-1-sandbox`).
    pub app_token: String,
    /// The bot token every other Web API method accepts (default `xoxb-sandbox`).
    pub bot_token: String,
    /// How often the fake pings each connection (default 10 s).
    pub ping_interval: Duration,
    /// Redelivery of unacked `events_api` envelopes (default off).
    pub redelivery: Option<Redelivery>,
    /// After a `warning`/`refresh_requested` disconnect, how long the fake waits for the client to
    /// close before closing itself (default 10 s).
    pub disconnect_grace: Duration,
    /// Open connections allowed at once; one more gets `too_many_websockets` (Slack: 10).
    pub max_connections: usize,
    /// Channels `chat.postMessage` accepts. `None` accepts any plausible id (`C…`, `G…`, `D…`,
    /// `U…` upper-case alphanumerics) or `#name`.
    pub known_channels: Option<Vec<String>>,
    /// Port for the HTTP Web API on 127.0.0.1 (0: any free port).
    pub api_port: u16,
    /// Port for the Socket Mode WebSocket listener on 127.0.0.1 (0: any free port).
    pub ws_port: u16,
    /// The host name written into the URLs the fake hands out: `api_url()`, the `ws://` URL of
    /// `apps.connections.open` and the `response_url`s (default `None`: 127.0.0.1). A name no
    /// resolver knows, such as `slack.sandbox.invalid`, lets a client reach the fake only through
    /// a proxy that maps it (`crate::proxy::TestProxy`), so nothing can go around the proxy.
    pub public_host: Option<String>,
    /// Whether those URLs say `https://` and `wss://` (default `false`: `http://`, `ws://`). The
    /// fake itself speaks plain HTTP: something in front must end the TLS, such as a
    /// `crate::proxy::TestProxy` that intercepts it, as a TLS-inspecting egress proxy does.
    pub public_tls: bool,
}

impl Default for FakeSlackOptions {
    fn default() -> Self {
        FakeSlackOptions {
            app_token: "xapp-1-sandbox".to_string(),
            bot_token: "xoxb-sandbox".to_string(),
            ping_interval: Duration::from_secs(10),
            redelivery: None,
            disconnect_grace: Duration::from_secs(10),
            max_connections: 10,
            known_channels: None,
            api_port: 0,
            ws_port: 0,
            public_host: None,
            public_tls: false,
        }
    }
}

/// Slack's retry of `events_api` envelopes that were not acked in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// How long to wait for an ack before re-sending (Slack: 3 s).
    pub after: Duration,
    /// How many times an envelope is re-sent at most (Slack: 3).
    pub max_attempts: u32,
    /// Whether a re-send keeps the envelope id (Slack does both); `payload.event_id` never changes.
    pub same_envelope_id: bool,
}

impl Redelivery {
    /// Slack's numbers: after 3 s, up to 3 attempts, a new envelope id each time.
    pub fn slack() -> Self {
        Redelivery {
            after: Duration::from_secs(3),
            max_attempts: 3,
            same_envelope_id: false,
        }
    }
}

impl Default for Redelivery {
    fn default() -> Self {
        Redelivery::slack()
    }
}

//! The `[slack.socket]` section: Socket Mode keep-alive, reconnect and shutdown timing.

use std::time::Duration;

use super::table::{any_duration, nonzero, show_duration, within, Table};

/// `[slack.socket]`: durations are written like "10s" or "500ms".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketConfig {
    /// How often the bot pings Slack on each connection.
    pub ping_interval: Duration,
    /// No pong within this after a ping → reconnect. Shorter than `ping_interval`.
    pub pong_timeout: Duration,
    /// Nothing at all from Slack (frame or ping) within this → reconnect.
    pub idle_timeout: Duration,
    /// Delay between opening successive connections.
    pub stagger: Duration,
    /// Most interaction handlers running at once, 1..=4096.
    pub max_handlers: usize,
    /// Most interactions waiting for a handler, 1..=100000. Past it, Events API deliveries are
    /// dropped (counted, logged) and interactive payloads are answered "busy".
    pub max_queued: usize,
    /// How long in-flight handlers may run after SIGTERM; zero stops them at once.
    pub shutdown_grace: Duration,
    /// How long to wait for the WebSocket close handshake.
    pub close_timeout: Duration,
    /// Cap on the reconnect backoff.
    pub backoff_max: Duration,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(10),
            pong_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            stagger: Duration::from_secs(1),
            max_handlers: 64,
            max_queued: 1000,
            shutdown_grace: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
        }
    }
}

impl SocketConfig {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let defaults = Self::default();
        let ping_interval = table
            .duration("ping_interval", nonzero)
            .or(defaults.ping_interval);
        let pong_timeout = table
            .duration("pong_timeout", nonzero)
            .or(defaults.pong_timeout);
        if let (Some(ping), Some(pong)) = (ping_interval, pong_timeout) {
            if pong >= ping {
                let message = format!(
                    "must be shorter than {} ({}), got {}",
                    table.key_path("ping_interval"),
                    show_duration(ping),
                    show_duration(pong)
                );
                table.report("pong_timeout", message);
            }
        }
        let idle_timeout = table
            .duration("idle_timeout", nonzero)
            .or(defaults.idle_timeout);
        let stagger = table.duration("stagger", any_duration).or(defaults.stagger);
        let max_handlers = table
            .integer("max_handlers", within(1..=4096))
            .or(defaults.max_handlers);
        let max_queued = table
            .integer("max_queued", within(1..=100_000))
            .or(defaults.max_queued);
        let shutdown_grace = table
            .duration("shutdown_grace", any_duration)
            .or(defaults.shutdown_grace);
        let close_timeout = table
            .duration("close_timeout", nonzero)
            .or(defaults.close_timeout);
        let backoff_max = table
            .duration("backoff_max", nonzero)
            .or(defaults.backoff_max);
        Some(Self {
            ping_interval: ping_interval?,
            pong_timeout: pong_timeout?,
            idle_timeout: idle_timeout?,
            stagger: stagger?,
            max_handlers: max_handlers?,
            max_queued: max_queued?,
            shutdown_grace: shutdown_grace?,
            close_timeout: close_timeout?,
            backoff_max: backoff_max?,
        })
    }
}

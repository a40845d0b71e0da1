//! Everything that knows Slack: Socket Mode, the wire format, Block Kit, the Web API, the manifest.

pub mod answer;
pub mod auth_watch;
pub mod blocks;
pub mod inbound;
pub mod interaction;
pub mod manifest;
pub mod markup;
pub mod message;
pub mod messenger;
pub mod pacing;
pub mod preflight;
pub mod socket;
pub mod thread;
pub mod time_text;
pub mod tls;

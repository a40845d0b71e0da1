//! Outside systems the handlers ask for help, one folder per system; integrations know nothing of Slack.
//!
//! Each folder holds a trait named for what the system does for us and the real implementation
//! beside it. Handlers get the trait from `Context` and turn its answers into Slack messages;
//! nothing in here uses the bot's Slack module or any Slack or WebSocket crate
//! (tests/architecture.rs checks).

pub mod aws_cli;
pub mod bedrock;
pub mod cloudwatch;
pub mod confluence;
pub mod github;

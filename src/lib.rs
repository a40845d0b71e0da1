//! chatops-bot: AWS alarms, AI analysis and GitHub deploys in Slack, over Socket Mode.

pub mod actions;
pub mod alarms;
pub mod app;
pub mod buttons;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod conversation;
pub mod deploys;
pub mod egress;
pub mod exit;
pub mod health;
pub mod integrations;
pub mod notify;
pub mod preflight;
pub mod reply;
pub mod reporting;
pub mod router;
pub mod secrets;
pub mod slack;
pub mod stats;
pub mod store;
pub mod systemd;
pub mod telemetry;
pub mod test_alarm;

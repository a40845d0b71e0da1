//! chatops-sandbox: local fakes of the services chatops-bot talks to, speaking the real protocols over loopback.

pub mod aws;
pub mod bedrock;
pub mod cli;
pub mod cloudwatch;
pub mod confluence;
pub mod github;
pub mod proxy;
pub mod secretsmanager;
mod serve;
pub mod slack;
pub mod sts;

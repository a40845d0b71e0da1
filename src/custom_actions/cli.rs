//! The AWS CLI runner actions go through. Until the `awscmd` branch lands its runner
//! (`integrations::aws_cli`), this is its interface, so the flow can be written against it.

use std::time::Duration;

use async_trait::async_trait;

/// One run of the CLI: the argv after `aws`, already checked, and the region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliRun {
    pub args: Vec<String>,
    pub region: String,
}

/// What the CLI printed and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliOutput {
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr: String,
    pub duration: Duration,
}

/// Why the CLI did not run to an end.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("the AWS CLI is not installed at {path}")]
    NotInstalled { path: String },
    #[error("the AWS CLI did not finish within {after:?}")]
    TimedOut { after: Duration },
    #[error("no credentials for the AWS CLI: {0}")]
    Credentials(String),
    #[error("the AWS CLI could not be started: {0}")]
    Spawn(String),
}

/// The AWS CLI v2 executable (with STS-assumed credentials).
#[async_trait]
pub trait AwsCli: Send + Sync + 'static {
    async fn run(&self, run: &CliRun) -> Result<CliOutput, CliError>;
}

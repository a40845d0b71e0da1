//! The AWS CLI v2 as an outside system: `AwsCli` runs one checked argv as the `[aws_commands]` role (`CliRunner`, with STS credentials from `credentials.rs`), and the pure checks every argv passes first (`command.rs`, `guardrails.rs`).
//!
//! Both `@bot aws …` and custom actions go through here: parse or build an [`AwsCommand`],
//! ask [`guardrails::permit`], then [`AwsCli::run`] its [`AwsCommand::argv`]. Nothing here
//! knows Slack.

pub mod command;
pub mod credentials;
pub mod guardrails;
mod output;
pub mod refusal;
pub mod runner;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

pub use command::AwsCommand;
pub use credentials::{RoleCredentials, StsRole, TemporaryCredentials};
pub use refusal::Refusal;
pub use runner::{cli_version, find_on_path, CliLimits, CliRunner};

/// Where to get AWS CLI v2, for the message shown when it is missing.
pub const INSTALL_URL: &str =
    "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html";

/// One run of the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliRun {
    /// The words after `aws`, already checked (`AwsCommand::argv`); the runner adds
    /// `--output json`.
    pub args: Vec<String>,
    /// `AWS_REGION` for the run.
    pub region: String,
    /// Who asked (a Slack user id); names the STS session (`chatops-bot-<user>`), so
    /// CloudTrail shows who ran it.
    pub user: String,
}

/// What a run printed and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliOutput {
    /// `None` when the process was ended by a signal.
    pub exit_code: Option<i32>,
    /// At most the runner's `stdout_cap` bytes; what came after was read and dropped.
    pub stdout: Vec<u8>,
    pub stdout_truncated: bool,
    /// Lossy UTF-8, at most the runner's `stderr_cap` bytes (the end kept).
    pub stderr: String,
    pub duration: Duration,
}

impl CliOutput {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Why a run did not happen or did not finish. Messages never hold credentials.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("the AWS CLI is not installed on the bot's machine{}; install AWS CLI v2 ({INSTALL_URL}) and set aws_commands.cli to its path, or put `aws` on the bot's PATH", match .path { Some(path) => format!(" (no executable at {})", path.display()), None => String::new() })]
    NotInstalled { path: Option<PathBuf> },
    #[error("the command was still running after {}s and was stopped", .after.as_secs())]
    TimedOut { after: Duration },
    #[error("could not assume the commands' IAM role (aws_commands.role_arn)")]
    Credentials(#[source] anyhow::Error),
    #[error("could not start the AWS CLI")]
    Spawn(#[source] std::io::Error),
}

impl CliError {
    /// A short, stable name for the audit record and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::NotInstalled { .. } => "not_installed",
            CliError::TimedOut { .. } => "timed_out",
            CliError::Credentials(_) => "credentials",
            CliError::Spawn(_) => "spawn",
        }
    }
}

/// Runs the AWS CLI: an argv vector, never a shell, in a clean environment holding only the
/// role's temporary credentials, the region and the proxy route.
#[async_trait]
pub trait AwsCli: Send + Sync + 'static {
    async fn run(&self, run: &CliRun) -> Result<CliOutput, CliError>;
}

//! `@bot aws …` as a flow in plain data: the channel's entry, the parse, the guardrails, the run (`integrations::aws_cli`), and the audit (store + one structured log line). The handler (`commands/aws.rs`) turns the `Outcome` into Slack replies.

pub mod audit;
pub mod reply;
pub mod wiring;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::AwsCommandsConfig;
use crate::integrations::aws_cli::{
    guardrails, AwsCli, AwsCommand, CliError, CliOutput, CliRun, Refusal,
};
use crate::store::aws_runs::{AwsRunLog, AwsRunOutcome, AwsRunRecord};
use crate::store::Blocking;

/// The typed text a refusal's audit entry keeps, at most.
const MAX_AUDITED_TEXT: usize = 2000;
/// AWS CLI processes running at once, at most (each is a Python process of its own); one more
/// is refused as busy rather than queued behind commands that may take their full timeout.
pub const MAX_CONCURRENT_RUNS: usize = 4;

/// Who asked, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asker {
    pub user: String,
    pub channel: String,
}

/// How one `@bot aws …` ended.
#[derive(Debug)]
pub enum Outcome {
    /// Not run; the reason is for the asker.
    Refused(Refusal),
    /// Run; the output may be long, truncated, or a failure's.
    Ran {
        command: AwsCommand,
        region: String,
        output: CliOutput,
    },
    /// Not finished: no CLI, a timeout, no credentials.
    Failed {
        command: AwsCommand,
        region: String,
        error: CliError,
    },
}

/// `[aws_commands]` at work: built once at start-up when the section is set.
pub struct AwsCommands {
    config: AwsCommandsConfig,
    cli: Arc<dyn AwsCli>,
    audit: Blocking<dyn AwsRunLog>,
    running: Arc<tokio::sync::Semaphore>,
}

impl AwsCommands {
    pub fn new(
        config: AwsCommandsConfig,
        cli: Arc<dyn AwsCli>,
        audit: Blocking<dyn AwsRunLog>,
    ) -> Self {
        Self {
            config,
            cli,
            audit,
            running: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_RUNS)),
        }
    }

    pub fn config(&self) -> &AwsCommandsConfig {
        &self.config
    }

    /// The runner, for custom actions (they check and audit through [`AwsCommands::record`]).
    pub fn cli(&self) -> &Arc<dyn AwsCli> {
        &self.cli
    }

    /// Runs `text` (what followed `aws`, Slack's markup already plain) for `asker`, if the
    /// channel is listed, the text is well-formed and the guardrails allow it; audits either way.
    pub async fn run_text(&self, asker: &Asker, text: &str) -> Outcome {
        match self.check(asker, text) {
            Ok(command) => self.run_checked(asker, command, None).await,
            Err(refusal) => {
                let typed: String = text.chars().take(MAX_AUDITED_TEXT).collect();
                self.refuse(asker, vec![typed], None, refusal).await
            }
        }
    }

    /// Runs a command the caller has already checked (a custom action: its argv built with
    /// `AwsCommand::from_words`, its own policy and approvals passed), under the same limit of
    /// runs at once, and audits it with the action's name. Busy: refused and audited.
    pub async fn run_checked(
        &self,
        asker: &Asker,
        command: AwsCommand,
        action: Option<&str>,
    ) -> Outcome {
        let Ok(_permit) = self.running.clone().try_acquire_owned() else {
            let busy = Refusal::Busy {
                running: MAX_CONCURRENT_RUNS,
            };
            return self.refuse(asker, command.argv(), action, busy).await;
        };
        let region = command.region().unwrap_or(&self.config.region).to_owned();
        let run = CliRun {
            args: command.argv(),
            region: region.clone(),
            user: asker.user.clone(),
        };
        let started = std::time::Instant::now();
        let result = self.cli.run(&run).await;
        let outcome = match &result {
            Ok(output) => AwsRunOutcome::Exited {
                exit_code: output.exit_code,
                duration: output.duration,
            },
            Err(error) => AwsRunOutcome::Failed {
                kind: error.kind().to_owned(),
                duration: started.elapsed(),
            },
        };
        self.record(AwsRunRecord {
            at: SystemTime::now(),
            user: asker.user.clone(),
            channel: asker.channel.clone(),
            argv: run.args,
            region: Some(region.clone()),
            action: action.map(str::to_owned),
            outcome,
        })
        .await;
        match result {
            Ok(output) => Outcome::Ran {
                command,
                region,
                output,
            },
            Err(error) => Outcome::Failed {
                command,
                region,
                error,
            },
        }
    }

    /// Audits a refusal and hands it back.
    async fn refuse(
        &self,
        asker: &Asker,
        argv: Vec<String>,
        action: Option<&str>,
        refusal: Refusal,
    ) -> Outcome {
        self.record(AwsRunRecord {
            at: SystemTime::now(),
            user: asker.user.clone(),
            channel: asker.channel.clone(),
            argv,
            region: None,
            action: action.map(str::to_owned),
            outcome: AwsRunOutcome::Refused {
                kind: refusal.kind().to_owned(),
                reason: refusal.to_string(),
            },
        })
        .await;
        Outcome::Refused(refusal)
    }

    /// The channel's entry, the parse and the guardrails, in that order.
    fn check(&self, asker: &Asker, text: &str) -> Result<AwsCommand, Refusal> {
        let channel = self
            .config
            .channel(&asker.channel)
            .ok_or(Refusal::ChannelNotEnabled)?;
        let command = AwsCommand::parse(text)?;
        guardrails::permit(&command, channel.allow.as_deref())?;
        Ok(command)
    }

    /// Audits one run or refusal: a row in the store and one structured log line. A failed
    /// write is logged, never raised (the run already happened).
    pub async fn record(&self, record: AwsRunRecord) {
        audit::record(&self.audit, record).await;
    }
}

/// Shown in replies: "1.2s".
pub fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

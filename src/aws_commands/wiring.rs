//! Start-up of `[aws_commands]`: the CLI found (the configured path, else `aws` on `PATH`), the role's STS credentials, the runner, the audit trail; and its retention.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::{error, info, warn};

use crate::config::Config;
use crate::integrations::aws_cli::{find_on_path, CliLimits, CliRunner, StsRole};
use crate::store::aws_runs::{AwsRunLog, AWS_RUN_RETENTION};
use crate::store::{Blocking, SqliteStore};

use super::AwsCommands;

/// Audit entries pruned per pass, at most.
const PRUNE_BATCH: usize = 500;

/// `@bot aws …` when `[aws_commands]` is set. A missing CLI is logged here and told to whoever
/// runs a command (with how to install it); the bot runs on.
pub fn build(config: &Config, store: &Arc<SqliteStore>) -> Option<Arc<AwsCommands>> {
    let section = config.aws_commands.as_ref()?;
    let cli = section
        .cli
        .clone()
        .or_else(|| find_on_path(std::env::var("PATH").ok().as_deref()));
    match &cli {
        Some(path) if path.is_file() => {
            info!(cli = %path.display(), role = %section.role_arn, channels = section.channels.len(), "AWS commands are on.")
        }
        Some(path) => {
            warn!(cli = %path.display(), "aws_commands.cli names no file; `@bot aws` will say how to install AWS CLI v2.")
        }
        None => warn!(
            "No `aws` executable on PATH and aws_commands.cli is not set; `@bot aws` will say how to install AWS CLI v2."
        ),
    }
    let role = StsRole::new(
        &section.role_arn,
        &section.region,
        section.sts_endpoint.clone(),
        config.proxy.clone(),
    );
    // HOME and TMPDIR of every run: private to the bot, empty of any AWS configuration.
    let home = std::env::temp_dir().join(format!("chatops-bot-aws-cli-{}", std::process::id()));
    let runner = CliRunner::new(
        cli,
        Arc::new(role),
        &config.proxy,
        home,
        CliLimits::with_timeout(section.timeout),
    );
    Some(Arc::new(AwsCommands::new(
        section.clone(),
        Arc::new(runner),
        Blocking::new(store.clone() as Arc<dyn AwsRunLog>),
    )))
}

/// Forgets audit entries older than [`AWS_RUN_RETENTION`], a batch at a time.
pub async fn prune(store: &Blocking<SqliteStore>) {
    let cutoff = SystemTime::now() - AWS_RUN_RETENTION;
    loop {
        match store
            .run(move |store| store.forget_aws_runs_before(cutoff, PRUNE_BATCH))
            .await
        {
            Ok(pruned) if pruned >= PRUNE_BATCH => continue,
            Ok(_) => return,
            Err(e) => {
                error!(
                    error = format!("{e:#}"),
                    "Failed to prune old AWS CLI runs."
                );
                return;
            }
        }
    }
}

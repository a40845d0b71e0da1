//! Starting custom actions from the config: the catalog (checked against the guardrails), the
//! AWS CLI runner of `[aws_commands]`, the store, and the expiry sweep.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::guard::Catalog;
use super::service::{sweep_loop, CustomActions, Settings};
use crate::config::{AwsCommandsConfig, Config, ConfigErrors};
use crate::integrations::aws_cli::{find_on_path, AwsCli, CliLimits, CliRunner, StsRole};
use crate::slack::messenger::Messenger;
use crate::store::actions::ActionStore;
use crate::store::Blocking;

/// The problems the guardrails find in `[[actions]]`, as a config error of `file`.
pub fn check(config: &Config, file: &str) -> Result<Catalog, ConfigErrors> {
    Catalog::new(&config.actions).map_err(|problems| ConfigErrors {
        file: file.to_owned(),
        problems,
    })
}

/// The AWS CLI runner of `[aws_commands]`: `aws_commands.cli`, else `aws` on `PATH`; the
/// role's STS credentials; HOME and TMPDIR in a private directory beside the store.
pub fn runner(config: &Config, commands: &AwsCommandsConfig) -> Arc<dyn AwsCli> {
    let cli = commands
        .cli
        .clone()
        .or_else(|| find_on_path(std::env::var("PATH").ok().as_deref()));
    let role = StsRole::new(
        &commands.role_arn,
        &commands.region,
        commands.sts_endpoint.clone(),
        config.proxy.clone(),
    );
    let home = config
        .store
        .path
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join("aws-cli-home");
    Arc::new(CliRunner::new(
        cli,
        Arc::new(role),
        &config.proxy,
        home,
        CliLimits::with_timeout(commands.timeout),
    ))
}

/// Custom actions when `[[actions]]` has any (loading made sure `[aws_commands]` is set), with
/// their expiry sweep running until `stop`.
pub fn start(
    config: &Config,
    cli: Option<Arc<dyn AwsCli>>,
    store: Blocking<dyn ActionStore>,
    slack: Arc<dyn Messenger>,
    stop: CancellationToken,
) -> anyhow::Result<Option<Arc<CustomActions>>> {
    let Some(commands) = config.aws_commands.as_ref().filter(|_| !config.actions.is_empty()) else {
        return Ok(None);
    };
    let catalog = check(config, "the configuration").map_err(|e| anyhow::anyhow!("{e}"))?;
    let cli = cli.unwrap_or_else(|| runner(config, commands));
    let settings = Settings {
        role_arn: Some(commands.role_arn.clone()),
        default_region: Some(commands.region.clone()),
    };
    let actions = Arc::new(CustomActions::new(catalog, cli, store, slack, settings));
    info!(actions = config.actions.len(), "Custom actions on.");
    tokio::spawn(sweep_loop(actions.clone(), stop));
    Ok(Some(actions))
}

/// `check`'s line on custom actions.
pub fn describe(config: &Config) -> String {
    if config.actions.is_empty() {
        return "Custom actions: none ([[actions]] is not set).".to_owned();
    }
    let names: Vec<String> = config
        .actions
        .iter()
        .map(|a| {
            let (service, operation) = a.service_operation();
            format!("{} (aws {service} {operation})", a.name)
        })
        .collect();
    format!("Custom actions: {}.", names.join(", "))
}

//! Starting custom actions from the config: the catalog (checked against the guardrails), the
//! AWS CLI runner and audit trail of `[aws_commands]` (`AwsCommands`), the store, the sweep.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::guard::Catalog;
use super::service::{CustomActions, Settings};
use super::sweep::sweep_loop;
use crate::aws_commands::AwsCommands;
use crate::config::{Config, ConfigErrors};
use crate::slack::messenger::Messenger;
use crate::store::actions::ActionStore;
use crate::store::{Blocking, SqliteStore};

/// The problems the guardrails find in `[[actions]]`, as a config error of `file`.
pub fn check(config: &Config, file: &str) -> Result<Catalog, ConfigErrors> {
    Catalog::new(&config.actions).map_err(|problems| ConfigErrors {
        file: file.to_owned(),
        problems,
    })
}

/// Custom actions when `[[actions]]` has any (loading made sure `[aws_commands]` is set), with
/// their expiry sweep running until `stop`.
pub fn start(
    config: &Config,
    aws: Option<Arc<AwsCommands>>,
    store: &Arc<SqliteStore>,
    slack: &Arc<dyn Messenger>,
    stop: &CancellationToken,
) -> anyhow::Result<Option<Arc<CustomActions>>> {
    let Some(aws) = aws.filter(|_| !config.actions.is_empty()) else {
        return Ok(None);
    };
    let catalog = check(config, "the configuration").map_err(|e| anyhow::anyhow!("{e}"))?;
    let settings = Settings {
        role_arn: Some(aws.config().role_arn.clone()),
        default_region: Some(aws.config().region.clone()),
    };
    let requests: Arc<dyn ActionStore> = store.clone();
    let actions = CustomActions::new(
        catalog,
        aws,
        Blocking::new(requests),
        slack.clone(),
        settings,
    );
    let actions = Arc::new(actions);
    info!(actions = config.actions.len(), "Custom actions on.");
    tokio::spawn(sweep_loop(actions.clone(), stop.clone()));
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

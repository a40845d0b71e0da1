//! `check --live` for `[aws_commands]`: the AWS CLI is there and is v2 (`aws --version`), and the role can be assumed (one AssumeRole, session `chatops-bot-check`). No rows when the section is absent.

use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::integrations::aws_cli::{
    cli_version, find_on_path, RoleCredentials, StsRole, INSTALL_URL,
};

use super::ProbeResult;

pub(super) const CLI: &str = "AWS CLI";
pub(super) const ROLE: &str = "AWS commands role";

/// Both rows, or none without `[aws_commands]`.
pub(super) async fn probe(config: &Config, limit: Duration) -> Vec<ProbeResult> {
    let Some(aws) = &config.aws_commands else {
        return Vec::new();
    };
    let path = std::env::var("PATH").ok();
    let cli = aws.cli.clone().or_else(|| find_on_path(path.as_deref()));
    let install = format!(
        "install AWS CLI v2 ({INSTALL_URL}) and set aws_commands.cli to it, or put `aws` on the bot's PATH"
    );
    let cli_row = match cli {
        None => ProbeResult::fail(
            CLI,
            "no `aws` on PATH and aws_commands.cli is not set",
            install,
        ),
        Some(cli) => match cli_version(&cli, limit).await {
            Ok(version) if version.starts_with("aws-cli/2.") => {
                ProbeResult::ok(CLI, format!("{}: {version}", cli.display()))
            }
            Ok(version) => ProbeResult::warn(
                CLI,
                format!("{}: {version}", cli.display()),
                Some(format!("AWS CLI v2 is expected; {install}")),
            ),
            Err(error) => ProbeResult::fail(CLI, format!("{}: {error}", cli.display()), install),
        },
    };
    let role = StsRole::new(
        &aws.role_arn,
        &aws.region,
        aws.sts_endpoint.clone(),
        config.proxy.clone(),
    );
    let role_row = match role.credentials("chatops-bot-check").await {
        Ok(credentials) => {
            let left = credentials
                .expires
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            ProbeResult::ok(
                ROLE,
                format!("assumed {} (a session lasts {} min)", aws.role_arn, left.as_secs() / 60),
            )
        }
        Err(error) => ProbeResult::fail(
            ROLE,
            format!("AssumeRole on {} failed: {error:#}", aws.role_arn),
            "let the bot's own identity call sts:AssumeRole on the role, and trust it in the role's trust policy (docs/aws-commands.md)",
        ),
    };
    vec![cli_row, role_row]
}

//! `/<prefix>-deploy`, `/<prefix>-status` and `/<prefix>-rollback`: the text is parsed against
//! `[deploy]` (a refusal shows the grammar), then handed to `Deploys`. The request's thread is
//! the answer; refusals are shown to the asker only.

use crate::commands::DeployCommandKind;
use crate::context::Context;
use crate::deploys::{parse_deploy, parse_rollback, parse_status, Ask, DeployCommand};
use crate::reply::{deploy_refusal_or_error, HandlerError, HandlerResult, Reply};
use crate::slack::interaction::SlashCommand;
use crate::slack::message::{Message, Mrkdwn};
use crate::store::deploys::DeployAction;

pub async fn slash(
    ctx: &Context,
    slash: &SlashCommand,
    kind: DeployCommandKind,
    text: &str,
) -> HandlerResult {
    let Some(deploys) = &ctx.deploys else {
        return Err(HandlerError::User(format!(
            "Deploys are off here: {} needs [deploy] and [github] in the bot's configuration (docs/deploy.md).",
            slash.command
        )));
    };
    let (config, names) = (deploys.config(), deploys.names());
    let parsed = match kind {
        DeployCommandKind::Deploy => parse_deploy(text, config, names),
        DeployCommandKind::Status => parse_status(text, config, names),
        DeployCommandKind::Rollback => parse_rollback(text, config, names),
    };
    let command = match parsed {
        Ok(command) => command,
        Err(refused) => {
            let mut reply = Mrkdwn::trusted(":warning: ");
            reply.push_escaped(&refused.problem.to_string());
            reply.push(&format!("\nUsage: {}", refused.usage));
            return Ok(Reply::Ephemeral(Message::markdown(reply)));
        }
    };
    let ask = |action, version, environment| Ask {
        action,
        version,
        environment,
        user: slash.user.clone(),
        channel: slash.channel.clone(),
    };
    let outcome = match command {
        DeployCommand::Help => Ok(Reply::Ephemeral(Message::markdown(Mrkdwn::trusted(
            crate::deploys::help_text(names, config),
        )))),
        DeployCommand::Deploy {
            version,
            environment,
        } => deploys
            .request(ask(DeployAction::Deploy, version, environment))
            .await
            .map(|_| Reply::Nothing),
        DeployCommand::Rollback { environment, to } => {
            match deploys.rollback_target(&environment, to).await {
                Ok(version) => deploys
                    .request(ask(DeployAction::Rollback, version, environment))
                    .await
                    .map(|_| Reply::Nothing),
                Err(e) => Err(e),
            }
        }
        DeployCommand::Status { environment } => deploys
            .status(environment.as_ref())
            .await
            .map(Reply::Ephemeral),
        DeployCommand::Audit { entries } => deploys
            .audit_trail(&slash.user.0, entries)
            .await
            .map(Reply::Ephemeral),
    };
    outcome.or_else(deploy_refusal_or_error)
}

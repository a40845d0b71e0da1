//! Where a rollback goes: the version asked for, or the last successful deployment before the
//! current one (the bot's own records first, then GitHub's deployments). Whatever it finds is
//! validated like typed text before it can reach GitHub.

use super::command::{EnvName, Version};
use super::service::{Ask, DeployError, Deploys};
use crate::integrations::github::DeploymentState;
use crate::slack::interaction::{ChannelId, UserId};
use crate::store::deploys::{DeployAction, DeployRequest};

/// How many GitHub deployments are read to find the previous successful version.
const DEPLOYMENTS_READ: u8 = 30;

impl Deploys {
    /// The version a rollback of `environment` goes to: `to` if given, else the previous one.
    pub async fn rollback_target(
        &self,
        environment: &EnvName,
        to: Option<Version>,
    ) -> Result<Version, DeployError> {
        if let Some(to) = to {
            return Ok(to);
        }
        let env = environment.as_str().to_owned();
        let ours = self.store.run(move |s| s.last_successes(&env)).await?;
        let previous = match ours.previous {
            Some(request) => Some(request.effective_version().to_owned()),
            None => self.previous_on_github(environment.as_str()).await?,
        };
        let Some(previous) = previous else {
            return Err(DeployError::Refused(format!(
                "I know of no successful deployment of {env} before the current one, so I cannot tell where to roll back to. Name the version: `{} {env} to v1.2.3`.",
                self.names.rollback,
                env = environment.as_str()
            )));
        };
        Version::parse(&previous, &self.config).map_err(|problem| {
            DeployError::Refused(format!(
                "The previous version of {} is `{}`, which I will not send ({problem}). Name the version to roll back to.",
                environment.as_str(),
                crate::slack::message::escape(&crate::slack::blocks::truncate(&previous, 60))
            ))
        })
    }

    /// The newest GitHub deployment that once succeeded (its latest status `success`, or
    /// `inactive`: GitHub marks an environment's earlier successes so when a new one succeeds)
    /// whose version differs from the current one's.
    async fn previous_on_github(&self, environment: &str) -> Result<Option<String>, DeployError> {
        let deployments = self
            .github
            .deployments(environment, DEPLOYMENTS_READ)
            .await?;
        let state = |d: &&crate::integrations::github::DeploymentRecord| {
            d.latest.as_ref().map(|s| s.state.clone())
        };
        let Some(current) = deployments
            .iter()
            .find(|d| state(d) == Some(DeploymentState::Success))
        else {
            return Ok(None);
        };
        Ok(deployments
            .iter()
            .filter(|d| d.created_at <= current.created_at && d.id != current.id)
            .find(|d| {
                matches!(
                    state(d),
                    Some(DeploymentState::Success | DeploymentState::Inactive)
                ) && d.version != current.version
            })
            .map(|d| d.version.clone()))
    }
}

impl Deploys {
    /// ⏪ Roll back on the alarm card at (`channel`, `card_ts`): the rollback its alarm offers
    /// now (found again from the card, never from the button), requested by `user` through the
    /// normal flow, its thread in the card's channel.
    pub async fn rollback_from_alarm(
        self: &std::sync::Arc<Self>,
        channel: &str,
        card_ts: &str,
        user: &UserId,
    ) -> Result<DeployRequest, DeployError> {
        let gone = || {
            DeployError::Refused("This alarm no longer points at a recent deploy (it is not firing, or the deploy is older than deploy.suspect_window). Use the rollback command if you still want one.".into())
        };
        let Some(firing) = &self.firing else {
            return Err(gone());
        };
        let link = firing.card_link(channel, card_ts).await?;
        let Some((route, since)) = link.and_then(|l| Some((l.route?, l.firing_since?))) else {
            return Err(gone());
        };
        let Some(offer) = self.suspects.offer(&route, since).await? else {
            return Err(gone());
        };
        let environment = EnvName::parse(&offer.environment, &self.config)
            .map_err(|problem| DeployError::Refused(problem.to_string()))?;
        let version = Version::parse(&offer.to_version, &self.config)
            .map_err(|problem| DeployError::Refused(problem.to_string()))?;
        self.request(Ask {
            action: DeployAction::Rollback,
            version,
            environment,
            user: user.clone(),
            channel: ChannelId(channel.to_owned()),
        })
        .await
    }
}

//! The rows of the sites the bot writes to: the Confluence space can be read, and the GitHub
//! repository can be read with the permissions a deploy dispatch needs (and the token's expiry).

use time::OffsetDateTime;

use super::ProbeResult;
use crate::config::{Config, ConfluenceFlavor, GitHubAuth};
use crate::integrations::confluence::{ConfluenceWiki, WikiError};
use crate::integrations::github::{DispatchSettings, GitHubDeploys, GitHubError, Permissions};

pub(super) const CONFLUENCE: &str = "Confluence space";
pub(super) const GITHUB: &str = "GitHub repository";
const GITHUB_TOKEN: &str = "GitHub token expiry";
pub(super) const HINT: &str = "check the site's URL in the config and the network path to it \
     (DNS, proxy, firewall)";

/// Below this, an expiring token is a warning.
const EXPIRY_WARNING_DAYS: i64 = 7;

/// The configured space, read as the bot's user.
pub(super) async fn confluence(config: &Config) -> Vec<ProbeResult> {
    let Some(confluence) = &config.confluence else {
        return vec![ProbeResult::not_configured("Confluence", "[confluence]")];
    };
    let wiki = match ConfluenceWiki::new(confluence) {
        Ok(wiki) => wiki,
        Err(error) => {
            return vec![ProbeResult::fail(
                CONFLUENCE,
                format!("{error:#}"),
                "fix [confluence] (see `chatops-bot check`)",
            )]
        }
    };
    let target = wiki.target();
    let key = &confluence.space_key;
    let row = match wiki.space_id().await {
        Ok(id) => ProbeResult::ok(
            CONFLUENCE,
            format!(
                "space {key} (id {id}) readable by {} at {}",
                target.who(),
                target.site
            ),
        ),
        Err(error) => {
            let fix = match &error {
                WikiError::Unauthorized { .. } => match confluence.flavor {
                    ConfluenceFlavor::Cloud => "check confluence.user (the Atlassian account's \
                         email) and confluence.api_token (an API token of that account)"
                        .to_owned(),
                    ConfluenceFlavor::DataCenter => "check confluence.api_token (a personal \
                         access token of the bot's user, not expired)"
                        .to_owned(),
                },
                WikiError::NotFound { .. } => format!(
                    "check confluence.space_key ({key}): the space must exist and {} must be \
                     allowed to view it",
                    target.who()
                ),
                WikiError::Forbidden { .. } => format!(
                    "give {} permission to view space {key} and add pages to it",
                    target.who()
                ),
                WikiError::Transport { .. } | WikiError::Timeout { .. } => format!(
                    "check confluence.base_url ({}) and the network path to it",
                    confluence.base_url
                ),
                _ => HINT.to_owned(),
            };
            ProbeResult::fail(CONFLUENCE, error.human_message(), fix)
        }
    };
    vec![row]
}

/// The repository, read with the configured token or App; the permissions GitHub states, and
/// whether the dispatch deploys send needs one that is missing.
pub(super) async fn github(config: &Config) -> Vec<ProbeResult> {
    let Some(github) = &config.github else {
        return vec![ProbeResult::not_configured("GitHub", "[github]")];
    };
    let settings = match &config.deploy {
        Some(deploy) => DispatchSettings {
            event_type: deploy.event_type.clone(),
            workflow: deploy.workflow.as_ref().map(|w| w.file.clone()),
            git_ref: deploy.workflow.as_ref().map(|w| w.git_ref.clone()),
        },
        None => DispatchSettings::default(),
    };
    let repo = format!("{}/{}", github.owner, github.repo);
    let app = matches!(github.auth, GitHubAuth::App { .. });
    let client = match GitHubDeploys::new(github, settings) {
        Ok(client) => client,
        Err(error) => {
            return vec![ProbeResult::fail(
                GITHUB,
                format!("{error:#}"),
                "fix [github] (see `chatops-bot check`)",
            )]
        }
    };
    let access = match client.repository_access().await {
        Ok(access) => access,
        Err(error) => {
            let fix = match &error {
                GitHubError::RepoNotFound { .. } if app => format!(
                    "check github.owner and github.repo ({repo}), and that the App's \
                     installation includes the repository"
                ),
                GitHubError::RepoNotFound { .. } => format!(
                    "check github.owner and github.repo ({repo}), and that the token may see \
                     it (a fine-grained token lists its repositories)"
                ),
                GitHubError::Unauthorized { .. } if app => "check github.app_id, \
                     github.private_key and github.installation_id"
                    .to_owned(),
                GitHubError::Unauthorized { .. } => {
                    "github.token is wrong, expired or revoked: make a new one".to_owned()
                }
                GitHubError::Forbidden { .. } => {
                    "give the token or App read access to the repository (Metadata: read)"
                        .to_owned()
                }
                _ => HINT.to_owned(),
            };
            return vec![ProbeResult::fail(GITHUB, error.human_message(), fix)];
        }
    };
    let mut detail = format!(
        "{} readable; permissions: {}",
        access.full_name,
        access.permissions.describe()
    );
    if let Some(scopes) = &access.oauth_scopes {
        detail.push_str(&format!("; token scopes: {scopes}"));
    }
    let mut rows = vec![match (&access.missing, &config.deploy) {
        (Some(missing), Some(_)) => {
            let fix = match access.permissions {
                Permissions::Installation(_) => format!(
                    "give the App {missing} in its settings, then accept the new permissions \
                     on the installation"
                ),
                _ => format!(
                    "give the token {missing} on {repo} (a classic token needs the repo scope)"
                ),
            };
            ProbeResult::fail(GITHUB, format!("{detail}; lacks {missing}"), fix)
        }
        (_, None) => ProbeResult::ok(
            GITHUB,
            format!("{detail} (deploys are off: [deploy] is absent)"),
        ),
        (None, Some(_)) => ProbeResult::ok(GITHUB, detail),
    }];
    if let Some(expires) = access.token_expires {
        rows.push(expiry_row(expires, OffsetDateTime::now_utc()));
    }
    rows
}

fn expiry_row(expires: OffsetDateTime, now: OffsetDateTime) -> ProbeResult {
    let date = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let shown = expires
        .to_offset(time::UtcOffset::UTC)
        .format(&date)
        .unwrap_or_else(|_| expires.to_string());
    let days = (expires - now).whole_days();
    if days < EXPIRY_WARNING_DAYS {
        ProbeResult::warn(
            GITHUB_TOKEN,
            format!("the token expires {shown} (in {days} day(s))"),
            Some("make a new token and put it in github.token before then".to_owned()),
        )
    } else {
        ProbeResult::ok(GITHUB_TOKEN, format!("expires {shown} (in {days} days)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::Status;

    #[test]
    fn a_token_expiring_within_a_week_is_a_warning() {
        let now = OffsetDateTime::from_unix_timestamp(1_786_695_354).unwrap();
        let soon = expiry_row(now + time::Duration::days(3), now);
        assert_eq!(soon.status, Status::Warn);
        assert_eq!(
            soon.detail,
            "the token expires 2026-08-17 08:15 UTC (in 3 day(s))"
        );
        let later = expiry_row(now + time::Duration::days(40), now);
        assert_eq!(later.status, Status::Ok);
    }
}

//! `check --live` against GitHub: the repository can be read (`GET /repos/{owner}/{repo}`), the
//! permissions GitHub states for the credentials, whether the dispatch the bot sends needs one
//! they visibly lack, and when the token expires.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::client::GitHubDeploys;
use super::error::GitHubError;
use super::http::Call;
use super::wire;

/// The permissions GitHub states for the bot's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permissions {
    /// A token: the repository's `permissions` (`admin`, `maintain`, `push`, `triage`, `pull`).
    Repository(BTreeMap<String, bool>),
    /// An App: the installation token's `permissions` (`contents` → `write`, …).
    Installation(BTreeMap<String, String>),
    /// GitHub did not say.
    NotStated,
}

/// What the bot may do with the repository, as GitHub tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoAccess {
    /// `owner/repo` as GitHub spells it.
    pub full_name: String,
    pub permissions: Permissions,
    /// The permission the configured dispatch needs that the stated permissions visibly lack,
    /// e.g. "Contents: write (repository_dispatch)".
    pub missing: Option<String>,
    /// When the token stops working (`github-authentication-token-expiration`), if it says.
    pub token_expires: Option<OffsetDateTime>,
    /// A classic token's scopes (`x-oauth-scopes`), if it is one.
    pub oauth_scopes: Option<String>,
}

impl Permissions {
    /// "push, pull" (the true ones) or "contents: write, metadata: read".
    pub fn describe(&self) -> String {
        match self {
            Self::Repository(rights) => {
                let held: Vec<&str> = rights
                    .iter()
                    .filter(|(_, held)| **held)
                    .map(|(name, _)| name.as_str())
                    .collect();
                if held.is_empty() {
                    "none".to_owned()
                } else {
                    held.join(", ")
                }
            }
            Self::Installation(rights) => rights
                .iter()
                .map(|(name, level)| format!("{name}: {level}"))
                .collect::<Vec<_>>()
                .join(", "),
            Self::NotStated => "not stated by GitHub".to_owned(),
        }
    }

    /// What a dispatch needs and these permissions visibly lack. repository_dispatch needs
    /// Contents: write, workflow_dispatch Actions: write; a token's repository rights only show
    /// whether it may write at all (`push`).
    fn missing_for(&self, workflow_dispatch: bool) -> Option<String> {
        let (name, label, event) = if workflow_dispatch {
            ("actions", "Actions", "workflow_dispatch")
        } else {
            ("contents", "Contents", "repository_dispatch")
        };
        match self {
            Self::Installation(rights) => match rights.get(name).map(String::as_str) {
                Some("write" | "admin") => None,
                _ => Some(format!("{label}: write ({event})")),
            },
            Self::Repository(rights) => match rights.get("push") {
                Some(false) => Some(format!("write access, {label}: write ({event})")),
                _ => None,
            },
            Self::NotStated => None,
        }
    }
}

impl GitHubDeploys {
    /// Reads the repository (`GET /repos/{owner}/{repo}`) with the configured credentials, and
    /// what they may do: a 404 is `RepoNotFound`, a refused token or App key `Unauthorized`.
    pub async fn repository_access(&self) -> Result<RepoAccess, GitHubError> {
        let answer = self.http.send(&Call::get(self.repo_path.clone())).await?;
        let repository: wire::Repository = wire::read_json(&answer.body)?;
        let permissions = match self.http.installation_permissions().await {
            Some(installation) => Permissions::Installation(installation),
            None => repository
                .permissions
                .map_or(Permissions::NotStated, Permissions::Repository),
        };
        let missing = permissions.missing_for(self.settings.workflow.is_some());
        Ok(RepoAccess {
            full_name: repository.full_name,
            permissions,
            missing,
            token_expires: answer
                .token
                .expiration
                .as_deref()
                .and_then(parse_expiration),
            oauth_scopes: answer.token.oauth_scopes,
        })
    }
}

/// GitHub's `2026-08-14 08:15:54 UTC` (or with a `-0700` offset).
fn parse_expiration(text: &str) -> Option<OffsetDateTime> {
    let (when, zone) = text.trim().rsplit_once(' ')?;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let when = time::PrimitiveDateTime::parse(when, &format).ok()?;
    let offset = if zone.eq_ignore_ascii_case("UTC") || zone == "Z" {
        time::UtcOffset::UTC
    } else {
        let offset = time::macros::format_description!("[offset_hour][offset_minute]");
        time::UtcOffset::parse(zone, &offset).ok()?
    };
    Some(when.assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expirations_read_in_utc_or_with_an_offset() {
        let utc = parse_expiration("2026-08-14 08:15:54 UTC").unwrap();
        assert_eq!(utc.unix_timestamp(), 1_786_695_354);
        let pacific = parse_expiration("2026-08-14 01:15:54 -0700").unwrap();
        assert_eq!(pacific, utc);
        assert_eq!(parse_expiration("next tuesday"), None);
    }

    #[test]
    fn a_dispatch_needs_write_on_contents_or_actions() {
        let app = |pairs: &[(&str, &str)]| {
            Permissions::Installation(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let reader = app(&[("actions", "read"), ("contents", "write")]);
        assert_eq!(reader.missing_for(false), None);
        assert_eq!(
            reader.missing_for(true).as_deref(),
            Some("Actions: write (workflow_dispatch)")
        );
        assert_eq!(reader.describe(), "actions: read, contents: write");
        let token = |push| {
            Permissions::Repository(
                [("pull".to_owned(), true), ("push".to_owned(), push)]
                    .into_iter()
                    .collect(),
            )
        };
        assert_eq!(token(true).missing_for(false), None);
        assert!(token(false)
            .missing_for(false)
            .unwrap()
            .contains("Contents"));
        assert_eq!(token(false).describe(), "pull");
        assert_eq!(Permissions::NotStated.missing_for(true), None);
    }
}

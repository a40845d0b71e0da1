//! The fake GitHub's repository and what the credentials may do with it: `GET /repos/{o}/{r}`
//! (with the `permissions` a user's token sees), the installation token's `permissions`, and the
//! `github-authentication-token-expiration` header of a token with an expiry date.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::github::record::AuthKind;
use crate::github::routes::Answer;
use crate::github::shared::State;
use crate::github::FakeGitHub;

/// What the credentials may do, as the fake states it.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    /// The personal access token may write (`permissions.push`).
    pub(crate) token_push: bool,
    /// The personal access token expires this long from each answer (`None`: no expiry).
    pub(crate) token_expires_in: Option<Duration>,
    /// What minted installation tokens may do.
    pub(crate) installation_permissions: BTreeMap<String, String>,
}

impl Default for Access {
    fn default() -> Self {
        let installation = [
            ("actions", "write"),
            ("contents", "write"),
            ("deployments", "read"),
            ("metadata", "read"),
        ];
        Self {
            token_push: true,
            token_expires_in: None,
            installation_permissions: installation
                .iter()
                .map(|(name, level)| (name.to_string(), level.to_string()))
                .collect(),
        }
    }
}

/// `GET /repos/{o}/{r}`: the repository; a user's token also sees its `permissions`.
pub(crate) fn repository(state: &State, auth: AuthKind, api: &str) -> Answer {
    let settings = &state.settings;
    let (owner, repo) = (&settings.owner, &settings.repo);
    let mut body = json!({
        "id": 1296269,
        "name": repo,
        "full_name": format!("{owner}/{repo}"),
        "owner": { "login": owner, "type": "Organization" },
        "private": true,
        "default_branch": "main",
        "html_url": format!("https://github.com/{owner}/{repo}"),
        "url": format!("{api}/repos/{owner}/{repo}"),
    });
    if auth == AuthKind::Token {
        let push = settings.access.token_push;
        body["permissions"] = json!({
            "admin": false, "maintain": false, "push": push, "triage": push, "pull": true,
        });
    }
    Answer::json(200, body)
}

/// The installation token's `permissions`, as the mint answers them.
pub(crate) fn installation_permissions(state: &State) -> Value {
    json!(state.settings.access.installation_permissions)
}

/// `github-authentication-token-expiration` on answers to the personal access token, when it
/// has an expiry (`2026-08-14 08:15:54 UTC`).
pub(crate) fn token_headers(state: &State, auth: AuthKind) -> Vec<(&'static str, String)> {
    let Some(left) = state.settings.access.token_expires_in else {
        return Vec::new();
    };
    if auth != AuthKind::Token {
        return Vec::new();
    }
    let at = OffsetDateTime::now_utc() + left;
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    match at.format(&format) {
        Ok(text) => vec![("github-authentication-token-expiration", text)],
        Err(_) => Vec::new(),
    }
}

impl FakeGitHub {
    /// Whether the personal access token may write to the repository (`permissions.push`).
    pub fn set_token_push(&self, push: bool) {
        self.shared.state().settings.access.token_push = push;
    }

    /// The personal access token expires `left` from each answer (`None`: it never expires).
    pub fn set_token_expires_in(&self, left: Option<Duration>) {
        self.shared.state().settings.access.token_expires_in = left;
    }

    /// What installation tokens minted from now on may do, e.g. `[("contents", "read")]`.
    pub fn set_installation_permissions(&self, permissions: &[(&str, &str)]) {
        self.shared.state().settings.access.installation_permissions = permissions
            .iter()
            .map(|(name, level)| (name.to_string(), level.to_string()))
            .collect();
    }
}

//! `check --live` against Slack: `auth.test` with the bot token (and the scopes Slack says it has),
//! and one Socket Mode connection opened with the app token, greeted with `hello`, and closed.

use std::time::{Duration, Instant};

use serde::Deserialize;
use url::Url;

use super::manifest::{ScopeNeed, BOT_SCOPES, SCOPE_NEEDS};
use super::socket::connection::{hello_and_close, HelloError, HelloSeen};
use super::socket::opener::{ConnectionOpener, OpenError};
use crate::secrets::Secret;

/// Who the bot token belongs to (`auth.test`), and the scopes Slack granted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCheck {
    /// The workspace's name.
    pub team: String,
    pub team_id: String,
    /// The bot user's handle.
    pub bot_name: String,
    pub bot_user_id: String,
    /// `x-oauth-scopes` of the answer; `None` when Slack sent no such header.
    pub granted_scopes: Option<Vec<String>>,
}

/// A scope the manifest declares that the token lacks, with what needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingScope {
    pub scope: &'static str,
    /// E.g. "users.info" or "event message.im".
    pub needed_by: Vec<String>,
}

impl TokenCheck {
    /// The scopes of the manifest (`BOT_SCOPES`) that Slack did not grant, in manifest order;
    /// `None` when Slack did not say which scopes the token has.
    pub fn missing_scopes(&self) -> Option<Vec<MissingScope>> {
        let granted = self.granted_scopes.as_ref()?;
        Some(
            BOT_SCOPES
                .iter()
                .filter(|scope| !granted.iter().any(|have| have == *scope))
                .map(|scope| MissingScope {
                    scope,
                    needed_by: needs_of(scope),
                })
                .collect(),
        )
    }
}

fn needs_of(scope: &str) -> Vec<String> {
    SCOPE_NEEDS
        .iter()
        .filter(|(name, _)| *name == scope)
        .flat_map(|(_, needs)| needs.iter())
        .map(|need| match need {
            ScopeNeed::Method(method) => (*method).to_owned(),
            ScopeNeed::Event(event) => format!("event {event}"),
            ScopeNeed::SlashCommands => "slash commands".to_owned(),
        })
        .collect()
}

/// Why `auth.test` gave no answer about the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenCheckError {
    /// `ok:false`: `invalid_auth`, `token_revoked`, `not_allowed_token_type`…
    #[error("Slack refused the bot token: {code}")]
    Refused { code: String },
    #[error("auth.test answered HTTP {status}")]
    Http { status: u16 },
    #[error("auth.test did not complete: {detail}")]
    Transport { detail: String },
}

#[derive(Deserialize)]
struct AuthTest {
    ok: bool,
    error: Option<String>,
    #[serde(default)]
    team: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    user_id: String,
}

/// `auth.test` with `token`, read with its `x-oauth-scopes` header; bounded by `timeout`.
pub async fn check_bot_token(
    api_url: &Url,
    token: &Secret,
    timeout: Duration,
) -> Result<TokenCheck, TokenCheckError> {
    super::tls::install_crypto_provider();
    let transport = |e: reqwest::Error| TokenCheckError::Transport {
        detail: cause_chain(&e),
    };
    let endpoint = api_url
        .join("auth.test")
        .map_err(|e| TokenCheckError::Transport {
            detail: format!("slack.api_url cannot take a method name: {e}"),
        })?;
    let http = reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .map_err(transport)?;
    let response = http
        .post(endpoint)
        .bearer_auth(token.current().expose())
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(TokenCheckError::Http {
            status: status.as_u16(),
        });
    }
    let granted_scopes = response
        .headers()
        .get("x-oauth-scopes")
        .and_then(|value| value.to_str().ok())
        .map(parse_scopes);
    let body: AuthTest = response.json().await.map_err(transport)?;
    if !body.ok {
        return Err(TokenCheckError::Refused {
            code: body.error.unwrap_or_else(|| "unknown_error".to_owned()),
        });
    }
    Ok(TokenCheck {
        team: body.team,
        team_id: body.team_id,
        bot_name: body.user,
        bot_user_id: body.user_id,
        granted_scopes,
    })
}

/// `x-oauth-scopes: chat:write,commands` → each scope, trimmed.
fn parse_scopes(header: &str) -> Vec<String> {
    header
        .split(',')
        .map(str::trim)
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A Socket Mode connection that said `hello` and was closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketCheck {
    pub hello: HelloSeen,
    /// From `apps.connections.open` to `hello`.
    pub elapsed: Duration,
}

/// Why no Socket Mode connection reached `hello`.
#[derive(Debug, thiserror::Error)]
pub enum SocketCheckError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Hello(#[from] HelloError),
    #[error("could not build the Slack client: {0}")]
    Client(String),
}

/// `apps.connections.open` with `app_token` (bounded by `request_timeout`), then the WebSocket
/// opened, `hello` awaited (within `hello_timeout`) and the connection closed (bounded by
/// `close_timeout`). Nothing it might receive is handled.
pub async fn check_socket_mode(
    api_url: &Url,
    app_token: &Secret,
    request_timeout: Duration,
    hello_timeout: Duration,
    close_timeout: Duration,
) -> Result<SocketCheck, SocketCheckError> {
    let started = Instant::now();
    let opener = ConnectionOpener::new(api_url, app_token.clone(), request_timeout)
        .map_err(|e| SocketCheckError::Client(format!("{e:#}")))?;
    let url = opener.open().await?;
    let hello = hello_and_close(&url, hello_timeout, close_timeout).await?;
    Ok(SocketCheck {
        hello,
        elapsed: started.elapsed(),
    })
}

/// An error and its causes on one line (reqwest's own text names the URL, never a header).
fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(granted: Option<&str>) -> TokenCheck {
        TokenCheck {
            team: "Sandbox".into(),
            team_id: "T1".into(),
            bot_name: "bot".into(),
            bot_user_id: "U1".into(),
            granted_scopes: granted.map(parse_scopes),
        }
    }

    #[test]
    fn missing_scopes_are_the_manifests_scopes_slack_did_not_grant() {
        let all = BOT_SCOPES.join(", ");
        assert_eq!(check(Some(&all)).missing_scopes(), Some(vec![]));
        assert_eq!(check(None).missing_scopes(), None);
        let without_users = BOT_SCOPES
            .iter()
            .filter(|scope| **scope != "users:read")
            .copied()
            .collect::<Vec<_>>()
            .join(",");
        let missing = check(Some(&without_users)).missing_scopes().unwrap();
        assert_eq!(
            missing,
            vec![MissingScope {
                scope: "users:read",
                needed_by: vec!["users.info".into()]
            }]
        );
    }
}

//! Slack's rows: the bot token (`auth.test`), its scopes against the manifest's, and Socket Mode
//! (`apps.connections.open`, the WebSocket, `hello`), each failure with the fix.

use std::time::Duration;

use super::{show_duration, ProbeResult};
use crate::config::Config;
use crate::slack::preflight::{
    check_bot_token, check_socket_mode, SocketCheckError, TokenCheck, TokenCheckError,
};
use crate::slack::socket::connection::HelloError;
use crate::slack::socket::frame::DisconnectReason;
use crate::slack::socket::opener::OpenError;

pub(super) const TOKEN: &str = "Slack bot token";
pub(super) const SCOPES: &str = "Slack scopes";
pub(super) const SOCKET: &str = "Slack Socket Mode";
pub(super) const HINT: &str =
    "check outbound HTTPS and WSS to Slack (DNS, proxy, firewall) and slack.api_url";

const BOT_TOKEN_PAGE: &str =
    "the Bot User OAuth Token from the app's OAuth & Permissions page into slack.bot_token \
     (or SLACK_BOT_TOKEN)";
const APP_TOKEN_PAGE: &str =
    "an app-level token with the connections:write scope (the app's Basic Information → \
     App-Level Tokens) into slack.app_token (or SLACK_APP_TOKEN)";

/// `auth.test` with the bot token: who it is, and which of the manifest's scopes it lacks.
pub(super) async fn token(config: &Config, limit: Duration) -> Vec<ProbeResult> {
    let Some(token) = &config.slack.bot_token else {
        return vec![ProbeResult::fail(
            TOKEN,
            "slack.bot_token is not set",
            format!("put {BOT_TOKEN_PAGE}"),
        )];
    };
    match check_bot_token(&config.slack.api_url, token, limit).await {
        Ok(check) => vec![
            ProbeResult::ok(
                TOKEN,
                format!(
                    "auth.test: @{} ({}) in {} ({})",
                    check.bot_name, check.bot_user_id, check.team, check.team_id
                ),
            ),
            scopes_row(&check),
        ],
        Err(error) => vec![
            token_failure(&error, config),
            ProbeResult::skipped(SCOPES, "not checked: auth.test failed"),
        ],
    }
}

fn scopes_row(check: &TokenCheck) -> ProbeResult {
    let Some(missing) = check.missing_scopes() else {
        return ProbeResult::warn(
            SCOPES,
            "Slack did not say which scopes the token has (no x-oauth-scopes header)",
            None,
        );
    };
    if missing.is_empty() {
        let count = crate::slack::manifest::BOT_SCOPES.len();
        return ProbeResult::ok(SCOPES, format!("all {count} scopes the manifest declares"));
    }
    let names: Vec<&str> = missing.iter().map(|scope| scope.scope).collect();
    let detail = missing
        .iter()
        .map(|scope| format!("{} (for {})", scope.scope, scope.needed_by.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    ProbeResult::fail(
        SCOPES,
        format!("missing {detail}"),
        format!(
            "add them under OAuth & Permissions → Bot Token Scopes (or update the app from \
             `chatops-bot manifest`), then reinstall the app after adding {}; the token stays \
             the same",
            names.join(", ")
        ),
    )
}

fn token_failure(error: &TokenCheckError, config: &Config) -> ProbeResult {
    let fix = match error {
        TokenCheckError::Refused { code } => match code.as_str() {
            "invalid_auth" | "not_authed" => format!(
                "slack.bot_token is not a token Slack knows (mistyped, or for another \
                 workspace): put {BOT_TOKEN_PAGE}"
            ),
            "token_revoked" | "token_expired" | "account_inactive" => format!(
                "the bot token was revoked (the app was uninstalled, or its tokens were \
                 rotated): reinstall the app to the workspace and put {BOT_TOKEN_PAGE}"
            ),
            "not_allowed_token_type" => format!(
                "slack.bot_token holds another kind of token (the app-level token?): put \
                 {BOT_TOKEN_PAGE}"
            ),
            other => format!("Slack answered {other}: see https://api.slack.com/methods/auth.test"),
        },
        TokenCheckError::Http { .. } => format!(
            "is slack.api_url ({}) Slack's Web API? It should end in /api/",
            config.slack.api_url
        ),
        TokenCheckError::Transport { .. } => HINT.to_owned(),
    };
    ProbeResult::fail(TOKEN, error.to_string(), fix)
}

/// One Socket Mode connection, opened with the app token to `hello` and closed.
pub(super) async fn socket(config: &Config, limit: Duration) -> Vec<ProbeResult> {
    let Some(token) = &config.slack.app_token else {
        return vec![ProbeResult::fail(
            SOCKET,
            "slack.app_token is not set",
            format!("put {APP_TOKEN_PAGE}"),
        )];
    };
    let slack = &config.slack;
    let request_timeout = slack.request_timeout.min(limit);
    let checked = check_socket_mode(
        &slack.api_url,
        token,
        request_timeout,
        limit,
        slack.socket.close_timeout,
    )
    .await;
    let row = match checked {
        Ok(check) => {
            let connections = check
                .hello
                .num_connections
                .map(|n| format!(" (the app's connections: {n}, this one included)"))
                .unwrap_or_default();
            ProbeResult::ok(
                SOCKET,
                format!(
                    "apps.connections.open, WebSocket, hello{connections}, closed ({})",
                    show_duration(check.elapsed)
                ),
            )
        }
        Err(SocketCheckError::Open(OpenError::RateLimited { retry_after })) => ProbeResult::warn(
            SOCKET,
            format!(
                "apps.connections.open is rate limited (retry after {})",
                show_duration(retry_after)
            ),
            Some("run the check again in a minute".to_owned()),
        ),
        Err(error) => ProbeResult::fail(SOCKET, describe(&error), socket_fix(&error)),
    };
    vec![row]
}

fn describe(error: &SocketCheckError) -> String {
    match error {
        SocketCheckError::Open(OpenError::Transient(cause)) => {
            format!("apps.connections.open failed: {cause:#}")
        }
        SocketCheckError::Hello(HelloError::Disconnected(DisconnectReason::LinkDisabled)) => {
            "Slack refused the connection: link_disabled (Socket Mode is off for this app)"
                .to_owned()
        }
        other => other.to_string(),
    }
}

fn socket_fix(error: &SocketCheckError) -> String {
    match error {
        SocketCheckError::Open(OpenError::Fatal { code }) => {
            match code.as_str() {
                "invalid_auth" | "not_authed" => format!(
                    "slack.app_token is not a token Slack knows (mistyped, or another app's): put \
                 {APP_TOKEN_PAGE}"
                ),
                "not_allowed_token_type" => format!(
                    "slack.app_token holds another kind of token (the bot token?): put \
                 {APP_TOKEN_PAGE}"
                ),
                "missing_scope" => format!(
                    "the app-level token lacks connections:write: generate a new one with it and \
                 put {APP_TOKEN_PAGE}"
                ),
                "token_revoked" | "token_expired" | "account_inactive" => {
                    format!("the app-level token was revoked: generate a new one and put {APP_TOKEN_PAGE}")
                }
                other => format!(
                "Slack answered {other}: see https://api.slack.com/methods/apps.connections.open"
            ),
            }
        }
        SocketCheckError::Hello(HelloError::Disconnected(reason)) => match reason {
            DisconnectReason::LinkDisabled => "turn Socket Mode on (the app's Settings → Socket \
                 Mode), or update the app from `chatops-bot manifest`, which enables it"
                .to_owned(),
            DisconnectReason::TooManyWebsockets => "the app already holds Slack's 10 \
                 connections: stop stray copies of the bot, and keep slack.connections of all \
                 running copies below 10 so a check fits"
                .to_owned(),
            _ => "Slack closed the connection at once; run the check again".to_owned(),
        },
        SocketCheckError::Hello(HelloError::Handshake(_)) => {
            "the WebSocket did not open: allow outbound WSS (port 443) to Slack's \
             wss-primary.slack.com through the proxy or firewall"
                .to_owned()
        }
        _ => HINT.to_owned(),
    }
}

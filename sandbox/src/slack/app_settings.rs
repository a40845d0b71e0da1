//! What the fake knows of the app's settings page: the bot token's scopes (sent back in
//! `x-oauth-scopes`, as Slack does on every Web API answer), whether the bot token was revoked,
//! and whether Socket Mode is on; with the `FakeSlack` controls that change them.

use crate::slack::timeline::{lock, TimelineKind};
use crate::slack::FakeSlack;

/// The scopes an app installed from chatops-bot's manifest has (`chatops-bot manifest`).
pub const DEFAULT_BOT_SCOPES: &[&str] = &[
    "app_mentions:read",
    "chat:write",
    "chat:write.public",
    "channels:history",
    "groups:history",
    "im:history",
    "commands",
    "users:read",
    "usergroups:read",
    "files:write",
];

/// The app's settings as the fake plays them.
#[derive(Debug, Clone)]
pub(crate) struct AppSettings {
    pub(crate) bot_scopes: Vec<String>,
    /// Bot-token methods answer `token_revoked` (the app was uninstalled).
    pub(crate) bot_token_revoked: bool,
    /// Off: a new Socket Mode connection gets `disconnect` `link_disabled` instead of `hello`.
    pub(crate) socket_mode: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            bot_scopes: DEFAULT_BOT_SCOPES.iter().map(|s| s.to_string()).collect(),
            bot_token_revoked: false,
            socket_mode: true,
        }
    }
}

impl FakeSlack {
    /// The bot token's scopes from now on (`x-oauth-scopes`); the default is
    /// [`DEFAULT_BOT_SCOPES`].
    pub fn set_bot_scopes(&self, scopes: &[&str]) {
        self.shared.note(
            TimelineKind::Fault,
            format!("bot token scopes: {}", scopes.join(",")),
        );
        lock(&self.shared.app).bot_scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// While `revoked`, every bot-token method answers `token_revoked`, as after the app is
    /// uninstalled.
    pub fn revoke_bot_token(&self, revoked: bool) {
        let text = if revoked {
            "the bot token is revoked"
        } else {
            "the bot token works again"
        };
        self.shared.note(TimelineKind::Fault, text.to_string());
        lock(&self.shared.app).bot_token_revoked = revoked;
    }

    /// Turns Socket Mode off (new connections are told `link_disabled` and closed) or on.
    pub fn set_socket_mode(&self, enabled: bool) {
        let text = if enabled {
            "Socket Mode is on"
        } else {
            "Socket Mode is off"
        };
        self.shared.note(TimelineKind::Fault, text.to_string());
        lock(&self.shared.app).socket_mode = enabled;
    }
}

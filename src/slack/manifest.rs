//! Renders the Slack app manifest (JSON) for "Create an App → From a manifest".
//!
//! Socket Mode app: no request URLs anywhere. Slash commands come from
//! [`Config::slash_commands`] (help, stats and echo always, the deploy commands with `[deploy]`), named by
//! `slack.command_prefix` as the router matches them.

use serde_json::{json, Value};

use crate::config::Config;

/// Bot token scopes the bot needs, and no more. `SCOPE_NEEDS` says what needs each one; a test
/// fails when none of those is used any more. A feature adds its scopes when it needs them.
pub const BOT_SCOPES: &[&str] = &[
    "app_mentions:read",
    "chat:write",
    "chat:write.public",
    // Also conversations.history/replies: reading a post back before posting it again.
    "channels:history",
    "groups:history",
    "im:history",
    "commands",
    // users.info: names in a report's thread transcript.
    "users:read",
    // usergroups.users.list: deploy requesters and approvers may be user groups.
    "usergroups:read",
    // files.getUploadURLExternal/completeUploadExternal: alarm graphs, long command output.
    "files:write",
];

/// What makes a scope necessary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeNeed {
    /// A Web API method the code calls, e.g. `"chat.postMessage"`.
    Method(&'static str),
    /// An event the manifest subscribes to, e.g. `"message.im"`.
    Event(&'static str),
    /// The slash commands the manifest registers.
    SlashCommands,
}

/// Each scope of `BOT_SCOPES` with what needs it (Slack's scope reference); any one suffices.
pub const SCOPE_NEEDS: &[(&str, &[ScopeNeed])] = &[
    ("app_mentions:read", &[ScopeNeed::Event("app_mention")]),
    (
        "chat:write",
        &[
            ScopeNeed::Method("chat.postMessage"),
            ScopeNeed::Method("chat.update"),
            ScopeNeed::Method("chat.postEphemeral"),
            // The streaming trio needs chat:write (docs.slack.dev/reference/methods/chat.startStream).
            ScopeNeed::Method("chat.startStream"),
            ScopeNeed::Method("chat.appendStream"),
            ScopeNeed::Method("chat.stopStream"),
        ],
    ),
    // Alarm routes post into channels the bot was never invited to.
    (
        "chat:write.public",
        &[ScopeNeed::Method("chat.postMessage")],
    ),
    (
        "channels:history",
        &[
            ScopeNeed::Event("message.channels"),
            ScopeNeed::Method("conversations.history"),
            ScopeNeed::Method("conversations.replies"),
        ],
    ),
    (
        "groups:history",
        &[
            ScopeNeed::Event("message.groups"),
            ScopeNeed::Method("conversations.history"),
            ScopeNeed::Method("conversations.replies"),
        ],
    ),
    ("im:history", &[ScopeNeed::Event("message.im")]),
    ("commands", &[ScopeNeed::SlashCommands]),
    ("users:read", &[ScopeNeed::Method("users.info")]),
    (
        "usergroups:read",
        &[ScopeNeed::Method("usergroups.users.list")],
    ),
    (
        "files:write",
        &[
            ScopeNeed::Method("files.getUploadURLExternal"),
            ScopeNeed::Method("files.completeUploadExternal"),
        ],
    ),
];

/// Events the bot subscribes to: mentions, and messages in public and private channels and DMs.
pub const BOT_EVENTS: &[&str] = &[
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
];

const DESCRIPTION: &str = "AWS alarms and GitHub deploys, in Slack.";

/// The manifest for the app described by `config`.
pub fn render(config: &Config) -> Value {
    let slash_commands: Vec<Value> = config
        .slash_commands()
        .into_iter()
        .map(|command| {
            let mut spec = json!({
                "command": command.name,
                "description": command.description,
                "usage_hint": command.usage_hint,
                "should_escape": false,
            });
            if command.usage_hint.is_empty() {
                // A command without arguments has no hint (Slack refuses an empty one).
                spec.as_object_mut().map(|spec| spec.remove("usage_hint"));
            }
            spec
        })
        .collect();
    json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": config.slack.app_name,
            "description": DESCRIPTION,
        },
        "features": {
            // The Messages tab must accept messages, or people cannot DM the bot (message.im).
            "app_home": {
                "home_tab_enabled": false,
                "messages_tab_enabled": true,
                "messages_tab_read_only_enabled": false,
            },
            "bot_user": {
                "display_name": config.slack.app_name,
                "always_online": true,
            },
            "slash_commands": slash_commands,
        },
        "oauth_config": {
            "scopes": { "bot": BOT_SCOPES },
        },
        "settings": {
            "event_subscriptions": { "bot_events": BOT_EVENTS },
            "interactivity": { "is_enabled": true },
            "org_deploy_enabled": false,
            "socket_mode_enabled": true,
            "token_rotation_enabled": false,
        },
    })
}

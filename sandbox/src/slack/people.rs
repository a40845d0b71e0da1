//! The fake's users (`users.info`) and the seeding of threads: tests name users or make them
//! unknown, and put long threads in place without a Web API call per message.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::slack::clock::next_ts;
use crate::slack::envelopes::{user_name, BOT_ID, BOT_USER_ID, TEAM_ID};
use crate::slack::messages::{str_param, StoredMessage};
use crate::slack::methods::WORKSPACE_URL;
use crate::slack::state::Shared;
use crate::slack::timeline::lock;
use crate::slack::FakeSlack;

/// A user as a test sets it up; `users.info` answers with these names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    /// The handle (`name`).
    pub name: String,
    /// `real_name` (also `profile.real_name`).
    pub real_name: String,
    /// `profile.display_name`; may be empty, as in Slack.
    pub display_name: String,
}

/// Users set up by tests: `Some` is answered with its names, `None` is `user_not_found`. Ids
/// not set up get plausible generated names.
pub(crate) type UserDirectory = HashMap<String, Option<FakeUser>>;

/// Who posted a seeded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// A person (`user`).
    User(String),
    /// Another app or integration: `bot_message` with this `bot_id` and `username`.
    Integration { bot_id: String, username: String },
    /// The bot under test (`U0BOT`/`B0BOT`), with its metadata `event_type`, if any.
    TheBot { event_type: Option<String> },
}

/// One message to put into a channel's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    pub author: Author,
    pub text: String,
}

impl Seed {
    /// A person's message.
    pub fn user(user: &str, text: impl Into<String>) -> Self {
        Seed {
            author: Author::User(user.to_owned()),
            text: text.into(),
        }
    }
}

impl FakeSlack {
    /// `users.info` of `id` answers with these names from now on.
    pub fn set_user(&self, id: &str, user: FakeUser) {
        lock(&self.shared.users).insert(id.to_owned(), Some(user));
    }

    /// `users.info` of `id` answers `user_not_found` from now on.
    pub fn forget_user(&self, id: &str) {
        lock(&self.shared.users).insert(id.to_owned(), None);
    }

    /// Puts `seeds` into `channel`'s history, in order, as replies in `thread_ts` (or as
    /// top-level messages when `None`), with fresh increasing timestamps; returns them. No Web
    /// API call is made or recorded.
    pub fn seed_messages(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        seeds: impl IntoIterator<Item = Seed>,
    ) -> Vec<String> {
        let mut store = lock(&self.shared.messages);
        let mut stamps = Vec::new();
        for seed in seeds {
            let ts = next_ts();
            let mut message = StoredMessage::from_post(channel, ts.clone(), &Map::new());
            message.thread_ts = thread_ts.map(str::to_owned);
            message.text = seed.text;
            match seed.author {
                Author::User(user) => {
                    message.user = user;
                    message.bot_id = None;
                    message.from_api = false;
                }
                Author::Integration { bot_id, username } => {
                    message.user = String::new();
                    message.bot_id = Some(bot_id);
                    message.username = Some(username);
                    message.subtype = Some("bot_message".to_owned());
                    message.from_api = false;
                }
                Author::TheBot { event_type } => {
                    message.user = BOT_USER_ID.to_owned();
                    message.bot_id = Some(BOT_ID.to_owned());
                    message.metadata = event_type
                        .map(|event_type| json!({"event_type": event_type, "event_payload": {}}));
                }
            }
            store.insert(message);
            stamps.push(ts);
        }
        stamps
    }

    /// A thread of `replies` messages under a new root written by `users[0]`; reply `i` is
    /// written by `users[i % users.len()]` and says `"message i"`. Returns the root's ts.
    pub fn seed_thread(&self, channel: &str, users: &[&str], replies: usize) -> String {
        let first = users.first().copied().unwrap_or("U0ALICE");
        let root = self.seed_messages(channel, None, [Seed::user(first, "thread root")]);
        let root = root.into_iter().next().unwrap_or_default();
        let seeds = (0..replies).map(|i| {
            let user = users.get(i % users.len().max(1)).copied().unwrap_or(first);
            Seed::user(user, format!("message {i}"))
        });
        self.seed_messages(channel, Some(&root), seeds);
        root
    }
}

/// `users.info`: a user set up by a test, else `user_not_found` for a forgotten or implausible
/// id, else plausible generated names.
pub(crate) fn user_info(
    shared: &Shared,
    params: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let user = str_param(params, "user").unwrap_or_default();
    let configured = lock(&shared.users).get(&user).cloned();
    let plausible = user.len() >= 2 && (user.starts_with('U') || user.starts_with('W'));
    let is_bot = user == BOT_USER_ID;
    let names = match configured {
        Some(None) => return Err("user_not_found"),
        Some(Some(user)) => user,
        None if !plausible => return Err("user_not_found"),
        None if is_bot => FakeUser {
            name: "chatops-bot".into(),
            real_name: "ChatOps Bot".into(),
            display_name: "chatops-bot".into(),
        },
        None => FakeUser {
            name: user_name(&user),
            real_name: format!("Sandbox User {user}"),
            display_name: user_name(&user),
        },
    };
    let mut profile = json!({
        "real_name": names.real_name, "display_name": names.display_name,
        "real_name_normalized": names.real_name, "display_name_normalized": names.display_name,
        "team": TEAM_ID, "image_48": format!("{WORKSPACE_URL}avatars/{user}_48.png")
    });
    if is_bot {
        profile["bot_id"] = json!(BOT_ID);
    } else {
        profile["email"] = json!(format!("{}@sandbox.slack.test", names.name));
    }
    Ok(json!({"ok": true, "user": {
        "id": user, "team_id": TEAM_ID, "name": names.name, "deleted": false,
        "real_name": names.real_name, "tz": "Europe/Berlin", "tz_label": "Central European Time",
        "tz_offset": 3600, "is_admin": false, "is_owner": false, "is_bot": is_bot,
        "is_app_user": false, "updated": 1_700_000_000, "profile": profile
    }}))
}

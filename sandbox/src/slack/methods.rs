//! The Web API methods the fake implements, with Slack's auth rules and error codes.

use serde_json::{json, Map, Value};

use crate::slack::clock::{next_id, next_ts};
use crate::slack::envelopes::{APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID};
use crate::slack::messages::{str_param, EphemeralMessage, StoredMessage};
use crate::slack::record::AuthKind;
use crate::slack::state::Shared;
use crate::slack::streams;
use crate::slack::timeline::lock;
use crate::slack::web_api::Outcome;
use crate::slack::{files, people, reading, usergroups};

/// Methods that take the bot token.
const BOT_METHODS: [&str; 20] = [
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.delete",
    "chat.postEphemeral",
    "chat.getPermalink",
    "reactions.add",
    "users.info",
    "usergroups.users.list",
    "conversations.history",
    "conversations.replies",
    "views.open",
    "views.push",
    "views.update",
    "chat.startStream",
    "chat.appendStream",
    "chat.stopStream",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
    "files.info",
];

/// Slack's limits that clients trip over.
const MAX_TEXT_CHARS: usize = 40_000;
const MAX_BLOCKS: usize = 50;
const MAX_MARKDOWN_CHARS: usize = 12_000;
pub(crate) const WORKSPACE_URL: &str = "https://sandbox.slack.test/";

type Params = Map<String, Value>;

/// Answers one Web API call (faults and parse errors are handled before this).
pub(crate) fn handle(shared: &Shared, method: &str, params: &Params, auth: AuthKind) -> Outcome {
    if method == "apps.connections.open" {
        return connections_open(shared, auth);
    }
    if !BOT_METHODS.contains(&method) {
        return Outcome::error("unknown_method");
    }
    match auth {
        AuthKind::Bot if lock(&shared.app).bot_token_revoked => {
            return Outcome::error("token_revoked")
        }
        AuthKind::Bot => {}
        AuthKind::Missing => return Outcome::error("not_authed"),
        AuthKind::App => return Outcome::error("not_allowed_token_type"),
        AuthKind::Unknown => return Outcome::error("invalid_auth"),
        AuthKind::Revoked => return Outcome::error("token_revoked"),
    }
    let result = match method {
        "auth.test" => Ok(json!({
            "ok": true, "url": WORKSPACE_URL, "team": "Sandbox", "user": "chatops-bot",
            "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": false
        })),
        "chat.postMessage" => post_message(shared, params),
        "chat.update" => update_message(shared, params),
        "chat.delete" => delete_message(shared, params),
        "chat.postEphemeral" => post_ephemeral(shared, params),
        "chat.getPermalink" => permalink(shared, params),
        "reactions.add" => add_reaction(shared, params),
        "users.info" => people::user_info(shared, params),
        "files.getUploadURLExternal" => files::get_upload_url(shared, params),
        "files.completeUploadExternal" => complete_upload(shared, params),
        "files.info" => files::info(shared, params),
        "usergroups.users.list" => usergroups::users_list(shared, params),
        "conversations.history" => {
            known_channel(shared, params).and_then(|c| reading::history(shared, c, params))
        }
        "conversations.replies" => {
            known_channel(shared, params).and_then(|c| reading::replies(shared, c, params))
        }
        m if streams::STREAM_METHODS.contains(&m) => {
            let answer = known_channel(shared, params)
                .map_err(str::to_string)
                .and_then(|c| streams::handle(shared, m, c, params));
            return match answer {
                Ok(body) => Outcome::Json(body),
                Err(error) => Outcome::error(&error),
            };
        }
        _ => open_view(method, params),
    };
    match result {
        Ok(body) => Outcome::Json(body),
        Err(error) => Outcome::error(error),
    }
}

fn connections_open(shared: &Shared, auth: AuthKind) -> Outcome {
    if let Some(error) = lock(&shared.open_error).clone() {
        return Outcome::error(&error);
    }
    match auth {
        AuthKind::App => {}
        AuthKind::Missing => return Outcome::error("not_authed"),
        AuthKind::Bot => return Outcome::error("not_allowed_token_type"),
        AuthKind::Unknown => return Outcome::error("invalid_auth"),
        AuthKind::Revoked => return Outcome::error("token_revoked"),
    }
    let ticket = format!(
        "sbx-{:x}-{:08x}",
        next_id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    lock(&shared.tickets).insert(ticket.clone());
    let scheme = if shared.opts.public_tls { "wss" } else { "ws" };
    let url = format!(
        "{scheme}://{}/link/?ticket={ticket}&app_id={APP_ID}",
        shared.public(shared.ws_addr)
    );
    Outcome::Json(json!({"ok": true, "url": url}))
}

/// `files.completeUploadExternal`, sharing into `channel_id` when it names a known channel.
fn complete_upload(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let channel = match str_param(params, "channel_id") {
        Some(channel) => {
            let mut named = Params::new();
            named.insert("channel".into(), channel.into());
            Some(known_channel(shared, &named)?)
        }
        None => None,
    };
    files::complete_upload(shared, params, channel)
}

fn post_message(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let channel = known_channel(shared, params)?;
    check_content(params)?;
    files::check_image_files(shared, params)?;
    let ts = next_ts();
    let message = StoredMessage::from_post(&channel, ts.clone(), params);
    let body = message.to_json();
    lock(&shared.messages).insert(message);
    Ok(json!({"ok": true, "channel": channel, "ts": ts, "message": body}))
}

fn update_message(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let channel = known_channel(shared, params)?;
    let ts = str_param(params, "ts").ok_or("message_not_found")?;
    if let Some(Value::String(text)) = params.get("text") {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err("msg_too_long");
        }
    }
    if let Some(blocks) = params.get("blocks") {
        check_blocks(blocks)?;
    }
    files::check_image_files(shared, params)?;
    let mut store = lock(&shared.messages);
    let message = store.get_mut(&channel, &ts).ok_or("message_not_found")?;
    if !message.from_api {
        return Err("cant_update_message");
    }
    message.apply_update(params);
    let body = message.to_json();
    Ok(json!({"ok": true, "channel": channel, "ts": ts, "text": message.text, "message": body}))
}

fn delete_message(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let channel = known_channel(shared, params)?;
    let ts = str_param(params, "ts").ok_or("message_not_found")?;
    let mut store = lock(&shared.messages);
    let message = store.get_mut(&channel, &ts).ok_or("message_not_found")?;
    if !message.from_api {
        return Err("cant_delete_message");
    }
    message.deleted = true;
    Ok(json!({"ok": true, "channel": channel, "ts": ts}))
}

fn post_ephemeral(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let channel = known_channel(shared, params)?;
    let user = str_param(params, "user")
        .filter(|u| !u.is_empty())
        .ok_or("user_not_in_channel")?;
    check_content(params)?;
    let message_ts = next_ts();
    lock(&shared.messages).add_ephemeral(EphemeralMessage {
        channel,
        user,
        message_ts: message_ts.clone(),
        thread_ts: str_param(params, "thread_ts"),
        text: str_param(params, "text").unwrap_or_default(),
        blocks: params.get("blocks").cloned(),
    });
    Ok(json!({"ok": true, "message_ts": message_ts}))
}

fn permalink(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let channel = known_channel(shared, params)?;
    let ts = str_param(params, "message_ts").ok_or("message_not_found")?;
    let store = lock(&shared.messages);
    let message = store.get(&channel, &ts).ok_or("message_not_found")?;
    let mut link = format!("{WORKSPACE_URL}archives/{channel}/p{}", ts.replace('.', ""));
    if let Some(thread_ts) = &message.thread_ts {
        link.push_str(&format!("?thread_ts={thread_ts}&cid={channel}"));
    }
    Ok(json!({"ok": true, "channel": channel, "permalink": link}))
}

fn add_reaction(shared: &Shared, params: &Params) -> Result<Value, &'static str> {
    let channel = known_channel(shared, params)?;
    let name = str_param(params, "name")
        .map(|n| n.trim_matches(':').to_string())
        .filter(|n| !n.is_empty())
        .ok_or("invalid_name")?;
    let ts = str_param(params, "timestamp").ok_or("message_not_found")?;
    let mut store = lock(&shared.messages);
    let message = store.get_mut(&channel, &ts).ok_or("message_not_found")?;
    if message.reactions.contains(&name) {
        return Err("already_reacted");
    }
    message.reactions.push(name);
    Ok(json!({"ok": true}))
}

fn open_view(method: &str, params: &Params) -> Result<Value, &'static str> {
    let mut view = match params.get("view") {
        Some(Value::Object(view)) => view.clone(),
        _ => return Err("invalid_arguments"),
    };
    let id = if method == "views.update" {
        str_param(params, "view_id")
            .or_else(|| str_param(params, "external_id"))
            .ok_or("invalid_arguments")?
    } else {
        str_param(params, "trigger_id").ok_or("invalid_trigger_id")?;
        format!("V0SBX{:06}", next_id())
    };
    view.insert("id".into(), json!(id));
    view.insert("team_id".into(), json!(TEAM_ID));
    view.insert("app_id".into(), json!(APP_ID));
    view.insert("bot_id".into(), json!(BOT_ID));
    view.insert("state".into(), json!({"values": {}}));
    view.insert("hash".into(), json!(format!("{}.sbx", next_ts())));
    Ok(json!({"ok": true, "view": Value::Object(view)}))
}

/// The `channel` parameter, if the fake knows it (see `FakeSlackOptions::known_channels`).
fn known_channel(shared: &Shared, params: &Params) -> Result<String, &'static str> {
    let channel = str_param(params, "channel").unwrap_or_default();
    let known = match &shared.opts.known_channels {
        Some(list) => list.contains(&channel),
        None => plausible_channel(&channel),
    };
    if known {
        Ok(channel)
    } else {
        Err("channel_not_found")
    }
}

fn plausible_channel(channel: &str) -> bool {
    if let Some(name) = channel.strip_prefix('#') {
        return !name.is_empty();
    }
    let mut chars = channel.chars();
    matches!(chars.next(), Some('C' | 'G' | 'D' | 'U' | 'W'))
        && channel.len() >= 2
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A message needs text, blocks or attachments, within Slack's limits.
fn check_content(params: &Params) -> Result<(), &'static str> {
    let text = str_param(params, "text").unwrap_or_default();
    let blocks = params.get("blocks");
    let has_attachments = params.get("attachments").is_some_and(|a| !a.is_null());
    if text.is_empty() && blocks.is_none() && !has_attachments {
        return Err("no_text");
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err("msg_too_long");
    }
    if let Some(blocks) = blocks {
        check_blocks(blocks)?;
    }
    Ok(())
}

fn check_blocks(blocks: &Value) -> Result<(), &'static str> {
    let Some(list) = blocks.as_array() else {
        return Err("invalid_blocks");
    };
    let well_formed = list
        .iter()
        .all(|block| block.get("type").and_then(Value::as_str).is_some());
    if list.len() > MAX_BLOCKS || !well_formed {
        return Err("invalid_blocks");
    }
    // 12,000 characters for all markdown blocks of a message
    // (https://docs.slack.dev/reference/block-kit/blocks/markdown-block).
    let markdown_chars: usize = list
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("markdown"))
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .map(|text| text.chars().count())
        .sum();
    if markdown_chars > MAX_MARKDOWN_CHARS {
        return Err("msg_blocks_too_long");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_plausibility() {
        assert!(plausible_channel("C0ALERTS"));
        assert!(plausible_channel("#deploys"));
        assert!(!plausible_channel(""));
        assert!(!plausible_channel("c0alerts"));
        assert!(!plausible_channel("X123"));
    }

    #[test]
    fn content_rules() {
        let params = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(check_content(&params(json!({}))), Err("no_text"));
        assert_eq!(check_content(&params(json!({"text": "hi"}))), Ok(()));
        assert_eq!(
            check_content(&params(json!({"blocks": [{"text": "no type"}]}))),
            Err("invalid_blocks")
        );
        let markdown = json!({"blocks": [{"type": "markdown", "text": "y".repeat(12_001)}]});
        assert_eq!(check_content(&params(markdown)), Err("msg_blocks_too_long"));
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            check_content(&params(json!({"text": long}))),
            Err("msg_too_long")
        );
    }
}

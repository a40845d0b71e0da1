//! Builders for Socket Mode envelopes shaped like the ones Slack sends, each with a fresh envelope id.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::slack::clock::{next_envelope_id, next_event_id, next_id, next_ts};
pub use crate::slack::envelope::{Envelope, HOOKS_PLACEHOLDER};

/// The sandbox workspace id.
pub const TEAM_ID: &str = "T0SANDBOX";
/// The sandbox workspace domain.
pub const TEAM_DOMAIN: &str = "sandbox";
/// The app id the fake reports in hello and envelopes.
pub const APP_ID: &str = "A0SANDBOX";
/// The bot user id (`<@U0BOT>` in mentions).
pub const BOT_USER_ID: &str = "U0BOT";
/// The bot id carried by the bot's own messages.
pub const BOT_ID: &str = "B0BOT";
/// The (legacy) verification token put in payloads, as Slack still does.
const VERIFICATION_TOKEN: &str = "sandbox-verification-token";

/// An `app_mention` event at the top level of a channel.
pub fn app_mention(channel: &str, user: &str, text: &str) -> Envelope {
    events_api(mention_or_message("app_mention", channel, user, text, None))
}

/// An `app_mention` event inside the thread rooted at `thread_ts`.
pub fn app_mention_in_thread(channel: &str, user: &str, text: &str, thread_ts: &str) -> Envelope {
    events_api(mention_or_message(
        "app_mention",
        channel,
        user,
        text,
        Some(thread_ts),
    ))
}

/// A plain `message` event posted as a reply in the thread rooted at `thread_ts`.
pub fn thread_message(channel: &str, user: &str, text: &str, thread_ts: &str) -> Envelope {
    let mut event = mention_or_message("message", channel, user, text, Some(thread_ts));
    event.insert("channel_type".into(), json!("channel"));
    events_api(event)
}

/// A `message` event (`message.im`) that `user` sent the bot in their DM conversation `channel`
/// (a `D…` id), at the top level of the DM.
pub fn direct_message(channel: &str, user: &str, text: &str) -> Envelope {
    let mut event = mention_or_message("message", channel, user, text, None);
    event.insert("channel_type".into(), json!("im"));
    events_api(event)
}

/// A `message` event posted by a bot, which a bot must ignore. With `bot_id == BOT_ID` it is the
/// bot's own message echoed back (app-style: `bot_id` plus the bot user); any other `bot_id` gives
/// a legacy integration message with `subtype: "bot_message"`.
pub fn bot_message(channel: &str, bot_id: &str, text: &str) -> Envelope {
    let ts = next_ts();
    let mut event = Map::new();
    event.insert("type".into(), json!("message"));
    if bot_id == BOT_ID {
        event.insert("user".into(), json!(BOT_USER_ID));
        event.insert("app_id".into(), json!(APP_ID));
        event.insert(
            "bot_profile".into(),
            json!({"id": BOT_ID, "app_id": APP_ID, "name": "chatops-bot", "deleted": false, "team_id": TEAM_ID}),
        );
    } else {
        event.insert("subtype".into(), json!("bot_message"));
        event.insert("username".into(), json!("other-integration"));
    }
    event.insert("bot_id".into(), json!(bot_id));
    event.insert("text".into(), json!(text));
    event.insert("ts".into(), json!(ts));
    event.insert("team".into(), json!(TEAM_ID));
    event.insert("channel".into(), json!(channel));
    event.insert("event_ts".into(), json!(ts));
    event.insert("channel_type".into(), json!("channel"));
    events_api(event)
}

/// A `block_actions` interactive envelope: `user` clicked button `action_id` (with `value`) on the
/// bot message `message_ts` in `channel`. Carries a `response_url` and a `trigger_id`.
pub fn block_actions(
    channel: &str,
    user: &str,
    message_ts: &str,
    action_id: &str,
    value: &str,
) -> Envelope {
    let payload = json!({
        "type": "block_actions",
        "user": user_object(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": false
        },
        "trigger_id": trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": {"id": channel, "name": channel_name(channel)},
        "message": {
            "bot_id": BOT_ID,
            "type": "message",
            "text": "This content can't be displayed.",
            "user": BOT_USER_ID,
            "ts": message_ts,
            "team": TEAM_ID
        },
        "state": {"values": {}},
        "response_url": response_url("actions"),
        "actions": [{
            "action_id": action_id,
            "block_id": "chatops-actions",
            "text": {"type": "plain_text", "text": value, "emoji": true},
            "value": value,
            "type": "button",
            "action_ts": next_ts()
        }]
    });
    wrap(payload, "interactive", false)
}

/// A `slash_commands` envelope for `command` (e.g. `/chatops`) with `text`, from `user` in
/// `channel`. `accepts_response_payload` is true.
pub fn slash_command(command: &str, text: &str, channel: &str, user: &str) -> Envelope {
    let payload = json!({
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": channel_name(channel),
        "user_id": user,
        "user_name": user_name(user),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url("commands"),
        "trigger_id": trigger_id()
    });
    wrap(payload, "slash_commands", true)
}

/// A `view_submission` interactive envelope for the modal `callback_id`, with
/// `view.state.values = values` (shape `{block_id: {action_id: {type, value, …}}}`).
/// `accepts_response_payload` is true.
pub fn view_submission(
    callback_id: &str,
    private_metadata: &str,
    values: Value,
    user: &str,
) -> Envelope {
    let view_id = format!("V0SBX{:06}", next_id());
    let payload = json!({
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": user_object(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": input_blocks(&values),
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": format!("{}.sbx{:04}", unix_secs(), next_id() % 10_000),
            "title": {"type": "plain_text", "text": "ChatOps", "emoji": true},
            "clear_on_close": false,
            "notify_on_close": false,
            "close": {"type": "plain_text", "text": "Cancel", "emoji": true},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": true},
            "previous_view_id": null,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID
        },
        "response_urls": [],
        "is_enterprise_install": false,
        "enterprise": null
    });
    wrap(payload, "interactive", true)
}

/// The inner event of a user-authored `app_mention` or `message`.
fn mention_or_message(
    event_type: &str,
    channel: &str,
    user: &str,
    text: &str,
    thread_ts: Option<&str>,
) -> Map<String, Value> {
    let ts = next_ts();
    let mut event = Map::new();
    event.insert("client_msg_id".into(), json!(next_envelope_id()));
    event.insert("type".into(), json!(event_type));
    event.insert("text".into(), json!(text));
    event.insert("user".into(), json!(user));
    event.insert("ts".into(), json!(ts));
    event.insert("team".into(), json!(TEAM_ID));
    event.insert("blocks".into(), rich_text_blocks(text));
    event.insert("channel".into(), json!(channel));
    event.insert("event_ts".into(), json!(ts));
    if let Some(thread_ts) = thread_ts {
        event.insert("thread_ts".into(), json!(thread_ts));
    }
    event
}

/// Wraps an inner event into an `events_api` envelope with a fresh `event_id`.
fn events_api(event: Map<String, Value>) -> Envelope {
    let event_type = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_string();
    let channel = event
        .get("channel")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let payload = json!({
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": Value::Object(event),
        "type": "event_callback",
        "event_id": next_event_id(),
        "event_time": unix_secs(),
        "authorizations": [{
            "enterprise_id": null,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "is_bot": true,
            "is_enterprise_install": false
        }],
        "is_ext_shared_channel": false,
        "event_context": format!("4-{event_type}-{TEAM_ID}-{channel}")
    });
    let mut envelope = wrap(payload, "events_api", false);
    if let Some(Value::Object(map)) = envelope.json_mut() {
        map.insert("retry_attempt".into(), json!(0));
        map.insert("retry_reason".into(), json!(""));
    }
    envelope
}

fn wrap(payload: Value, kind: &str, accepts_response_payload: bool) -> Envelope {
    Envelope::raw(json!({
        "envelope_id": next_envelope_id(),
        "payload": payload,
        "type": kind,
        "accepts_response_payload": accepts_response_payload
    }))
}

/// Slack's `rich_text` rendering of a message text: `<@U…>` become user elements.
fn rich_text_blocks(text: &str) -> Value {
    let mut elements = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        if start > 0 {
            elements.push(json!({"type": "text", "text": &rest[..start]}));
        }
        let user_id = rest[start + 2..start + len].split('|').next().unwrap_or("");
        elements.push(json!({"type": "user", "user_id": user_id}));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        elements.push(json!({"type": "text", "text": rest}));
    }
    json!([{
        "type": "rich_text",
        "block_id": format!("sbx{}", next_id() % 100_000),
        "elements": [{"type": "rich_text_section", "elements": elements}]
    }])
}

/// One `input` block per `block_id`/`action_id` pair of a view's state values.
fn input_blocks(values: &Value) -> Value {
    let mut blocks = Vec::new();
    if let Some(by_block) = values.as_object() {
        for (block_id, actions) in by_block {
            for (action_id, state) in actions.as_object().into_iter().flatten() {
                let element_type = state
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("plain_text_input");
                blocks.push(json!({
                    "type": "input",
                    "block_id": block_id,
                    "label": {"type": "plain_text", "text": block_id, "emoji": true},
                    "optional": false,
                    "element": {"type": element_type, "action_id": action_id}
                }));
            }
        }
    }
    Value::Array(blocks)
}

fn user_object(user: &str) -> Value {
    json!({"id": user, "username": user_name(user), "name": user_name(user), "team_id": TEAM_ID})
}

/// The plausible handle the fake gives every user id (also used by `users.info`).
pub fn user_name(user: &str) -> String {
    format!("user-{}", user.to_ascii_lowercase())
}

/// The plausible name the fake gives every channel id.
pub fn channel_name(channel: &str) -> String {
    format!("sandbox-{}", channel.to_ascii_lowercase())
}

fn response_url(kind: &str) -> String {
    let n = next_id();
    format!(
        "{HOOKS_PLACEHOLDER}{kind}/{TEAM_ID}/{n}/sbx{:08x}",
        n.wrapping_mul(0x9E37_79B9) as u32
    )
}

fn trigger_id() -> String {
    let n = next_id();
    format!(
        "{n}.{}.sbx{:016x}",
        unix_secs(),
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    )
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1_700_000_000, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_mention_has_slack_shape() {
        let envelope = app_mention("C0ALERTS", "U0ALICE", "<@U0BOT> help");
        let v = envelope.json().expect("json");
        assert_eq!(v["type"], "events_api");
        assert_eq!(v["retry_attempt"], 0);
        assert_eq!(v["retry_reason"], "");
        assert_eq!(v["accepts_response_payload"], false);
        assert_eq!(v["payload"]["type"], "event_callback");
        let event = &v["payload"]["event"];
        assert_eq!(event["type"], "app_mention");
        assert_eq!(event["user"], "U0ALICE");
        assert_eq!(event["channel"], "C0ALERTS");
        assert_eq!(event["ts"], event["event_ts"]);
        assert!(event.get("thread_ts").is_none());
        let elements = &event["blocks"][0]["elements"][0]["elements"];
        assert_eq!(elements[0]["user_id"], "U0BOT");
        assert_eq!(elements[1]["text"], " help");
        assert!(envelope.event_id().is_some_and(|id| id.starts_with("Ev")));
    }

    #[test]
    fn ids_and_timestamps_are_fresh() {
        let a = thread_message("C1", "U1", "hi", "1700000000.000100");
        let b = thread_message("C1", "U1", "hi", "1700000000.000100");
        assert_ne!(a.envelope_id(), b.envelope_id());
        assert_ne!(a.event_id(), b.event_id());
        let ts = |e: &Envelope| e.json().expect("json")["payload"]["event"]["ts"].clone();
        assert!(ts(&a).as_str() < ts(&b).as_str());
        assert_eq!(
            a.json().expect("json")["payload"]["event"]["thread_ts"],
            "1700000000.000100"
        );
    }

    #[test]
    fn interactive_envelopes_carry_placeholders_and_response_flags() {
        let click = block_actions("C1", "U1", "1700000000.000200", "approve", "deploy-7");
        let v = click.json().expect("json");
        assert_eq!(v["type"], "interactive");
        assert!(v.get("retry_attempt").is_none());
        assert_eq!(v["payload"]["actions"][0]["action_id"], "approve");
        assert_eq!(v["payload"]["container"]["message_ts"], "1700000000.000200");
        let url = v["payload"]["response_url"].as_str().expect("response_url");
        assert!(url.starts_with(HOOKS_PLACEHOLDER));
        let slash = slash_command("/chatops", "status", "C1", "U1");
        assert!(slash.accepts_response_payload());
        assert_eq!(slash.kind(), Some("slash_commands"));
        let submit = view_submission(
            "deploy-modal",
            "meta",
            json!({"env": {"env-select": {"type": "static_select", "selected_option": {"value": "prod"}}}}),
            "U1",
        );
        let v = submit.json().expect("json");
        assert!(submit.accepts_response_payload());
        assert_eq!(v["payload"]["view"]["callback_id"], "deploy-modal");
        assert_eq!(v["payload"]["view"]["blocks"][0]["block_id"], "env");
    }

    #[test]
    fn bot_messages_carry_bot_id() {
        let own = bot_message("C1", BOT_ID, "card");
        let event = &own.json().expect("json")["payload"]["event"];
        assert_eq!(event["bot_id"], BOT_ID);
        assert_eq!(event["user"], BOT_USER_ID);
        let other = bot_message("C1", "B0OTHER", "x");
        assert_eq!(
            other.json().expect("json")["payload"]["event"]["subtype"],
            "bot_message"
        );
    }
}

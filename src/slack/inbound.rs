//! Parse Socket Mode envelope payloads into typed `Interaction`s: the one place that reads Slack's event JSON.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::interaction::*;

/// What an envelope turned out to be once its payload was read.
// Moved once per envelope; boxing the large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum Inbound {
    /// Work for a handler. `event_id` is set for Events API deliveries and is the dedupe key.
    Interaction {
        interaction: Interaction,
        event_id: Option<String>,
    },
    /// Valid, but nothing the bot acts on (its own messages, edits, unsupported event types…).
    Ignored { reason: String },
}

/// A payload that could not be understood. The envelope was acked already; this is for logs.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PayloadError {
    #[error("envelope of type {kind:?} has no payload")]
    Missing { kind: String },
    #[error("unknown envelope type {0:?}")]
    UnknownEnvelopeType(String),
    #[error("{kind} payload does not parse: {reason}")]
    Malformed { kind: String, reason: String },
}

/// Parse the payload of an envelope of the given Socket Mode `type`. Pure.
pub fn parse_payload(envelope_type: &str, payload: Option<&str>) -> Result<Inbound, PayloadError> {
    let payload = payload.ok_or_else(|| PayloadError::Missing {
        kind: envelope_type.to_owned(),
    })?;
    let malformed = |e: serde_json::Error| PayloadError::Malformed {
        kind: envelope_type.to_owned(),
        reason: e.to_string(),
    };
    match envelope_type {
        "events_api" => Ok(events_api(
            serde_json::from_str(payload).map_err(malformed)?,
        )),
        "interactive" => interactive(serde_json::from_str(payload).map_err(malformed)?),
        "slash_commands" => Ok(slash_command(
            serde_json::from_str(payload).map_err(malformed)?,
        )),
        other => Err(PayloadError::UnknownEnvelopeType(other.to_owned())),
    }
}

fn ignored(reason: impl Into<String>) -> Inbound {
    Inbound::Ignored {
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
struct EventCallback {
    #[serde(rename = "type")]
    kind: String,
    event_id: Option<String>,
    event: Option<WireEvent>,
    team_id: Option<String>,
    #[serde(default)]
    authorizations: Vec<WireAuthorization>,
}

#[derive(Deserialize)]
struct WireAuthorization {
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    user: Option<String>,
    /// The author's workspace (absent in older payloads; the callback's `team_id` then).
    team: Option<String>,
    bot_id: Option<String>,
    text: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    channel: Option<String>,
    /// `im` for direct messages; `channel`, `group`, `mpim` otherwise.
    channel_type: Option<String>,
}

fn events_api(callback: EventCallback) -> Inbound {
    if callback.kind != "event_callback" {
        return ignored(format!("events_api payload of type {}", callback.kind));
    }
    let Some(event) = callback.event else {
        return ignored("event_callback without an event");
    };
    let bot_user = callback
        .authorizations
        .first()
        .and_then(|a| a.user_id.clone());
    let event_id = callback.event_id;
    let team = event.team.clone().or(callback.team_id);
    let interaction = match event.kind.as_str() {
        "app_mention" => mention(event, team),
        "message" if event.channel_type.as_deref() == Some("im") => direct_message(event),
        "message" => thread_message(event, bot_user.as_deref()),
        other => Err(format!("event type {other}")),
    };
    match interaction {
        Ok(interaction) => Inbound::Interaction {
            interaction,
            event_id,
        },
        Err(reason) => ignored(reason),
    }
}

fn required(value: Option<String>, what: &str) -> Result<String, String> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("event without {what}"))
}

fn mention(event: WireEvent, team: Option<String>) -> Result<Interaction, String> {
    if event.bot_id.is_some() {
        return Err("mention written by a bot".into());
    }
    Ok(Interaction::Mention(Mention {
        channel: ChannelId(required(event.channel, "channel")?),
        user: UserId(required(event.user, "user")?),
        team: team.filter(|t| !t.is_empty()).map(TeamId),
        text: strip_leading_mention(event.text.as_deref().unwrap_or("")),
        ts: MessageTs(required(event.ts, "ts")?),
        thread_ts: event.thread_ts.map(MessageTs),
    }))
}

/// A human's message in their DM with the bot. Slack sends no `app_mention` in DMs, so a DM
/// that mentions the bot is still a DM (the leading mention is stripped like a mention's).
fn direct_message(event: WireEvent) -> Result<Interaction, String> {
    if event.bot_id.is_some() {
        return Err("direct message written by a bot".into());
    }
    if let Some(subtype) = event.subtype {
        return Err(format!("direct message subtype {subtype}"));
    }
    Ok(Interaction::DirectMessage(DirectMessage {
        channel: ChannelId(required(event.channel, "channel")?),
        user: UserId(required(event.user, "user")?),
        text: strip_leading_mention(event.text.as_deref().unwrap_or("")),
        ts: MessageTs(required(event.ts, "ts")?),
        thread_ts: event.thread_ts.map(MessageTs),
    }))
}

/// A human's reply in a channel thread. The router ignores these on purpose until a feature owns
/// threads; a reply that mentions the bot arrives as an `app_mention` too and is handled as one.
fn thread_message(event: WireEvent, bot_user: Option<&str>) -> Result<Interaction, String> {
    if event.bot_id.is_some() {
        return Err("message written by a bot".into());
    }
    if let Some(subtype) = event.subtype.filter(|s| s != "thread_broadcast") {
        return Err(format!("message subtype {subtype}"));
    }
    let text = event.text.unwrap_or_default();
    if let Some(bot) = bot_user {
        // Slack also sends an app_mention for this message; handle it once, as a mention.
        if text.contains(&format!("<@{bot}>")) {
            return Err("message mentions the bot (handled as app_mention)".into());
        }
    }
    let ts = required(event.ts, "ts")?;
    let thread_ts = match event.thread_ts {
        Some(thread_ts) if thread_ts != ts => thread_ts,
        _ => return Err("message outside a thread".into()),
    };
    Ok(Interaction::ThreadMessage(ThreadMessage {
        channel: ChannelId(required(event.channel, "channel")?),
        user: UserId(required(event.user, "user")?),
        text,
        ts: MessageTs(ts),
        thread_ts: MessageTs(thread_ts),
    }))
}

/// `"<@U0BOT> deploy v1"` → `"deploy v1"`; `"<@U0BOT|bot>  help"` → `"help"`.
fn strip_leading_mention(text: &str) -> String {
    let trimmed = text.trim_start();
    let rest = match trimmed
        .strip_prefix("<@")
        .and_then(|r| r.find('>').map(|i| &r[i + 1..]))
    {
        Some(rest) => rest,
        None => trimmed,
    };
    rest.trim().to_owned()
}

#[derive(Deserialize)]
struct WireInteractive {
    #[serde(rename = "type")]
    kind: String,
    user: Option<WireUser>,
    #[serde(default)]
    actions: Vec<WireAction>,
    container: Option<WireContainer>,
    channel: Option<WireId>,
    team: Option<WireId>,
    message: Option<WireMessageRef>,
    response_url: Option<String>,
    trigger_id: Option<String>,
    view: Option<WireView>,
}

#[derive(Deserialize)]
struct WireUser {
    id: String,
    team_id: Option<String>,
    username: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireId {
    id: String,
}

#[derive(Deserialize)]
struct WireAction {
    action_id: String,
    value: Option<String>,
    selected_option: Option<WireOption>,
}

#[derive(Deserialize)]
struct WireOption {
    value: String,
}

#[derive(Deserialize)]
struct WireContainer {
    message_ts: Option<String>,
    channel_id: Option<String>,
    thread_ts: Option<String>,
}

#[derive(Deserialize)]
struct WireMessageRef {
    ts: Option<String>,
    thread_ts: Option<String>,
}

#[derive(Deserialize)]
struct WireView {
    callback_id: Option<String>,
    private_metadata: Option<String>,
    state: Option<WireViewState>,
}

#[derive(Deserialize)]
struct WireViewState {
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, WireInput>>,
}

#[derive(Deserialize)]
struct WireInput {
    #[serde(rename = "type")]
    kind: String,
    value: Option<String>,
    selected_option: Option<WireOption>,
    #[serde(default)]
    selected_options: Vec<WireOption>,
    selected_user: Option<String>,
    selected_channel: Option<String>,
    selected_conversation: Option<String>,
    selected_date: Option<String>,
    #[serde(default)]
    selected_users: Vec<String>,
    #[serde(default)]
    selected_channels: Vec<String>,
    #[serde(default)]
    selected_conversations: Vec<String>,
}

fn interactive(payload: WireInteractive) -> Result<Inbound, PayloadError> {
    let malformed = |reason: &str| PayloadError::Malformed {
        kind: payload.kind.clone(),
        reason: reason.to_owned(),
    };
    let user = payload.user.as_ref().ok_or_else(|| malformed("no user"))?;
    match payload.kind.as_str() {
        "block_actions" => {
            let action = payload
                .actions
                .first()
                .ok_or_else(|| malformed("no actions"))?;
            let container = payload.container.as_ref();
            let channel = container
                .and_then(|c| c.channel_id.clone())
                .or_else(|| payload.channel.as_ref().map(|c| c.id.clone()));
            let message_ts = container
                .and_then(|c| c.message_ts.clone())
                .or_else(|| payload.message.as_ref().and_then(|m| m.ts.clone()));
            let thread_ts = container
                .and_then(|c| c.thread_ts.clone())
                .or_else(|| payload.message.as_ref().and_then(|m| m.thread_ts.clone()));
            let value = action
                .value
                .clone()
                .or_else(|| action.selected_option.as_ref().map(|o| o.value.clone()));
            Ok(Inbound::Interaction {
                interaction: Interaction::Button(ButtonClick {
                    user: UserId(user.id.clone()),
                    user_name: user.username.clone().or_else(|| user.name.clone()),
                    team: user
                        .team_id
                        .clone()
                        .or_else(|| payload.team.as_ref().map(|t| t.id.clone()))
                        .filter(|t| !t.is_empty())
                        .map(TeamId),
                    action_id: action.action_id.clone(),
                    value,
                    channel: channel.map(ChannelId),
                    message_ts: message_ts.map(MessageTs),
                    thread_ts: thread_ts.map(MessageTs),
                    response_url: payload.response_url.clone().map(ResponseUrl),
                    trigger_id: payload.trigger_id.clone(),
                }),
                event_id: None,
            })
        }
        "view_submission" => {
            let view = payload.view.as_ref().ok_or_else(|| malformed("no view"))?;
            Ok(Inbound::Interaction {
                interaction: Interaction::ViewSubmission(ViewSubmission {
                    user: UserId(user.id.clone()),
                    callback_id: view.callback_id.clone().unwrap_or_default(),
                    private_metadata: view.private_metadata.clone().unwrap_or_default(),
                    values: view_values(view),
                }),
                event_id: None,
            })
        }
        other => Ok(ignored(format!("interactive payload of type {other}"))),
    }
}

fn view_values(view: &WireView) -> BTreeMap<String, BTreeMap<String, InputValue>> {
    let Some(state) = &view.state else {
        return BTreeMap::new();
    };
    state
        .values
        .iter()
        .map(|(block, actions)| {
            let inputs = actions
                .iter()
                .map(|(action, input)| (action.clone(), input_value(input)));
            (block.clone(), inputs.collect())
        })
        .collect()
}

fn input_value(input: &WireInput) -> InputValue {
    match input.kind.as_str() {
        "plain_text_input" | "url_text_input" | "email_text_input" | "number_input" => {
            InputValue::Text(input.value.clone())
        }
        "static_select" | "external_select" | "radio_buttons" => {
            InputValue::Selected(input.selected_option.as_ref().map(|o| o.value.clone()))
        }
        "users_select" => InputValue::Selected(input.selected_user.clone()),
        "channels_select" => InputValue::Selected(input.selected_channel.clone()),
        "conversations_select" => InputValue::Selected(input.selected_conversation.clone()),
        "datepicker" => InputValue::Selected(input.selected_date.clone()),
        "multi_static_select" | "checkboxes" => InputValue::SelectedMany(
            input
                .selected_options
                .iter()
                .map(|o| o.value.clone())
                .collect(),
        ),
        "multi_users_select" => InputValue::SelectedMany(input.selected_users.clone()),
        "multi_channels_select" => InputValue::SelectedMany(input.selected_channels.clone()),
        "multi_conversations_select" => {
            InputValue::SelectedMany(input.selected_conversations.clone())
        }
        other => InputValue::Unsupported(other.to_owned()),
    }
}

#[derive(Deserialize)]
struct WireSlashCommand {
    command: String,
    #[serde(default)]
    text: String,
    user_id: String,
    channel_id: String,
    response_url: String,
    trigger_id: Option<String>,
}

fn slash_command(payload: WireSlashCommand) -> Inbound {
    Inbound::Interaction {
        interaction: Interaction::SlashCommand(SlashCommand {
            command: payload.command,
            text: payload.text.trim().to_owned(),
            user: UserId(payload.user_id),
            channel: ChannelId(payload.channel_id),
            response_url: ResponseUrl(payload.response_url),
            trigger_id: payload.trigger_id,
        }),
        event_id: None,
    }
}

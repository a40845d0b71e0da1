//! The fake's channel history: messages posted through the API (and users' messages seen in events).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::slack::envelopes::{APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID};

/// The current state of one message in a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Channel id.
    pub channel: String,
    /// Message timestamp (its id).
    pub ts: String,
    /// Thread root, for replies.
    pub thread_ts: Option<String>,
    /// Author user id.
    pub user: String,
    /// `Some` for bot-authored messages.
    pub bot_id: Option<String>,
    /// `username` an integration posted under (`bot_message`s).
    pub username: Option<String>,
    /// `subtype`, e.g. `bot_message`, `channel_join`.
    pub subtype: Option<String>,
    /// Text (fallback text when blocks are used).
    pub text: String,
    /// Block Kit blocks, as posted.
    pub blocks: Option<Value>,
    /// Legacy attachments, as posted.
    pub attachments: Option<Value>,
    /// Message metadata, as posted.
    pub metadata: Option<Value>,
    /// How many times `chat.update` changed it.
    pub edits: u32,
    /// Reaction names added with `reactions.add`, in order.
    pub reactions: Vec<String>,
    /// True when posted through the Web API (false: a user's message seen in an event).
    pub from_api: bool,
    /// True after `chat.delete`.
    pub deleted: bool,
    /// For a message made by `chat.startStream`: its streamed text, until a `chat.update`
    /// replaces the message's content.
    pub stream: Option<StreamedText>,
}

/// The text a stream has shown (`chat.startStream` + `chat.appendStream`s + `chat.stopStream`).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedText {
    /// Every `markdown_text` in order, concatenated.
    pub markdown: String,
    /// False after `chat.stopStream` or expiry.
    pub live: bool,
    /// `recipient_user_id` of the start.
    pub recipient_user: Option<String>,
    /// `chat.appendStream` calls that added text.
    pub appends: u32,
}

impl StoredMessage {
    /// A bot message built from `chat.postMessage` parameters.
    pub(crate) fn from_post(channel: &str, ts: String, params: &Map<String, Value>) -> Self {
        StoredMessage {
            channel: channel.to_string(),
            ts,
            thread_ts: str_param(params, "thread_ts"),
            user: BOT_USER_ID.to_string(),
            bot_id: Some(BOT_ID.to_string()),
            username: None,
            subtype: None,
            text: str_param(params, "text").unwrap_or_default(),
            blocks: params.get("blocks").cloned(),
            attachments: params.get("attachments").cloned(),
            metadata: params.get("metadata").cloned(),
            edits: 0,
            reactions: Vec::new(),
            from_api: true,
            deleted: false,
            stream: None,
        }
    }

    /// Applies `chat.update` parameters: only the fields given are replaced.
    pub(crate) fn apply_update(&mut self, params: &Map<String, Value>) {
        if let Some(text) = str_param(params, "text") {
            self.text = text;
        }
        if let Some(blocks) = params.get("blocks") {
            self.blocks = Some(blocks.clone());
        }
        if let Some(attachments) = params.get("attachments") {
            self.attachments = Some(attachments.clone());
        }
        if let Some(metadata) = params.get("metadata") {
            self.metadata = Some(metadata.clone());
        }
        if params.get("text").is_some() || params.get("blocks").is_some() {
            // New content replaces what a stream showed.
            self.stream = None;
        }
        self.edits += 1;
    }

    /// What a user reads: the streamed Markdown, then the text of each block (`markdown`,
    /// `section`, `header`, `context`), one per line; the plain `text` when there is neither.
    pub fn visible_text(&self) -> String {
        let mut lines: Vec<String> = self.stream.iter().map(|s| s.markdown.clone()).collect();
        for block in self
            .blocks
            .iter()
            .flat_map(|b| b.as_array().cloned().unwrap_or_default())
        {
            let text = |v: &Value| v.as_str().map(str::to_string);
            match block.get("type").and_then(Value::as_str) {
                Some("markdown") => lines.extend(block.get("text").and_then(text)),
                Some("section" | "header") => {
                    lines.extend(block.pointer("/text/text").and_then(text));
                }
                Some("context") => lines.extend(
                    block["elements"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.get("text").and_then(text)),
                ),
                _ => {}
            }
        }
        if lines.is_empty() {
            self.text.clone()
        } else {
            lines.join("\n")
        }
    }

    /// The message as Slack renders it in API responses.
    pub fn to_json(&self) -> Value {
        let mut message = json!({
            "type": "message",
            "text": self.text,
            "user": self.user,
            "ts": self.ts,
            "team": TEAM_ID,
        });
        let fields = [
            ("thread_ts", self.thread_ts.clone().map(Value::from)),
            ("bot_id", self.bot_id.clone().map(Value::from)),
            ("username", self.username.clone().map(Value::from)),
            ("subtype", self.subtype.clone().map(Value::from)),
            ("app_id", self.bot_id.as_ref().map(|_| Value::from(APP_ID))),
            ("blocks", self.blocks.clone()),
            ("attachments", self.attachments.clone()),
            ("metadata", self.metadata.clone()),
        ];
        if let Value::Object(map) = &mut message {
            for (key, value) in fields {
                if let Some(value) = value {
                    map.insert(key.into(), value);
                }
            }
            if self.edits > 0 {
                map.insert("edited".into(), json!({"user": self.user, "ts": self.ts}));
            }
            if !self.reactions.is_empty() {
                let reactions: Vec<Value> = self
                    .reactions
                    .iter()
                    .map(|name| json!({"name": name, "count": 1, "users": [BOT_USER_ID]}))
                    .collect();
                map.insert("reactions".into(), Value::Array(reactions));
            }
        }
        message
    }
}

/// An ephemeral message (`chat.postEphemeral`): visible to one user, never stored in history.
#[derive(Debug, Clone, PartialEq)]
pub struct EphemeralMessage {
    /// Channel id.
    pub channel: String,
    /// The only user who sees it.
    pub user: String,
    /// The `message_ts` the fake answered.
    pub message_ts: String,
    /// Thread it was posted in, if any.
    pub thread_ts: Option<String>,
    /// Text.
    pub text: String,
    /// Blocks, as posted.
    pub blocks: Option<Value>,
}

#[derive(Debug, Default)]
struct ChannelHistory {
    messages: Vec<StoredMessage>,
    by_ts: HashMap<String, usize>,
}

/// All channels' histories plus ephemeral messages.
#[derive(Debug, Default)]
pub(crate) struct MessageStore {
    channels: HashMap<String, ChannelHistory>,
    ephemerals: Vec<EphemeralMessage>,
}

impl MessageStore {
    /// Adds a message unless one with the same ts already exists in that channel.
    pub(crate) fn insert(&mut self, message: StoredMessage) -> bool {
        let history = self.channels.entry(message.channel.clone()).or_default();
        if history.by_ts.contains_key(&message.ts) {
            return false;
        }
        history
            .by_ts
            .insert(message.ts.clone(), history.messages.len());
        history.messages.push(message);
        true
    }

    pub(crate) fn get_mut(&mut self, channel: &str, ts: &str) -> Option<&mut StoredMessage> {
        let history = self.channels.get_mut(channel)?;
        let index = *history.by_ts.get(ts)?;
        history.messages.get_mut(index).filter(|m| !m.deleted)
    }

    pub(crate) fn get(&self, channel: &str, ts: &str) -> Option<&StoredMessage> {
        let history = self.channels.get(channel)?;
        let index = *history.by_ts.get(ts)?;
        history.messages.get(index).filter(|m| !m.deleted)
    }

    /// Live messages of a channel in posting order; `api_only` keeps only Web API posts.
    pub(crate) fn channel(&self, channel: &str, api_only: bool) -> Vec<StoredMessage> {
        self.channels
            .get(channel)
            .map(|history| {
                history
                    .messages
                    .iter()
                    .filter(|m| !m.deleted && (m.from_api || !api_only))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The thread rooted at `thread_ts`: the root (if known) followed by replies in ts order.
    pub(crate) fn thread(&self, channel: &str, thread_ts: &str) -> Vec<StoredMessage> {
        let mut thread: Vec<StoredMessage> = self
            .channel(channel, false)
            .into_iter()
            .filter(|m| m.ts == thread_ts || m.thread_ts.as_deref() == Some(thread_ts))
            .collect();
        thread.sort_by(|a, b| a.ts.cmp(&b.ts));
        thread
    }

    pub(crate) fn add_ephemeral(&mut self, message: EphemeralMessage) {
        self.ephemerals.push(message);
    }

    pub(crate) fn ephemerals(&self, channel: &str) -> Vec<EphemeralMessage> {
        self.ephemerals
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }
}

pub(crate) fn str_param(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn update_replaces_only_given_fields_and_thread_is_ordered() {
        let mut store = MessageStore::default();
        let root = StoredMessage::from_post(
            "C1",
            "1700000000.000001".into(),
            &params(json!({"text": "root", "blocks": [{"type": "divider"}]})),
        );
        assert!(store.insert(root.clone()));
        assert!(!store.insert(root), "same ts is not stored twice");
        let reply = StoredMessage::from_post(
            "C1",
            "1700000000.000002".into(),
            &params(json!({"text": "reply", "thread_ts": "1700000000.000001"})),
        );
        store.insert(reply);
        let message = store
            .get_mut("C1", "1700000000.000001")
            .expect("root stored");
        message.apply_update(&params(json!({"text": "edited"})));
        let root = store.get("C1", "1700000000.000001").expect("root");
        assert_eq!(root.text, "edited");
        assert_eq!(root.blocks, Some(json!([{"type": "divider"}])));
        assert_eq!(root.edits, 1);
        let thread = store.thread("C1", "1700000000.000001");
        assert_eq!(thread.len(), 2);
        assert_eq!(thread[1].text, "reply");
        assert!(store.thread("C1", "1.0").is_empty());
        assert!(store.channel("C2", true).is_empty());
    }
}

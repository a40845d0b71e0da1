//! `conversations.replies` on `SlackMessenger`: a whole thread, page by page, as typed messages
//! (Slack's JSON stays here: the readable text of Block Kit cards is taken out of their blocks).

use std::collections::HashSet;

use serde_json::Value;
use tracing::warn;

use super::{BotIdentity, SlackApiError, SlackMessenger};
use crate::slack::interaction::{ChannelId, MessageTs, UserId};

/// Messages asked for per page: Slack recommends no more than 200.
pub const REPLIES_PAGE_LIMIT: usize = 200;
/// Most pages read for one thread (10,000 messages); a longer thread is cut, and says so.
pub const MAX_REPLIES_PAGES: usize = 50;

/// One message of a thread as Slack lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadMessage {
    pub ts: MessageTs,
    /// The user who wrote it; an app's messages carry its bot user too.
    pub user: Option<UserId>,
    /// `bot_id` (`B…`), on messages an app or integration posted.
    pub bot_id: Option<String>,
    /// The bot's name as Slack gives it (`bot_profile.name`, else `username`).
    pub bot_name: Option<String>,
    /// The message's mrkdwn: the readable text of its blocks (section, header, context, markdown
    /// blocks, also inside attachments) when it has any, else `text`.
    pub text: String,
    /// `subtype`, e.g. `bot_message`, `thread_broadcast`, `channel_join`.
    pub subtype: Option<String>,
    /// `metadata.event_type`, e.g. the bot's own `chatops_post` or `chatops_placeholder`.
    pub event_type: Option<String>,
}

impl ThreadMessage {
    /// Posted by an app or integration rather than typed by a person.
    pub fn is_bot(&self) -> bool {
        self.bot_id.is_some() || self.subtype.as_deref() == Some("bot_message")
    }

    /// Posted by this bot (`me`, from `auth.test`).
    pub fn is_from(&self, me: &BotIdentity) -> bool {
        self.user.as_ref() == Some(&me.user_id)
            || (self.bot_id.is_some() && self.bot_id == me.bot_id)
    }
}

/// A thread as read: its messages oldest first, whether it was cut, and what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadRead {
    pub messages: Vec<ThreadMessage>,
    /// True when the thread had more than [`MAX_REPLIES_PAGES`] pages: the newest were not read.
    pub cut: bool,
    /// `conversations.replies` calls made (retries of one page count once).
    pub calls: u32,
}

/// The part of a `conversations.replies` page the bot reads.
#[derive(serde::Deserialize)]
struct RepliesPage {
    #[serde(default)]
    messages: Vec<RawMessage>,
    response_metadata: Option<NextCursor>,
}

#[derive(serde::Deserialize)]
struct NextCursor {
    next_cursor: Option<String>,
}

#[derive(serde::Deserialize)]
struct RawMessage {
    ts: String,
    user: Option<String>,
    bot_id: Option<String>,
    username: Option<String>,
    bot_profile: Option<BotProfile>,
    #[serde(default)]
    text: String,
    subtype: Option<String>,
    #[serde(default)]
    blocks: Vec<Value>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    metadata: Option<RawMetadata>,
}

#[derive(serde::Deserialize)]
struct BotProfile {
    name: Option<String>,
}

#[derive(serde::Deserialize)]
struct Attachment {
    #[serde(default)]
    blocks: Vec<Value>,
}

#[derive(serde::Deserialize)]
struct RawMetadata {
    event_type: Option<String>,
}

impl RawMessage {
    fn typed(self) -> ThreadMessage {
        let blocks = self
            .blocks
            .iter()
            .chain(self.attachments.iter().flat_map(|a| a.blocks.iter()));
        let block_text = blocks_text(blocks);
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        ThreadMessage {
            ts: MessageTs(self.ts),
            user: nonempty(self.user).map(UserId),
            bot_id: nonempty(self.bot_id),
            bot_name: nonempty(self.bot_profile.and_then(|p| p.name)).or(nonempty(self.username)),
            text: if block_text.trim().is_empty() {
                self.text
            } else {
                block_text
            },
            subtype: self.subtype,
            event_type: self.metadata.and_then(|m| m.event_type),
        }
    }
}

/// The readable text of Block Kit blocks, one block a line: `section` text and fields,
/// `header`, `context` elements, `markdown` blocks. Buttons, images and dividers say nothing.
fn blocks_text<'a>(blocks: impl Iterator<Item = &'a Value>) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for block in blocks {
        let text_of = |v: &'a Value| v.get("text").and_then(Value::as_str);
        match block.get("type").and_then(Value::as_str) {
            Some("section") => {
                lines.extend(block.get("text").and_then(text_of));
                let fields = block.get("fields").and_then(Value::as_array);
                lines.extend(fields.into_iter().flatten().filter_map(text_of));
            }
            Some("header") => lines.extend(block.get("text").and_then(text_of)),
            Some("context") => {
                let elements = block.get("elements").and_then(Value::as_array);
                lines.extend(elements.into_iter().flatten().filter_map(text_of));
            }
            Some("markdown") => lines.extend(text_of(block)),
            _ => {}
        }
    }
    lines.retain(|line| !line.trim().is_empty());
    lines.join("\n")
}

impl SlackMessenger {
    pub(super) async fn read_thread_call(
        &self,
        channel: &ChannelId,
        thread: &MessageTs,
    ) -> Result<ThreadRead, SlackApiError> {
        const METHOD: &str = "conversations.replies";
        let limit = REPLIES_PAGE_LIMIT.to_string();
        let mut read = ThreadRead {
            messages: Vec::new(),
            cut: false,
            calls: 0,
        };
        let mut seen: HashSet<String> = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            if read.calls as usize >= MAX_REPLIES_PAGES {
                read.cut = true;
                warn!(channel = %channel.0, thread = %thread.0, pages = MAX_REPLIES_PAGES, "A thread is longer than the bot reads; its newest messages are left out.");
                break;
            }
            let params: Vec<(&str, Option<&str>)> = vec![
                ("channel", Some(channel.0.as_str())),
                ("ts", Some(thread.0.as_str())),
                ("limit", Some(limit.as_str())),
                ("include_all_metadata", Some("true")),
                ("cursor", cursor.as_deref()),
            ];
            let page = self
                .call(METHOD, None, || async {
                    self.session(&self.token())
                        .http_session_api
                        .http_get::<RepliesPage, _, _>(METHOD, &params, None)
                        .await
                })
                .await?;
            read.calls += 1;
            // Some pages repeat the root: each message is kept once.
            for message in page.messages {
                if seen.insert(message.ts.clone()) {
                    read.messages.push(message.typed());
                }
            }
            cursor = page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        read.messages.sort_by_key(|a| ts_order(&a.ts.0));
        Ok(read)
    }
}

/// A message ts as a sortable pair (seconds, microseconds); unreadable ones sort first.
pub(crate) fn ts_order(ts: &str) -> (u64, u64) {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let micros: String = micros.chars().take(6).collect();
    let micros = format!("{micros:0<6}");
    (secs.parse().unwrap_or(0), micros.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(value: Value) -> ThreadMessage {
        serde_json::from_value::<RawMessage>(value).unwrap().typed()
    }

    #[test]
    fn a_card_reads_as_its_blocks_and_a_person_as_their_text() {
        let card = typed(json!({
            "ts": "1700000000.000100", "user": "U0BOT", "bot_id": "B0BOT", "text": "fallback",
            "metadata": {"event_type": "chatops_post"},
            "attachments": [{"color": "#d00000", "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "🚨 ALARM"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*api-5xx*"},
                 "fields": [{"type": "mrkdwn", "text": "Region: eu-west-1"}]},
                {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Watch"}}]},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "since 14:05"}]}
            ]}]
        }));
        assert_eq!(
            card.text,
            "🚨 ALARM\n*api-5xx*\nRegion: eu-west-1\nsince 14:05"
        );
        assert!(card.is_bot());
        assert_eq!(card.event_type.as_deref(), Some("chatops_post"));
        let person = typed(json!({"ts": "1.2", "user": "U1", "text": "on it <@U2>",
            "blocks": [{"type": "rich_text", "elements": []}]}));
        assert_eq!(person.text, "on it <@U2>");
        assert!(!person.is_bot());
        let integration = typed(
            json!({"ts": "1.3", "subtype": "bot_message", "bot_id": "B9",
            "username": "deploy-bot", "text": "deployed"}),
        );
        assert_eq!(integration.bot_name.as_deref(), Some("deploy-bot"));
        assert!(integration.is_bot());
    }

    #[test]
    fn timestamps_sort_by_number_not_by_text() {
        assert!(ts_order("999999999.9") < ts_order("1000000000.000001"));
        assert!(ts_order("1700000000.000002") < ts_order("1700000000.000010"));
    }
}

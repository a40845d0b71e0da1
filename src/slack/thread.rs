//! A Slack thread as a transcript for a report: every message kept oldest first with its time
//! (UTC), its author's name, its text as plain segments and its permalink; the bot's own
//! placeholders left out. `read_transcript` is the step; `transcript` its pure half.

use std::collections::HashMap;

use futures_util::future::join_all;
use time::OffsetDateTime;
use tracing::warn;

use super::blocks::PLACEHOLDER_EVENT_TYPE;
use super::interaction::{ChannelId, MessageTs, UserId};
use super::markup::{mentioned_users, plain_text, segments, Segment};
use super::messenger::{
    permalink_from_team_url, permalink_like, BotIdentity, Messenger, SlackApiError, ThreadMessage,
    ThreadRead,
};

/// Subtypes that are Slack's own housekeeping, not something anyone said.
const HOUSEKEEPING_SUBTYPES: [&str; 5] = [
    "channel_join",
    "channel_leave",
    "group_join",
    "group_leave",
    "tombstone",
];

/// One message of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptMessage {
    pub ts: MessageTs,
    /// When it was posted (from its ts), in UTC.
    pub time: OffsetDateTime,
    /// The author's display name (a bot's name for bot messages).
    pub author: String,
    /// The author's user id, when Slack gave one.
    pub author_id: Option<UserId>,
    /// Posted by an app or integration (this bot included: its cards' transitions, its answers).
    pub is_bot: bool,
    /// Posted by this bot.
    pub is_own: bool,
    /// The text as readable pieces (links kept apart for a renderer).
    pub segments: Vec<Segment>,
    /// The same text as one plain string.
    pub text: String,
    /// The message's Slack permalink.
    pub permalink: String,
}

/// A person who wrote in the thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub user: UserId,
    pub name: String,
    /// Messages they wrote in the thread.
    pub messages: usize,
}

/// The Slack calls one transcript cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlackCalls {
    pub replies: u32,
    pub users_info: u32,
    pub permalinks: u32,
}

impl SlackCalls {
    pub fn total(&self) -> u32 {
        self.replies + self.users_info + self.permalinks
    }
}

/// A thread, read whole (or up to its cut) and made readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadTranscript {
    pub channel: ChannelId,
    pub thread: MessageTs,
    /// The root's permalink: the link to the whole thread.
    pub thread_link: String,
    /// Oldest first, the root first.
    pub messages: Vec<TranscriptMessage>,
    /// True when the thread was longer than the bot reads; the newest messages are missing.
    pub cut: bool,
    /// Messages left out: the bot's placeholders and Slack's join/leave notices.
    pub left_out: usize,
    /// People (not bots) who wrote, in order of their first message.
    pub participants: Vec<Participant>,
    pub slack_calls: SlackCalls,
}

/// Reads `thread` in `channel` and makes it a transcript: `conversations.replies` page by page,
/// one `users.info` per user not yet known (authors and mentions; a failed lookup shows the
/// id), one `chat.getPermalink` for the root (built from `me.team_url` if that fails; every
/// other permalink is built from the root's). Fails only when the thread cannot be read.
pub async fn read_transcript(
    messenger: &dyn Messenger,
    me: &BotIdentity,
    channel: &ChannelId,
    thread: &MessageTs,
) -> Result<ThreadTranscript, SlackApiError> {
    let read = messenger.read_thread(channel, thread).await?;
    let mut calls = SlackCalls {
        replies: read.calls,
        ..SlackCalls::default()
    };
    let wanted = users_to_name(&read, me);
    let lookups = join_all(wanted.iter().map(|id| messenger.user_name(id))).await;
    let mut names = HashMap::new();
    for (id, lookup) in wanted.into_iter().zip(lookups) {
        match lookup {
            Ok(found) => {
                calls.users_info += u32::from(found.called_slack);
                names.insert(id.0, found.name);
            }
            Err(e) => {
                calls.users_info += 1;
                warn!(user = %id.0, error = format!("{:#}", anyhow::Error::new(e)), "Could not look up a user's name; the transcript shows the id.");
            }
        }
    }
    calls.permalinks += 1;
    let thread_link = match messenger.permalink(channel, thread).await {
        Ok(link) => link,
        Err(e) => {
            warn!(channel = %channel.0, error = format!("{:#}", anyhow::Error::new(e)), "chat.getPermalink failed; building the thread's links from the workspace URL.");
            let team_url = me.team_url.as_deref().unwrap_or("https://slack.com");
            permalink_from_team_url(team_url, channel, thread, None)
        }
    };
    let mut transcript = transcript(read, me, channel, thread, &thread_link, &names);
    transcript.slack_calls = calls;
    Ok(transcript)
}

/// The users whose names a transcript of `read` needs: people who wrote, other bots' users when
/// Slack gave no bot name, and everyone mentioned, each once. This bot is `me` already.
fn users_to_name(read: &ThreadRead, me: &BotIdentity) -> Vec<UserId> {
    let mut wanted: Vec<UserId> = Vec::new();
    let mut want = |id: UserId| {
        if id != me.user_id && !wanted.contains(&id) {
            wanted.push(id);
        }
    };
    for message in read.messages.iter().filter(|m| kept(m, me)) {
        if let Some(user) = &message.user {
            if !message.is_bot() || message.bot_name.is_none() {
                want(user.clone());
            }
        }
        mentioned_users(&message.text)
            .into_iter()
            .for_each(|id| want(UserId(id)));
    }
    wanted
}

/// The pure half: `read` as a transcript, with user names from `names` (an id without a name
/// shows the id) and permalinks built like `thread_link`. `slack_calls` is left at zero.
pub fn transcript(
    read: ThreadRead,
    me: &BotIdentity,
    channel: &ChannelId,
    thread: &MessageTs,
    thread_link: &str,
    names: &HashMap<String, String>,
) -> ThreadTranscript {
    let name_of = |id: &str| -> Option<String> {
        if id == me.user_id.0 {
            return Some(me.name.clone());
        }
        names.get(id).cloned()
    };
    let total = read.messages.len();
    let mut participants: Vec<Participant> = Vec::new();
    let mut messages = Vec::with_capacity(total);
    for message in read.messages.into_iter().filter(|m| kept(m, me)) {
        let is_own = message.is_from(me);
        let is_bot = message.is_bot() || is_own;
        let author = if is_own {
            me.name.clone()
        } else if let (true, Some(bot)) = (is_bot, &message.bot_name) {
            bot.clone()
        } else if let Some(user) = &message.user {
            name_of(&user.0).unwrap_or_else(|| user.0.clone())
        } else {
            message
                .bot_id
                .clone()
                .unwrap_or_else(|| "unknown".to_owned())
        };
        if let (false, Some(user)) = (is_bot, &message.user) {
            match participants.iter_mut().find(|p| p.user == *user) {
                Some(p) => p.messages += 1,
                None => participants.push(Participant {
                    user: user.clone(),
                    name: author.clone(),
                    messages: 1,
                }),
            }
        }
        let pieces = segments(&message.text, &name_of);
        let permalink = permalink_like(thread_link, channel, &message.ts, Some(thread))
            .unwrap_or_else(|| thread_link.to_owned());
        messages.push(TranscriptMessage {
            time: ts_time(&message.ts),
            author,
            author_id: message.user,
            is_bot,
            is_own,
            text: plain_text(&pieces),
            segments: pieces,
            permalink,
            ts: message.ts,
        });
    }
    ThreadTranscript {
        channel: channel.clone(),
        thread: thread.clone(),
        thread_link: thread_link.to_owned(),
        left_out: total - messages.len(),
        messages,
        cut: read.cut,
        participants,
        slack_calls: SlackCalls::default(),
    }
}

/// Whether a message belongs in the transcript: not this bot's placeholder, not housekeeping.
fn kept(message: &ThreadMessage, me: &BotIdentity) -> bool {
    let placeholder =
        message.is_from(me) && message.event_type.as_deref() == Some(PLACEHOLDER_EVENT_TYPE);
    let housekeeping = message
        .subtype
        .as_deref()
        .is_some_and(|s| HOUSEKEEPING_SUBTYPES.contains(&s));
    !placeholder && !housekeeping
}

/// A message ts (`1700000000.000100`) as a UTC time; the epoch when it cannot be read.
pub fn ts_time(ts: &MessageTs) -> OffsetDateTime {
    let (secs, micros) = super::messenger::ts_order(&ts.0);
    let nanos = i128::from(secs) * 1_000_000_000 + i128::from(micros) * 1_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests;

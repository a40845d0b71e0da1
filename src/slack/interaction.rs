//! The typed inbound work the bot receives from Slack: one closed `Interaction` enum.

use std::collections::BTreeMap;
use std::fmt;

/// A Slack channel id such as `C0123ABCD`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub String);

/// A Slack user id such as `U0123ABCD`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub String);

/// A Slack workspace (team) id such as `T0123ABCD`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TeamId(pub String);

/// A message timestamp, Slack's message id within a channel (`1700000000.000100`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageTs(pub String);

/// A `response_url` Slack handed us with an interaction; valid for 30 minutes, 5 uses.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseUrl(pub String);

impl fmt::Debug for ResponseUrl {
    // The URL is a bearer capability: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseUrl(…)")
    }
}

macro_rules! display_inner {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
    )*};
}
display_inner!(ChannelId, UserId, TeamId, MessageTs);

/// Everything a user can do that reaches a handler. The router matches on it exhaustively.
#[derive(Clone, Debug, PartialEq)]
pub enum Interaction {
    /// `@bot …` in a channel or thread.
    Mention(Mention),
    /// A human's message in their direct message conversation with the bot.
    DirectMessage(DirectMessage),
    /// A human's message in a thread (the router decides whether the bot owns the thread).
    ThreadMessage(ThreadMessage),
    /// A click on a button of one of the bot's messages.
    Button(ButtonClick),
    /// A slash command such as `/platform-deploy v1.2.3`.
    SlashCommand(SlashCommand),
    /// A submitted modal.
    ViewSubmission(ViewSubmission),
}

impl Interaction {
    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Interaction::Mention(_) => "mention",
            Interaction::DirectMessage(_) => "direct_message",
            Interaction::ThreadMessage(_) => "thread_message",
            Interaction::Button(_) => "button",
            Interaction::SlashCommand(_) => "slash_command",
            Interaction::ViewSubmission(_) => "view_submission",
        }
    }
}

/// `@bot some text`; `text` has the leading bot mention removed and is trimmed.
#[derive(Clone, Debug, PartialEq)]
pub struct Mention {
    pub channel: ChannelId,
    pub user: UserId,
    /// The user's workspace, when Slack says (streamed answers name their recipient's team).
    pub team: Option<TeamId>,
    pub text: String,
    pub ts: MessageTs,
    /// The thread the mention was posted in, if any.
    pub thread_ts: Option<MessageTs>,
}

impl Mention {
    /// The thread a reply belongs in: the existing thread, or a new one under the mention.
    pub fn reply_thread(&self) -> &MessageTs {
        self.thread_ts.as_ref().unwrap_or(&self.ts)
    }
}

/// A message a human sent the bot directly (`message.im`); `text` has any leading bot mention
/// removed and is trimmed.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectMessage {
    /// The DM conversation (`D…`).
    pub channel: ChannelId,
    pub user: UserId,
    pub text: String,
    pub ts: MessageTs,
    /// Set when the message is a reply in a thread of the DM.
    pub thread_ts: Option<MessageTs>,
}

/// A plain message posted by a human inside a thread.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadMessage {
    pub channel: ChannelId,
    pub user: UserId,
    pub text: String,
    pub ts: MessageTs,
    pub thread_ts: MessageTs,
}

/// A button click (`block_actions` with a button element).
#[derive(Clone, Debug, PartialEq)]
pub struct ButtonClick {
    pub user: UserId,
    pub user_name: Option<String>,
    /// The clicking user's workspace, when Slack says.
    pub team: Option<TeamId>,
    pub action_id: String,
    pub value: Option<String>,
    /// The channel and message the button sits on (absent for buttons in modals).
    pub channel: Option<ChannelId>,
    pub message_ts: Option<MessageTs>,
    /// The thread of that message, when the message is itself a reply.
    pub thread_ts: Option<MessageTs>,
    pub response_url: Option<ResponseUrl>,
    pub trigger_id: Option<String>,
}

/// A slash command invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct SlashCommand {
    /// The command with its slash, e.g. `/platform-deploy`.
    pub command: String,
    pub text: String,
    pub user: UserId,
    pub channel: ChannelId,
    pub response_url: ResponseUrl,
    pub trigger_id: Option<String>,
}

/// A modal's submitted input values, by `block_id` then `action_id`.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSubmission {
    pub user: UserId,
    pub callback_id: String,
    pub private_metadata: String,
    pub values: BTreeMap<String, BTreeMap<String, InputValue>>,
}

/// The value of one input element in a submitted view.
#[derive(Clone, Debug, PartialEq)]
pub enum InputValue {
    Text(Option<String>),
    Selected(Option<String>),
    SelectedMany(Vec<String>),
    /// An element type the bot does not read; its Slack type is kept for logs.
    Unsupported(String),
}

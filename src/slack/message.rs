//! Outgoing messages as the bot's handlers write them; `blocks` turns them into Block Kit.

use std::fmt;
use std::time::SystemTime;

/// Text in Slack's mrkdwn, with everything that came from outside already escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mrkdwn(String);

impl Mrkdwn {
    /// Text the bot wrote itself; markup in it is meant.
    pub fn trusted(text: impl Into<String>) -> Self {
        Self(text.into())
    }
    /// Text from a user or AWS: `&`, `<`, `>` are escaped so `<!channel>` pings nobody and `<url|x>` links nowhere.
    pub fn escaped(text: &str) -> Self {
        Self(escape(text))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Append trusted markup.
    pub fn push(&mut self, trusted: &str) {
        self.0.push_str(trusted);
    }
    /// Append outside text, escaped.
    pub fn push_escaped(&mut self, text: &str) {
        self.0.push_str(&escape(text));
    }
}

impl fmt::Display for Mrkdwn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mrkdwn link `<url|label>` to an http(s) URL the bot chose; `label` is already escaped
/// mrkdwn. The characters that would end or split the link (and any control, space or bidi
/// character) are percent-encoded and `&` entity-escaped. `None` if `url` is not http(s).
pub fn link_to(url: &str, escaped_label: &str) -> Option<String> {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    let mut encoded = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '&' => encoded.push_str("&amp;"),
            '|' | '<' | '>' | '"' | ' ' => encoded.push_str(&format!("%{:02X}", c as u32)),
            c if c.is_control()
                || c.is_whitespace()
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    encoded.push_str(&format!("%{byte:02X}"));
                }
            }
            c => encoded.push(c),
        }
    }
    Some(format!("<{encoded}|{escaped_label}>"))
}

/// Escape the three characters Slack's mrkdwn treats as control characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// One message: `text` is the notification/fallback text, `blocks` what Slack shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Block>,
    /// A colour bar beside the blocks (e.g. red for ALARM), as `#rrggbb`.
    pub accent: Option<Accent>,
    /// The bot's own id for this post, so a post whose answer was lost is found, not posted again.
    pub post_id: Option<PostId>,
    /// What the message's metadata tells a later reader of the thread (a report's transcript).
    pub standing: Standing,
}

/// Whether a message lasts or is replaced soon: written in its metadata (when it carries no
/// [`PostId`]), so `slack::thread` leaves the bot's placeholders out of a transcript.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Standing {
    /// A message that stays as posted (no metadata of its own).
    #[default]
    Plain,
    /// A placeholder (e.g. "asking the agent…", or an answer still being written) that the bot
    /// replaces: metadata `chatops_placeholder`.
    Placeholder,
    /// The final text written over a placeholder: metadata `chatops_final`, so the
    /// placeholder's mark is gone whether or not Slack keeps metadata an update does not name.
    Final,
}

/// A client-side id for one post, carried in the message's (invisible) metadata. A post whose
/// first attempt may have landed (an ambiguous failure, or an earlier delivery attempt) is looked
/// for in the channel by this id before it is posted again, so it never shows twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostId {
    /// Deterministic for what is posted, e.g. per (SNS MessageId, channel, part).
    pub id: String,
    /// Set when an earlier attempt may already have posted this message, at or after this time:
    /// the messenger looks for it before posting.
    pub earlier_attempt: Option<SystemTime>,
}

/// A colour bar, `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accent(pub &'static str);

impl Message {
    /// A message that is one section of mrkdwn.
    pub fn markdown(text: Mrkdwn) -> Self {
        Self {
            text: text.as_str().to_owned(),
            blocks: vec![Block::Section {
                text,
                fields: vec![],
            }],
            accent: None,
            post_id: None,
            standing: Standing::Plain,
        }
    }

    /// The same message, marked as a placeholder or as the final text over one (see [`Standing`]).
    pub fn with_standing(self, standing: Standing) -> Self {
        Self { standing, ..self }
    }

    /// The same message, posted with this client-side id (see [`PostId`]).
    pub fn with_post_id(self, post_id: PostId) -> Self {
        Self {
            post_id: Some(post_id),
            ..self
        }
    }
}

/// The Block Kit blocks the bot uses.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Header(String),
    Section {
        text: Mrkdwn,
        fields: Vec<Mrkdwn>,
    },
    Context(Vec<Mrkdwn>),
    Divider,
    Actions(Vec<Button>),
    /// A `markdown` block: standard Markdown that Slack renders (headings, lists, code, links).
    /// The text must already be inert (see `slack::answer::inert`).
    Markdown(String),
    /// An `image` block: a picture from `source`, described by `alt` for screen readers and
    /// notifications.
    Image {
        source: ImageSource,
        alt: String,
    },
}

/// Where an image block's picture comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A public https URL Slack fetches (from the operator's config, e.g. a deploy's GIF).
    Url(url::Url),
    /// A file the bot uploaded (`Messenger::upload_file`); png, jpg or gif.
    SlackFile(FileId),
}

/// A Slack file's id (`F…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileId(pub String);

/// A button; `action_id` and `value` come back in the click.
#[derive(Clone, Debug, PartialEq)]
pub struct Button {
    pub label: String,
    pub action_id: String,
    pub value: Option<String>,
    pub style: Option<ButtonStyle>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ButtonStyle {
    Primary,
    Danger,
}

/// Who sees a reply sent through a `response_url`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Only the user who acted.
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_defuses_mentions_and_links() {
        assert_eq!(
            escape("<!channel> & <http://x|y>"),
            "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
        assert_eq!(
            escape("plain ünïcödé \u{202e} 🚨"),
            "plain ünïcödé \u{202e} 🚨"
        );
        let mut m = Mrkdwn::trusted("*Alarm:* ");
        m.push_escaped("<@U1>");
        assert_eq!(m.as_str(), "*Alarm:* &lt;@U1&gt;");
    }
}

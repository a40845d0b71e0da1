//! Assembles a card's blocks, remembers every text it had to cut, and builds the overflow message.

use crate::slack::blocks::{MAX_BLOCKS, MAX_SECTION_CHARS};
use crate::slack::message::{
    Accent, Block, Button, FileId, ImageSource, Message, Mrkdwn, Standing,
};

use super::text::{self, esc, mrkdwn_plain, width, FULL_TEXT_IN_THREAD};
use super::RenderedCard;

/// Slack's limit for header text.
pub const MAX_HEADER_CHARS: usize = 150;
/// Most sections one overflow message holds; beyond it the last section counts what is left out.
pub const MAX_OVERFLOW_SECTIONS: usize = 45;
/// Slack's limit for one section field; cards keep fields far shorter.
const FIELD_BUDGET: usize = 300;
/// Code fences around a chunk: "```\n" and "\n```".
const FENCE_WIDTH: usize = 8;

/// A text the card shows only in part; the overflow message carries it whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cut {
    pub label: String,
    /// The full text, as received (neutralised and escaped when rendered).
    pub text: String,
    /// Whether it was shown in a code block (the overflow uses one too).
    pub code: bool,
}

/// Blocks of one card, in order, plus what had to be cut.
#[derive(Default)]
pub(super) struct CardBuilder {
    blocks: Vec<Block>,
    cuts: Vec<Cut>,
}

impl CardBuilder {
    /// A header block: `emoji title`, cut to Slack's 150 characters (the full title goes to
    /// the overflow).
    pub fn header(&mut self, emoji: &str, title: &str) {
        let flat = text::one_line(title, usize::MAX);
        let full = format!("{emoji} {flat}");
        if width(&full) <= MAX_HEADER_CHARS {
            self.blocks.push(Block::Header(full));
            return;
        }
        let room = MAX_HEADER_CHARS - width(emoji) - 2;
        let mut used = 0;
        let shown: String = flat
            .chars()
            .take_while(|c| {
                used += c.len_utf16();
                used <= room
            })
            .collect();
        self.blocks.push(Block::Header(format!("{emoji} {shown}…")));
        self.record_cut("Title", title, false);
    }

    pub fn section(&mut self, text: Mrkdwn) {
        self.blocks.push(Block::Section {
            text,
            fields: vec![],
        });
    }

    /// A section with up to 10 fields (extra fields are not expected; they are dropped visibly).
    pub fn section_with_fields(&mut self, text: Mrkdwn, mut fields: Vec<Mrkdwn>) {
        if fields.len() > 10 {
            fields.truncate(9);
            fields.push(Mrkdwn::trusted("_more details in thread_"));
        }
        self.blocks.push(Block::Section { text, fields });
    }

    pub fn context(&mut self, items: Vec<Mrkdwn>) {
        if !items.is_empty() {
            self.blocks.push(Block::Context(items));
        }
    }

    /// An image block of a file the bot uploaded (an alarm's metric graph).
    pub fn slack_file_image(&mut self, file_id: &str, alt: String) {
        let source = ImageSource::SlackFile(FileId(file_id.to_owned()));
        self.blocks.push(Block::Image { source, alt });
    }

    pub fn actions(&mut self, buttons: Vec<Button>) {
        if !buttons.is_empty() {
            self.blocks.push(Block::Actions(buttons));
        }
    }

    /// Outside text as mrkdwn within `budget`; when cut, the card says so and the overflow
    /// gets the full text under `label`.
    pub fn clip(&mut self, label: &str, raw: &str, budget: usize) -> String {
        let (shown, cut) = text::clip(raw, budget);
        if cut {
            self.record_cut(label, raw, false);
        }
        shown
    }

    /// Outside text in a code block within `budget` (fences included).
    pub fn clip_code(&mut self, label: &str, raw: &str, budget: usize) -> String {
        let fenced = defuse_fences(raw);
        let (shown, cut) = text::clip(&fenced, budget.saturating_sub(FENCE_WIDTH + 2));
        if !cut {
            return format!("```\n{shown}\n```");
        }
        self.record_cut(label, raw, true);
        let body = shown.trim_end_matches(FULL_TEXT_IN_THREAD);
        format!("```\n{body}\n```\n{FULL_TEXT_IN_THREAD}")
    }

    /// A field `*Label*\nvalue` whose value is outside text.
    pub fn field(&mut self, label: &str, raw: &str) -> Mrkdwn {
        let value = self.clip(label, raw, FIELD_BUDGET);
        Mrkdwn::trusted(format!("*{label}*\n{value}"))
    }

    pub fn record_cut(&mut self, label: &str, raw: &str, code: bool) {
        self.cuts.push(Cut {
            label: label.to_owned(),
            text: raw.to_owned(),
            code,
        });
    }

    /// The finished card. `title` names the overflow message; `text` is the escaped fallback.
    pub fn finish(mut self, title: &str, text: String, accent: Option<Accent>) -> RenderedCard {
        if !self.cuts.is_empty() {
            let note = Block::Context(vec![Mrkdwn::trusted(
                "✂️ Some text on this card was shortened: full text in thread.",
            )]);
            let at = match self.blocks.last() {
                Some(Block::Actions(_)) => self.blocks.len() - 1,
                _ => self.blocks.len(),
            };
            self.blocks.insert(at, note);
        }
        let blocks = cap_blocks(self.blocks);
        let overflow = (!self.cuts.is_empty()).then(|| overflow_message(title, &self.cuts));
        RenderedCard {
            message: Message {
                text,
                blocks,
                accent,
                post_id: None,
                standing: Standing::Plain,
            },
            overflow,
        }
    }
}

/// Keeps a message within 50 blocks: the first 48, a note, and the last block (the buttons).
pub(super) fn cap_blocks(mut blocks: Vec<Block>) -> Vec<Block> {
    if blocks.len() <= MAX_BLOCKS {
        return blocks;
    }
    let last = blocks.pop();
    let dropped = blocks.len() - (MAX_BLOCKS - 2);
    blocks.truncate(MAX_BLOCKS - 2);
    blocks.push(Block::Context(vec![Mrkdwn::trusted(format!(
        "_{dropped} more blocks did not fit in one Slack message._"
    ))]));
    blocks.extend(last);
    blocks
}

/// Triple backticks inside a code block would end it; a zero-width space keeps them apart.
fn defuse_fences(raw: &str) -> String {
    raw.replace("```", "`\u{200B}`\u{200B}`")
}

/// The thread message holding every cut text in full: for each, a label section and then the
/// text in sections of at most 3000 characters; at most 45 sections, the last of which then
/// says how many characters were left out.
pub(super) fn overflow_message(title: &str, cuts: &[Cut]) -> Message {
    let mut sections: Vec<Mrkdwn> = Vec::new();
    let mut omitted: usize = 0;
    let room = MAX_OVERFLOW_SECTIONS - 1;
    for cut in cuts {
        let plain = mrkdwn_plain(&cut.text);
        if sections.len() >= room {
            omitted += plain.chars().count();
            continue;
        }
        sections.push(Mrkdwn::trusted(format!(
            "*{}* (full text, {} characters):",
            esc(&cut.label),
            plain.chars().count()
        )));
        let source = if cut.code {
            defuse_fences(&plain)
        } else {
            plain
        };
        let budget = if cut.code {
            MAX_SECTION_CHARS - FENCE_WIDTH
        } else {
            MAX_SECTION_CHARS
        };
        let mut rest = source.as_str();
        while !rest.is_empty() {
            if sections.len() >= room {
                omitted += rest.chars().count();
                break;
            }
            let end = chunk_end(rest, budget);
            let chunk = crate::slack::message::escape(&rest[..end]);
            sections.push(Mrkdwn::trusted(if cut.code {
                format!("```\n{chunk}\n```")
            } else {
                chunk
            }));
            rest = &rest[end..];
        }
    }
    if omitted > 0 {
        sections.push(Mrkdwn::trusted(format!(
            "_… {omitted} more characters omitted: too long for Slack._"
        )));
    }
    let mut message_text = String::from("Full text for ");
    message_text.push_str(&esc(&text::one_line(title, 150)));
    Message {
        text: message_text,
        blocks: sections
            .into_iter()
            .map(|text| Block::Section {
                text,
                fields: vec![],
            })
            .collect(),
        accent: None,
        post_id: None,
        standing: Standing::Plain,
    }
}

/// Where the next overflow chunk ends: as much as fits, preferring a line break in its second
/// half; always at least one character.
fn chunk_end(rest: &str, budget: usize) -> usize {
    let end = text::fitting_prefix(rest, budget);
    if end == rest.len() {
        return end;
    }
    if let Some(newline) = rest[..end].rfind('\n') {
        if newline + 1 > end / 2 {
            return newline + 1;
        }
    }
    if end == 0 {
        return rest.chars().next().map_or(rest.len(), char::len_utf8);
    }
    end
}

//! The line writer behind `describe`: indentation, `-` for absent values, escaping, truncation.

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::envelope::content_id;
use super::timestamp::format_utc;

/// Longest text block shown in full; longer text is cut and followed by its size and hash.
const MAX_BLOCK_BYTES: usize = 4000;
const MAX_BLOCK_LINES: usize = 80;

/// Builds the summary text line by line.
#[derive(Default)]
pub(crate) struct Summary {
    text: String,
}

impl Summary {
    pub(crate) fn into_text(self) -> String {
        self.text
    }

    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.text.push_str("  ");
        }
    }

    /// `key: value`; an empty value is written `""` so no line ends in whitespace.
    pub(crate) fn line(&mut self, level: usize, key: &str, value: &str) {
        self.indent(level);
        let _ = writeln!(self.text, "{key}: {}", escape_or_quote_empty(value));
    }

    pub(crate) fn opt(&mut self, level: usize, key: &str, value: Option<&str>) {
        self.line(level, key, value.unwrap_or("-"));
    }

    pub(crate) fn time(&mut self, level: usize, key: &str, value: Option<OffsetDateTime>) {
        self.opt(level, key, value.map(format_utc).as_deref());
    }

    pub(crate) fn header(&mut self, level: usize, key: &str) {
        self.indent(level);
        let _ = writeln!(self.text, "{key}:");
    }

    pub(crate) fn list(&mut self, level: usize, key: &str, items: impl Iterator<Item = String>) {
        let items: Vec<String> = items.collect();
        if items.is_empty() {
            self.line(level, key, "[]");
            return;
        }
        self.header(level, key);
        for item in items {
            self.indent(level + 1);
            let _ = writeln!(self.text, "- {}", escape_or_quote_empty(&item));
        }
    }

    /// Multi-line text, each line prefixed with `|` so blank lines stay visible.
    pub(crate) fn block(&mut self, level: usize, key: &str, text: &str) {
        self.indent(level);
        if text.is_empty() {
            let _ = writeln!(self.text, "{key}: 0 bytes, 0 lines");
            return;
        }
        let _ = writeln!(
            self.text,
            "{key}: {} bytes, {} lines",
            text.len(),
            text.split('\n').count()
        );
        let mut shown = 0usize;
        for (index, line) in text.split('\n').enumerate() {
            let remaining = MAX_BLOCK_BYTES.saturating_sub(shown);
            let fits = index < MAX_BLOCK_LINES && line.len() <= remaining;
            let shown_part = if fits {
                line
            } else {
                &line[..char_floor(line, remaining)]
            };
            if index < MAX_BLOCK_LINES && (fits || !shown_part.is_empty()) {
                self.indent(level + 1);
                let escaped = escape_trailing_whitespace(escape(shown_part));
                if escaped.is_empty() {
                    self.text.push_str("|\n");
                } else {
                    let _ = writeln!(self.text, "| {escaped}");
                }
                shown += shown_part.len() + 1;
            }
            if !fits {
                self.indent(level + 1);
                let _ = writeln!(self.text, "… truncated; whole text {}", content_id(text));
                return;
            }
        }
    }
}

/// The largest char boundary of `text` not after `limit`.
fn char_floor(text: &str, limit: usize) -> usize {
    let mut cut = limit.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// Escaped text, quoted when empty or when it starts or ends with whitespace, so summary lines
/// never end in (invisible, easily stripped) whitespace.
fn escape_or_quote_empty(text: &str) -> String {
    let escaped = escape(text);
    let needs_quotes = escaped.is_empty()
        || escaped.starts_with(char::is_whitespace)
        || escaped.ends_with(char::is_whitespace);
    if needs_quotes {
        format!("\"{escaped}\"")
    } else {
        escaped
    }
}

/// Writes trailing whitespace as `\u{20}` escapes so block lines never end in whitespace.
fn escape_trailing_whitespace(escaped: String) -> String {
    let kept = escaped.trim_end();
    if kept.len() == escaped.len() {
        return escaped;
    }
    let mut out = kept.to_string();
    for c in escaped[kept.len()..].chars() {
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    }
    out
}

/// Escapes control characters and invisible formatting characters (zero-width, bidi marks).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_invisible_and_control_characters() {
        assert_eq!(
            escape("a\u{0}b\u{200f}c\u{200b}\r\t😀"),
            "a\\u{0}b\\u{200f}c\\u{200b}\\r\\t😀"
        );
    }

    #[test]
    fn no_line_ends_in_whitespace() {
        let mut summary = Summary::default();
        summary.line(0, "empty", "");
        summary.line(0, "padded", " x ");
        summary.block(0, "text", "a  \nb\u{3000}");
        assert_eq!(
            summary.into_text(),
            "empty: \"\"\npadded: \" x \"\ntext: 8 bytes, 2 lines\n  | a\\u{20}\\u{20}\n  | b\\u{3000}\n"
        );
    }

    #[test]
    fn long_blocks_are_truncated_with_a_hash() {
        let mut summary = Summary::default();
        let text = "x".repeat(10_000);
        summary.block(0, "text", &text);
        assert!(summary.text.starts_with("text: 10000 bytes, 1 lines\n"));
        assert!(summary.text.contains(&content_id(&text)));
        assert!(summary.text.len() < MAX_BLOCK_BYTES + 200);
        assert!(summary
            .text
            .contains(&format!("| {}", "x".repeat(MAX_BLOCK_BYTES))));
    }
}

//! Text helpers for cards: neutralising AWS text, measuring and cutting it, links, mentions, times.

use crate::slack::message::escape;
pub use crate::slack::time_text::{format_clock, format_duration, format_time};

/// The visible marker appended where a card shows only part of a text.
pub const FULL_TEXT_IN_THREAD: &str = "… _full text in thread_";

/// What a card shows of outside text before mrkdwn escaping: control characters (other than
/// newline, tab and carriage return) and the bidi embedding/override/isolate controls, which can
/// reorder what a reader sees, become U+FFFD so they are visible instead of acting.
pub fn plain_text(raw: &str) -> String {
    raw.chars()
        .map(|c| if is_hidden_control(c) { '\u{FFFD}' } else { c })
        .collect()
}

fn is_hidden_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Words that, after `@`, Slack may auto-parse into a broadcast in mrkdwn.
const BROADCASTS: [&str; 3] = ["here", "channel", "everyone"];

/// Outside text prepared for mrkdwn, before escaping: [`plain_text`], and `@here`, `@channel`,
/// `@everyone` broken by a word joiner (U+2060) so no auto-parsing turns them into broadcasts.
pub fn mrkdwn_plain(raw: &str) -> String {
    let plain = plain_text(raw);
    let mut out = String::with_capacity(plain.len());
    let mut rest = plain.as_str();
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let broadcast = BROADCASTS.iter().any(|word| {
            rest.get(..word.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(word))
        });
        if broadcast {
            out.push('\u{2060}');
        }
    }
    out.push_str(rest);
    out
}

/// Outside text as mrkdwn: [`mrkdwn_plain`], then `&`, `<`, `>` escaped.
pub(super) fn esc(raw: &str) -> String {
    escape(&mrkdwn_plain(raw))
}

/// Outside text as a mrkdwn code span. Backticks inside become `'` so the span cannot end early.
pub(super) fn code(raw: &str) -> String {
    let inner = esc(&raw.replace('`', "'"));
    if inner.trim().is_empty() {
        "` `".to_owned()
    } else {
        format!("`{inner}`")
    }
}

/// Length as Slack may count it: UTF-16 code units (never fewer than characters).
pub(super) fn width(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Width of one character once mrkdwn-escaped.
fn escaped_width(c: char) -> usize {
    match c {
        '&' => 5,
        '<' | '>' => 4,
        c => c.len_utf16(),
    }
}

/// Byte index of the end of the longest prefix of `text` whose escaped form fits in `budget`.
pub(super) fn fitting_prefix(text: &str, budget: usize) -> usize {
    let mut used = 0;
    for (index, c) in text.char_indices() {
        used += escaped_width(c);
        if used > budget {
            return index;
        }
    }
    text.len()
}

/// Like [`fitting_prefix`], but when the text does not fit, backs up to the last whitespace in
/// the final stretch so words are not split (unless that would drop too much).
pub(super) fn fitting_prefix_at_word(text: &str, budget: usize) -> usize {
    let end = fitting_prefix(text, budget);
    if end == text.len() {
        return end;
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(space) if end - space <= 120 && space > 0 => space,
        _ => end,
    }
}

/// Outside text escaped into at most `budget` UTF-16 units, cut visibly with
/// [`FULL_TEXT_IN_THREAD`] when it does not fit. Returns the mrkdwn and whether it was cut.
pub(super) fn clip(raw: &str, budget: usize) -> (String, bool) {
    let plain = mrkdwn_plain(raw);
    if fitting_prefix(&plain, budget) == plain.len() {
        return (escape(&plain), false);
    }
    let room = budget.saturating_sub(width(FULL_TEXT_IN_THREAD));
    let end = fitting_prefix_at_word(&plain, room);
    let mut out = escape(plain[..end].trim_end());
    out.push_str(FULL_TEXT_IN_THREAD);
    (out, true)
}

/// A short one-line form of outside text for fallback texts and labels (not a visible cut:
/// the full text is shown elsewhere).
pub(super) fn one_line(raw: &str, max_chars: usize) -> String {
    let flat: String = plain_text(raw)
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max_chars {
        return flat;
    }
    let mut cut: String = flat.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A mrkdwn link `<url|label>` to a URL the bot chose (console, runbook). The URL has the
/// characters that would end or split the link percent-encoded and `&` entity-escaped; the
/// label is escaped. URLs that are not http(s) are shown as escaped text instead.
pub(super) fn link(url: &str, label: &str) -> String {
    crate::slack::message::link_to(url, &esc(label))
        .unwrap_or_else(|| format!("{}: {}", esc(label), code(url.trim())))
}

/// Percent-encodes everything but RFC 3986 unreserved characters (like `encodeURIComponent`,
/// stricter), for names placed inside URLs.
pub(super) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// True for Slack user ids (`U…`, `W…`: an uppercase letter then uppercase letters/digits).
pub fn is_user_id(id: &str) -> bool {
    is_slack_id(id, &['U', 'W'])
}

/// True for Slack user-group ids (`S…`).
pub fn is_user_group_id(id: &str) -> bool {
    is_slack_id(id, &['S'])
}

fn is_slack_id(id: &str, prefixes: &[char]) -> bool {
    let mut chars = id.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    prefixes.contains(&first)
        && (2..=32).contains(&id.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `<@U…>` for a valid user id; anything else is shown escaped, never as markup.
pub(super) fn user_mention(id: &str) -> String {
    if is_user_id(id) {
        format!("<@{id}>")
    } else {
        esc(id)
    }
}

/// `<!subteam^S…>` for a valid user-group id; anything else is shown as escaped `@text`.
pub(super) fn group_mention(id: &str) -> String {
    if is_user_group_id(id) {
        format!("<!subteam^{id}>")
    } else {
        format!("@{}", esc(id))
    }
}

/// Watchers as mentions, comma-separated, at most `max` shown and the rest counted.
pub(super) fn watcher_list(watchers: &[String], max: usize) -> String {
    let shown: Vec<String> = watchers
        .iter()
        .take(max)
        .map(|id| user_mention(one_line(id, 40).as_str()))
        .collect();
    let mut out = shown.join(", ");
    if watchers.len() > max {
        out.push_str(&format!(" and {} more", watchers.len() - max));
    }
    out
}

/// An alarm period: `5m`, `1h`, `1d`, `10s`, `90s` (whole units only).
pub(super) fn format_period(secs: u64) -> String {
    match secs {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A float the way people write thresholds: `85`, `0.5`, `1e-7`.
pub(super) fn number(value: f64) -> String {
    value.to_string()
}

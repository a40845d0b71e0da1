//! Outside text made inert for Slack: no pings, no hidden links, whatever the agent wrote.
//!
//! Slack's special syntax is `<…>`: `<!here>`, `<!channel>`, `<@U…>`, `<#C…>`, `<https://x|label>`.
//! Whether the `markdown` block and `markdown_text` parse it is not documented by Slack (a
//! third-party guide says mrkdwn syntax shows as literal text in markdown blocks:
//! skills.sh/ccheney/robust-skills/slack-mrkdwn), so it is neutralised rather than trusted: a
//! zero-width space (U+200B) goes after each `<` (or `&lt;`) that opens such a sequence, and after
//! the `@` of a bare `@here`/`@channel`/`@everyone`. The text still reads the same; Slack no
//! longer sees a mention or a link. Ordinary `<` (`a < b`, `<file>`) is left alone.

/// Invisible, and breaks Slack's `<!…>`, `<@…>`, `<scheme:…|…>` and `@here` patterns.
pub const ZERO_WIDTH_SPACE: char = '\u{200B}';
/// Longest URL scheme looked for after `<` (`https`, `mailto`, `slack` …).
const MAX_SCHEME_CHARS: usize = 32;
/// Characters a streamed piece holds back after a `<`, `&` or `@`, so the check above always
/// sees what follows it even when the agent's pieces cut a sequence in two.
pub const HOLD_BACK_CHARS: usize = MAX_SCHEME_CHARS + 8;

const BROADCASTS: [&str; 3] = ["here", "channel", "everyone"];

/// `text` (Markdown or plain) with every Slack mention and `<url|label>` broken (see module doc).
pub fn inert_markdown(text: &str) -> String {
    inert_prefix(text, text.len())
}

/// The inert form of `text[..end]`, judged with all of `text` as context: what follows `end`
/// decides whether a `<` just before it opens a mention. Sending `inert_prefix(pending, cut)`
/// and then `inert_markdown(&pending[cut..])` gives the inert form of the whole, when `cut` is
/// [`safe_prefix_len`] (`end` is a char boundary).
pub fn inert_prefix(text: &str, end: usize) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let plain: Vec<char> = chars.iter().map(|&(_, c)| c).collect();
    let mut out = String::with_capacity(end + 8);
    for (i, &(at, c)) in chars.iter().enumerate() {
        if at >= end {
            break;
        }
        out.push(c);
        let rest = &plain[i + 1..];
        let opens = match c {
            '<' => opens_slack_markup(rest),
            ';' => ends_escaped_bracket(&plain[..=i]) && opens_slack_markup(rest),
            '@' => names_broadcast(rest),
            _ => false,
        };
        if opens {
            out.push(ZERO_WIDTH_SPACE);
        }
    }
    out
}

/// The byte length of the prefix of `pending` that can be made inert and sent now: everything
/// but a trailing `<`, `&` or `@` with fewer than [`HOLD_BACK_CHARS`] characters after it.
pub fn safe_prefix_len(pending: &str) -> usize {
    let tail_start = pending
        .char_indices()
        .rev()
        .nth(HOLD_BACK_CHARS - 1)
        .map_or(0, |(i, _)| i);
    match pending[tail_start..].find(['<', '&', '@']) {
        Some(i) => tail_start + i,
        None => pending.len(),
    }
}

fn opens_slack_markup(rest: &[char]) -> bool {
    match rest.first() {
        Some('!' | '@' | '#') => true,
        Some(c) if c.is_ascii_alphabetic() => {
            let scheme_len = rest
                .iter()
                .take(MAX_SCHEME_CHARS + 1)
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
                .count();
            scheme_len <= MAX_SCHEME_CHARS && rest.get(scheme_len) == Some(&':')
        }
        _ => false,
    }
}

/// Whether `upto` ends with `&lt;` (Slack's escaped `<`, which some renderers decode).
fn ends_escaped_bracket(upto: &[char]) -> bool {
    upto.len() >= 4 && upto[upto.len() - 4..].iter().collect::<String>() == "&lt;"
}

fn names_broadcast(rest: &[char]) -> bool {
    BROADCASTS.iter().any(|word| {
        let n = word.chars().count();
        rest.len() >= n
            && rest[..n]
                .iter()
                .collect::<String>()
                .eq_ignore_ascii_case(word)
            && !rest.get(n).is_some_and(|c| c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const Z: char = ZERO_WIDTH_SPACE;

    #[test]
    fn hostile_sequences_are_broken() {
        let table = [
            ("<!channel>", format!("<{Z}!channel>")),
            ("<!here> now", format!("<{Z}!here> now")),
            ("hi <@U0ALICE>", format!("hi <{Z}@U0ALICE>")),
            ("<#C0ALERTS>", format!("<{Z}#C0ALERTS>")),
            (
                "<https://evil.example|docs>",
                format!("<{Z}https://evil.example|docs>"),
            ),
            ("<mailto:a@b.c|x>", format!("<{Z}mailto:a@b.c|x>")),
            ("&lt;!here&gt;", format!("&lt;{Z}!here&gt;")),
            (
                "ping @here and @Channel!",
                format!("ping @{Z}here and @{Z}Channel!"),
            ),
            ("@everyone", format!("@{Z}everyone")),
        ];
        for (input, want) in table {
            assert_eq!(inert_markdown(input), want, "{input}");
        }
    }

    #[test]
    fn ordinary_text_and_markdown_are_unchanged() {
        for text in [
            "a < b and c > d",
            "kubectl logs <pod-name>",
            "**bold** and [docs](https://docs.aws.amazon.com/x) and `code`",
            "mail ops@example.com or @heretic or @channels",
            "# Heading\n\n- item\n\n```sh\necho 1 < 2\n```",
            "",
        ] {
            assert_eq!(inert_markdown(text), text);
        }
    }

    #[test]
    fn a_sequence_cut_between_pieces_is_held_back() {
        assert_eq!(safe_prefix_len("plain text"), "plain text".len());
        assert_eq!(safe_prefix_len("see <"), 4);
        assert_eq!(safe_prefix_len("say @"), 4);
        assert_eq!(safe_prefix_len("x &lt"), 2);
        let long = format!("<!here> {}", "y".repeat(HOLD_BACK_CHARS));
        assert_eq!(
            safe_prefix_len(&long),
            long.len(),
            "far enough back to judge"
        );
        // Whatever the cut, piecewise inert output equals inert output of the whole.
        let hostile = "intro <!here> then <https://evil|label> and @channel end";
        for split in 0..=hostile.len() {
            if !hostile.is_char_boundary(split) {
                continue;
            }
            let first = &hostile[..split];
            let cut = safe_prefix_len(first);
            let joined = inert_prefix(first, cut) + &inert_markdown(&hostile[cut..]);
            assert_eq!(joined, inert_markdown(hostile), "split at {split}");
        }
    }

    #[test]
    fn a_stream_flushed_after_every_piece_sends_exactly_the_inert_whole() {
        let hostile = "Heads up <!channel>, ask <@U0BOSS> or @here, see \
            <https://evil.example/login|the AWS console> and &lt;!everyone&gt;.";
        for size in 1..=5 {
            let chars: Vec<char> = hostile.chars().collect();
            let (mut sent, mut pending) = (String::new(), String::new());
            for piece in chars.chunks(size) {
                pending.extend(piece);
                let cut = safe_prefix_len(&pending);
                sent.push_str(&inert_prefix(&pending, cut));
                pending.drain(..cut);
            }
            sent.push_str(&inert_markdown(&pending));
            assert_eq!(sent, inert_markdown(hostile), "pieces of {size}");
        }
    }
}

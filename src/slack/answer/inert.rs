//! Outside text made inert for Slack: no pings, no hidden links, whatever the agent wrote.
//!
//! Slack's special syntax is `<…>`: `<!here>`, `<!channel>`, `<@U…>`, `<#C…>`, `<https://x|label>`.
//! Whether the `markdown` block and `markdown_text` parse it is not documented by Slack (a
//! third-party guide says mrkdwn syntax shows as literal text in markdown blocks:
//! skills.sh/ccheney/robust-skills/slack-mrkdwn), so it is neutralised rather than trusted: a
//! zero-width space (U+200B) goes after each `<` (or `&lt;`) that opens such a sequence, and after
//! the `@` of a bare `@here`/`@channel`/`@everyone`. The text still reads the same; Slack no
//! longer sees a mention or a link. Ordinary `<` (`a < b`, `<file>`) is left alone.
//!
//! Markdown links stay links (the agent's sources are worth a click), except one whose label
//! reads as an address on another host: it shows its real target instead (`unmask_links`).

/// Invisible, and breaks Slack's `<!…>`, `<@…>`, `<scheme:…|…>` and `@here` patterns.
pub const ZERO_WIDTH_SPACE: char = '\u{200B}';
/// Longest URL scheme looked for after `<` (`https`, `mailto`, `slack` …).
const MAX_SCHEME_CHARS: usize = 32;
/// Characters a streamed piece holds back after a `<`, `&` or `@`, so the check above always
/// sees what follows it even when the agent's pieces cut a sequence in two.
pub const HOLD_BACK_CHARS: usize = MAX_SCHEME_CHARS + 8;

/// Characters a streamed piece holds back from an unfinished `[label](url)` on its last line.
pub const MAX_LINK_HOLD_CHARS: usize = 2_000;

const BROADCASTS: [&str; 3] = ["here", "channel", "everyone"];

/// Markdown links `[label](url)` whose label reads as a web address on another host than `url`
/// (`[https://console.aws.amazon.com](https://evil.example)`) get `url` as their label, so a
/// link never shows one address and opens another. One line at a time; other links are kept.
pub fn unmask_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str(&unmask_line(line));
    }
    out
}

fn unmask_line(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(link) = parse_link(after) else {
            out.push_str(&rest[..=open]);
            rest = after;
            continue;
        };
        let (label, url, used) = link;
        out.push_str(&rest[..open]);
        let shown = if masks_another_host(label, url) {
            url
        } else {
            label
        };
        out.push_str(&format!("[{shown}]({url})"));
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

/// `label](url)…` → (label, url, bytes used), for a label without `[`/`]` and a url without spaces.
fn parse_link(after_open: &str) -> Option<(&str, &str, usize)> {
    let close = after_open.find("](")?;
    let label = &after_open[..close];
    if label.contains(['[', ']']) {
        return None;
    }
    let url_start = close + 2;
    let url_len = after_open[url_start..].find(')')?;
    let url = &after_open[url_start..url_start + url_len];
    if url.is_empty() || url.contains(char::is_whitespace) {
        return None;
    }
    Some((label, url, url_start + url_len + 1))
}

fn masks_another_host(label: &str, url: &str) -> bool {
    let label = label.trim().trim_matches(['*', '_', '`', '~', ' ']);
    if label.is_empty() || label.contains(char::is_whitespace) {
        return false;
    }
    let with_scheme = if label.contains("://") {
        label.to_owned()
    } else {
        format!("https://{label}")
    };
    let Some(label_host) = url::Url::parse(&with_scheme)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
    else {
        return false;
    };
    // A bare word (`docs`) is not an address; a dotted name with a letter TLD is.
    let looks_like_address = label.contains("://")
        || label_host
            .rsplit_once('.')
            .is_some_and(|(_, tld)| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    let url_host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    looks_like_address && url_host.is_none_or(|h| !h.eq_ignore_ascii_case(&label_host))
}

/// `text` (Markdown or plain) with every Slack mention and `<url|label>` broken, and every
/// Markdown link that names one address and goes to another unmasked (see module doc).
pub fn inert_markdown(text: &str) -> String {
    let text = unmask_links(text);
    neutralise(&text, text.len())
}

/// The inert form of `pending[..cut]`, judged with all of `pending` as context: what follows
/// `cut` decides whether a `<` just before it opens a mention. Sending `inert_prefix(pending, cut)`
/// and then `inert_markdown(&pending[cut..])` gives the inert form of the whole, when `cut` is
/// [`safe_prefix_len`].
pub fn inert_prefix(pending: &str, cut: usize) -> String {
    let head = unmask_links(&pending[..cut]);
    let joined = format!("{head}{}", &pending[cut..]);
    neutralise(&joined, head.len())
}

/// `text[..end]` with a zero-width space after each character that opens Slack markup.
fn neutralise(text: &str, end: usize) -> String {
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
/// but a trailing `<`, `&` or `@` with fewer than [`HOLD_BACK_CHARS`] characters after it, and
/// but a Markdown link still open on the last line (up to [`MAX_LINK_HOLD_CHARS`]).
pub fn safe_prefix_len(pending: &str) -> usize {
    let cut = markup_safe_len(pending);
    let prefix = &pending[..cut];
    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
    let Some(open) = prefix[line_start..].rfind('[').map(|i| line_start + i) else {
        return cut;
    };
    let rest = &prefix[open..];
    let complete = rest.find("](").is_some_and(|i| rest[i..].contains(')'));
    if complete || rest.chars().count() > MAX_LINK_HOLD_CHARS {
        cut
    } else {
        open
    }
}

fn markup_safe_len(pending: &str) -> usize {
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
    fn links_that_show_one_address_and_open_another_are_unmasked() {
        let table = [
            (
                "[https://console.aws.amazon.com](https://evil.example/x)",
                "[https://evil.example/x](https://evil.example/x)",
            ),
            (
                "see **[console.aws.amazon.com](http://evil.example)** now",
                "see **[http://evil.example](http://evil.example)** now",
            ),
            (
                "[docs.aws.amazon.com/x](https://docs.aws.amazon.com/y)",
                "[docs.aws.amazon.com/x](https://docs.aws.amazon.com/y)",
            ),
            (
                "[the runbook](https://wiki.example/r)",
                "[the runbook](https://wiki.example/r)",
            ),
            (
                "[v1.2](https://github.com/x/releases)",
                "[v1.2](https://github.com/x/releases)",
            ),
            ("arr[i](j) and [x]", "arr[i](j) and [x]"),
        ];
        for (input, want) in table {
            assert_eq!(unmask_links(input), want, "{input}");
        }
    }

    #[test]
    fn an_unfinished_link_is_held_back() {
        assert_eq!(safe_prefix_len("see [https://good.example"), 4);
        assert_eq!(safe_prefix_len("see [a](https://x.example/"), 4);
        let done = format!("see [a](https://x.example/) {}", "z".repeat(50));
        assert_eq!(safe_prefix_len(&done), done.len());
        assert_eq!(safe_prefix_len("line [x\nnext"), "line [x\nnext".len());
    }

    #[test]
    fn a_stream_flushed_after_every_piece_sends_exactly_the_inert_whole() {
        let hostile = "Heads up <!channel>, ask <@U0BOSS> or @here, see \
            <https://evil.example/login|the AWS console> and &lt;!everyone&gt;, \
            [https://console.aws.amazon.com/?a&b](https://evil.example/steal) [ok](https://x.example).";
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

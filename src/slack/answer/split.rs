//! Long Markdown cut into parts that each fit one Slack message: on paragraph and code-block
//! boundaries, never inside a ``` block (a block too long is cut with its fence closed and
//! reopened), and never losing a character of the text.

/// One paragraph, or one fenced code block with its fences.
#[derive(Debug, PartialEq)]
enum Segment {
    Prose(Vec<String>),
    Code {
        fence: String,
        body: Vec<String>,
        closed: bool,
    },
}

/// `text` in parts of at most `max_chars` characters each (`max_chars` ≥ 64), in order; empty
/// text gives no parts. Parts join paragraphs with a blank line, as the text had them.
pub fn split_markdown(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(64);
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_chars = 0;
    for piece in segments(text)
        .into_iter()
        .flat_map(|s| pieces(s, max_chars))
    {
        let n = piece.chars().count();
        if current_chars > 0 && current_chars + 2 + n > max_chars {
            parts.push(std::mem::take(&mut current));
            current_chars = 0;
        }
        if current_chars > 0 {
            current.push_str("\n\n");
            current_chars += 2;
        }
        current.push_str(&piece);
        current_chars += n;
    }
    if current_chars > 0 {
        parts.push(current);
    }
    parts
}

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut prose: Vec<String> = Vec::new();
    let mut code: Option<(String, Vec<String>)> = None;
    for line in text.split('\n') {
        if let Some((fence, body)) = code.as_mut() {
            if is_fence(line) {
                out.push(Segment::Code {
                    fence: std::mem::take(fence),
                    body: std::mem::take(body),
                    closed: true,
                });
                code = None;
            } else {
                body.push(line.to_owned());
            }
        } else if is_fence(line) {
            if !prose.is_empty() {
                out.push(Segment::Prose(std::mem::take(&mut prose)));
            }
            code = Some((line.to_owned(), Vec::new()));
        } else if line.trim().is_empty() {
            if !prose.is_empty() {
                out.push(Segment::Prose(std::mem::take(&mut prose)));
            }
        } else {
            prose.push(line.to_owned());
        }
    }
    if let Some((fence, body)) = code {
        out.push(Segment::Code {
            fence,
            body,
            closed: false,
        });
    }
    if !prose.is_empty() {
        out.push(Segment::Prose(prose));
    }
    out
}

/// A segment as pieces of at most `max` characters: whole when it fits, else cut between lines
/// (and long lines cut at a space), code re-fenced in every piece.
fn pieces(segment: Segment, max: usize) -> Vec<String> {
    match segment {
        Segment::Prose(lines) => pack_lines(&lines, max, "", ""),
        Segment::Code {
            fence,
            body,
            closed,
        } => {
            // A fence line longer than a quarter of the budget is shortened to its language tag.
            let fence = if fence.chars().count() > max / 4 {
                "```".to_owned()
            } else {
                fence
            };
            let open = format!("{fence}\n");
            let whole = format!(
                "{open}{}{}",
                body.join("\n"),
                if closed { "\n```" } else { "" }
            );
            if whole.chars().count() <= max {
                return vec![whole];
            }
            pack_lines(&body, max, &open, "\n```")
        }
    }
}

/// Lines joined by `\n` into chunks, each wrapped as `open + lines + close` within `max` chars.
fn pack_lines(lines: &[String], max: usize, open: &str, close: &str) -> Vec<String> {
    let budget = max - open.chars().count() - close.chars().count();
    let mut chunks = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut current_chars = 0;
    for line in lines.iter().flat_map(|l| cut_line(l, budget)) {
        let n = line.chars().count();
        let extra = if current.is_empty() { n } else { n + 1 };
        if !current.is_empty() && current_chars + extra > budget {
            chunks.push(format!("{open}{}{close}", current.join("\n")));
            current.clear();
            current_chars = 0;
        }
        current_chars += if current.is_empty() { n } else { n + 1 };
        current.push(line);
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(format!("{open}{}{close}", current.join("\n")));
    }
    chunks
}

/// A line in pieces of at most `max` characters, cut after a space in the second half when
/// there is one; the pieces concatenate to the line.
fn cut_line(line: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= max {
        return vec![line.to_owned()];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while chars.len() - start > max {
        let window = &chars[start..start + max];
        let cut = window[max / 2..]
            .iter()
            .rposition(|c| *c == ' ')
            .map_or(max, |i| max / 2 + i + 1);
        out.push(window[..cut].iter().collect());
        start += cut;
    }
    out.push(chars[start..].iter().collect());
    out
}

#[cfg(test)]
mod tests;

//! Slack mrkdwn as plain, readable pieces: mentions become `@name`/`#name`, links keep their
//! target apart from their label, and `&amp;`/`&lt;`/`&gt;` become `&`/`<`/`>`. Pure.
//!
//! The output is structured ([`Segment`]s) so a renderer makes real links without parsing again.
//! Only `http:`, `https:` and `mailto:` targets become links; anything else is shown as text.

use serde::Serialize;

/// One piece of a message, as a reader sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Plain text, entities decoded.
    Text(String),
    /// A link: its target and what it shows (the target itself when Slack gave no label).
    Link { url: String, label: String },
    /// `@name`, `#channel`, `@here`, `@team`: who or what was addressed.
    Mention(String),
}

/// Names a user id (`U…`/`W…`) when it can; the markup falls back to the label, then the id.
pub trait UserNames {
    fn user_name(&self, id: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> UserNames for F {
    fn user_name(&self, id: &str) -> Option<String> {
        self(id)
    }
}

/// `mrkdwn` as segments; adjacent text is merged. Never fails: what is not markup is text.
pub fn segments(mrkdwn: &str, names: &dyn UserNames) -> Vec<Segment> {
    let mut out = Segments::default();
    let mut rest = mrkdwn;
    while let Some(open) = rest.find('<') {
        out.text(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            // An unterminated `<`: the rest is text.
            out.text(&rest[open..]);
            return out.0;
        };
        let inner = &after[..close];
        if let Some(nested) = inner.rfind('<') {
            // `<a <b>`: the first `<` opened nothing; start again at the inner one.
            out.text(&rest[open..open + 1 + nested]);
            rest = &after[nested..];
            continue;
        }
        match markup(inner, names) {
            Some(segment) => out.push(segment),
            None => out.text(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.text(rest);
    out.0
}

/// The segments as one plain string: links as `label (url)` unless the label is the url.
pub fn plain_text(segments: &[Segment]) -> String {
    let mut text = String::new();
    for segment in segments {
        match segment {
            Segment::Text(t) | Segment::Mention(t) => text.push_str(t),
            Segment::Link { url, label } if label == url => text.push_str(url),
            Segment::Link { url, label } => {
                text.push_str(&format!("{label} ({url})"));
            }
        }
    }
    text
}

/// The user ids `mrkdwn` mentions (`<@U…>`), in order, each once: to look their names up first.
pub fn mentioned_users(mrkdwn: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for piece in mrkdwn.split("<@").skip(1) {
        let id: String = piece
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closed = piece[id.len()..].starts_with(['>', '|']);
        if closed && !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Decodes the three entities Slack writes (`&amp;`, `&lt;`, `&gt;`); any other `&` stays.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (decoded, used) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
            .into_iter()
            .find(|(entity, _)| tail.starts_with(entity))
            .map_or(('&', 1), |(entity, c)| (c, entity.len()));
        out.push(decoded);
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}

/// What one `<…>` means, or `None` when it means nothing (then it is shown as written).
fn markup(inner: &str, names: &dyn UserNames) -> Option<Segment> {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (
            target,
            Some(decode_entities(label)).filter(|l| !l.is_empty()),
        ),
        None => (inner, None),
    };
    if target.is_empty() {
        return None;
    }
    if let Some(id) = target.strip_prefix('@') {
        let name = names
            .user_name(id)
            .or_else(|| label.map(|l| l.trim_start_matches('@').to_owned()))
            .unwrap_or_else(|| id.to_owned());
        return Some(Segment::Mention(format!("@{name}")));
    }
    if let Some(id) = target.strip_prefix('#') {
        let name = label.unwrap_or_else(|| id.to_owned());
        return Some(Segment::Mention(format!(
            "#{}",
            name.trim_start_matches('#')
        )));
    }
    if let Some(command) = target.strip_prefix('!') {
        return Some(special(command, label));
    }
    let url = decode_entities(target);
    let lower = url.to_ascii_lowercase();
    if ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        let label = label.unwrap_or_else(|| url.clone());
        return Some(Segment::Link { url, label });
    }
    // A target that is no link we would follow: its label as text, or shown as written.
    label.map(Segment::Text)
}

/// `<!here>`, `<!channel>`, `<!everyone>`, `<!subteam^ID|@team>`, `<!date^…|fallback>`.
fn special(command: &str, label: Option<String>) -> Segment {
    match command {
        "here" | "channel" | "everyone" => Segment::Mention(format!("@{command}")),
        _ if command.starts_with("subteam^") => {
            let id = command.trim_start_matches("subteam^");
            let name = label.unwrap_or_else(|| id.to_owned());
            Segment::Mention(format!("@{}", name.trim_start_matches('@')))
        }
        _ if command.starts_with("date^") => Segment::Text(label.unwrap_or_default()),
        _ => match label {
            Some(label) => Segment::Text(label),
            None => Segment::Mention(format!("@{}", decode_entities(command))),
        },
    }
}

#[derive(Default)]
struct Segments(Vec<Segment>);

impl Segments {
    fn text(&mut self, raw: &str) {
        if !raw.is_empty() {
            self.push(Segment::Text(decode_entities(raw)));
        }
    }

    fn push(&mut self, segment: Segment) {
        if let Segment::Text(more) = &segment {
            if more.is_empty() {
                return;
            }
            if let Some(Segment::Text(last)) = self.0.last_mut() {
                last.push_str(more);
                return;
            }
        }
        self.0.push(segment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(id: &str) -> Option<String> {
        (id == "U1").then(|| "ann".to_owned())
    }

    #[test]
    fn mentions_links_and_entities_read_plainly() {
        let got = segments(
            "<@U1> see <https://x.io/a?b=1&amp;c=2|the graph> &lt;3",
            &names,
        );
        assert_eq!(
            got,
            vec![
                Segment::Mention("@ann".into()),
                Segment::Text(" see ".into()),
                Segment::Link {
                    url: "https://x.io/a?b=1&c=2".into(),
                    label: "the graph".into()
                },
                Segment::Text(" <3".into()),
            ]
        );
        assert_eq!(
            plain_text(&got),
            "@ann see the graph (https://x.io/a?b=1&c=2) <3"
        );
    }

    #[test]
    fn mentioned_users_are_found_once_each() {
        assert_eq!(
            mentioned_users("<@U1> <@W2|bo> <@U1> <@ broken <@U3"),
            vec!["U1".to_owned(), "W2".to_owned()]
        );
    }
}

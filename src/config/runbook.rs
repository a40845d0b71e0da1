//! Runbook URL templates: `https://wiki.example.com/runbooks/{name}` with URL-encoded values.

use std::fmt;

use url::Url;

/// A value a runbook template can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{name}`: `Notification::name()`.
    Name,
    /// `{account}`: the account id.
    Account,
    /// `{region}`: the region code.
    Region,
    /// `{kind}`: `alarm`, `pipeline`, `cloudtrail`, `custom` or `other`.
    Kind,
    /// `{state}`: `Notification::state_label()`.
    State,
}

impl Placeholder {
    pub const ALL: [Placeholder; 5] = [
        Placeholder::Name,
        Placeholder::Account,
        Placeholder::Region,
        Placeholder::Kind,
        Placeholder::State,
    ];

    /// The name between the braces.
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::Name => "name",
            Placeholder::Account => "account",
            Placeholder::Region => "region",
            Placeholder::Kind => "kind",
            Placeholder::State => "state",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A checked runbook URL template. Expanded, it is always an http or https URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RunbookTemplate {
    text: String,
    parts: Vec<Part>,
}

impl RunbookTemplate {
    /// Parses `text`: `{name}` and the other [`Placeholder`]s, anything else between braces is
    /// an error, and so is a template that does not give an http or https URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts = split_parts(text)?;
        let template = Self {
            text: text.to_owned(),
            parts,
        };
        let sample = template.expand(|_| "sample".to_owned());
        let url = Url::parse(&sample)
            .map_err(|error| format!("does not give a URL ({error}): {text:?}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(format!("must give an http or https URL, got {text:?}"));
        }
        Ok(template)
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The placeholders the template uses, in order of appearance.
    pub fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.parts.iter().filter_map(|part| match part {
            Part::Value(placeholder) => Some(*placeholder),
            Part::Text(_) => None,
        })
    }

    /// The URL with every placeholder replaced by `value(placeholder)`, percent-encoded so that
    /// it stays inside one path segment or query value.
    pub fn expand(&self, mut value: impl FnMut(Placeholder) -> String) -> String {
        let mut url = String::with_capacity(self.text.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => url.push_str(text),
                Part::Value(placeholder) => url.push_str(&percent_encode(&value(*placeholder))),
            }
        }
        url
    }
}

impl fmt::Debug for RunbookTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RunbookTemplate").field(&self.text).finish()
    }
}

fn split_parts(text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!("has a \"}}\" without a \"{{\" before it: {text:?}"));
        }
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("has a \"{{\" that is never closed: {text:?}"))?;
        let name = &after[..close];
        if name.contains('{') {
            return Err(format!("has a \"{{\" that is never closed: {text:?}"));
        }
        match Placeholder::parse(name) {
            Some(placeholder) => parts.push(Part::Value(placeholder)),
            None => unknown.push(format!("{{{name}}}")),
        }
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    if !unknown.is_empty() {
        let known: Vec<String> = Placeholder::ALL
            .iter()
            .map(|placeholder| format!("{{{}}}", placeholder.as_str()))
            .collect();
        let plural = if unknown.len() == 1 { "" } else { "s" };
        return Err(format!(
            "unknown placeholder{plural} {} (known: {})",
            unknown.join(", "),
            known.join(" ")
        ));
    }
    Ok(parts)
}

/// Percent-encodes every byte except the RFC 3986 unreserved characters, so the result is safe
/// in a path segment and in a query value alike (a space becomes `%20`, `/` becomes `%2F`).
pub(crate) fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved_characters() {
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(percent_encode("a b&c/d?e#f"), "a%20b%26c%2Fd%3Fe%23f");
        assert_eq!(percent_encode("Ü"), "%C3%9C");
    }

    #[test]
    fn placeholders_are_found_in_order() {
        let template = RunbookTemplate::parse("https://w.test/{kind}/{name}?s={state}").unwrap();
        let found: Vec<_> = template.placeholders().collect();
        assert_eq!(
            found,
            [Placeholder::Kind, Placeholder::Name, Placeholder::State]
        );
    }
}

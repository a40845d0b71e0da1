//! The catch-all: keep unrecognised messages whole, pretty-printing JSON without reordering it.

use serde::de::IgnoredAny;

use super::other_events::{GenericNotification, TextFormat};

/// JSON nested deeper than this is kept as plain text rather than re-indented.
const MAX_PRETTY_DEPTH: usize = 32;
/// Re-indented text may grow to this many times the input (plus a little) before we give up.
const MAX_PRETTY_GROWTH: usize = 8;

/// Wraps a message nobody recognised. JSON is re-indented (keys keep their order and strings
/// their escapes); anything else, including broken JSON and JSON too deeply nested to indent
/// sensibly, is kept byte for byte.
pub(crate) fn unrecognised(message: &str, subject: Option<&str>) -> GenericNotification {
    let is_json = serde_json::from_str::<IgnoredAny>(message).is_ok();
    let pretty = if is_json {
        reindent_json(message)
    } else {
        None
    };
    let (text, format) = match pretty {
        Some(pretty) => (pretty, TextFormat::Json),
        None => (message.to_string(), TextFormat::Plain),
    };
    GenericNotification {
        subject: subject.map(str::to_string),
        text,
        format,
        detail_type: None,
        source: None,
        account: None,
        region: None,
        at: None,
        resources: Vec::new(),
    }
}

/// Re-indents valid JSON with two spaces per level, like `serde_json::to_string_pretty`, but
/// straight from the text: object key order, number spelling and string escapes stay as sent.
/// The input must already be known to be valid JSON. `None` when nesting exceeds
/// [`MAX_PRETTY_DEPTH`] or the output would grow past [`MAX_PRETTY_GROWTH`] times the input.
pub(crate) fn reindent_json(json: &str) -> Option<String> {
    let limit = json
        .len()
        .saturating_mul(MAX_PRETTY_GROWTH)
        .saturating_add(64 * 1024);
    let mut out = String::with_capacity(json.len() + json.len() / 2);
    let mut depth = 0usize;
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(inner) = chars.next() {
                    out.push(inner);
                    match inner {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                out.push(escaped);
                            }
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                while chars.peek().is_some_and(|next| is_json_whitespace(*next)) {
                    chars.next();
                }
                let close = if c == '{' { '}' } else { ']' };
                out.push(c);
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(close);
                } else {
                    depth += 1;
                    if depth > MAX_PRETTY_DEPTH {
                        return None;
                    }
                    new_line(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                new_line(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                new_line(&mut out, depth);
                if out.len() > limit {
                    return None;
                }
            }
            ':' => out.push_str(": "),
            c if is_json_whitespace(c) => {}
            other => out.push(other),
        }
    }
    Some(out)
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn new_line(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindents_like_serde_pretty_for_sorted_input() {
        let compact = r#"{"a":[1,2.50,{"b":null}],"c":{},"d":[],"e":"x:{,}\"y"}"#;
        let value: serde_json::Value = serde_json::from_str(compact).expect("valid");
        let ours = reindent_json(compact).expect("shallow");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&ours).expect("still valid"),
            value
        );
        assert_eq!(
            ours,
            "{\n  \"a\": [\n    1,\n    2.50,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n  \"d\": [],\n  \"e\": \"x:{,}\\\"y\"\n}"
        );
    }

    #[test]
    fn keeps_key_order_and_escapes() {
        let text = "{ \"zeta\" : 1 , \"alpha\" : \"\\u0000\\u200f\" }";
        assert_eq!(
            reindent_json(text).as_deref(),
            Some("{\n  \"zeta\": 1,\n  \"alpha\": \"\\u0000\\u200f\"\n}")
        );
    }

    #[test]
    fn plain_and_broken_text_is_kept_exactly() {
        for text in [
            "",
            "hello\r\nworld",
            "{\"AlarmName\": ",
            "<!channel> <http://x|y>",
            "[1,",
        ] {
            let generic = unrecognised(text, Some("s"));
            assert_eq!(generic.text, text);
            assert_eq!(generic.format, TextFormat::Plain);
            assert_eq!(generic.subject.as_deref(), Some("s"));
        }
    }

    #[test]
    fn deep_or_explosive_json_stays_plain() {
        let deep = "[".repeat(MAX_PRETTY_DEPTH + 1) + "1" + &"]".repeat(MAX_PRETTY_DEPTH + 1);
        assert_eq!(reindent_json(&deep), None);
        let generic = unrecognised(&deep, None);
        assert_eq!(generic.text, deep);
        assert_eq!(generic.format, TextFormat::Plain);
        let ok = "[".repeat(MAX_PRETTY_DEPTH) + "1" + &"]".repeat(MAX_PRETTY_DEPTH);
        assert!(reindent_json(&ok).is_some());
        let nested = "[".repeat(30);
        let wide = format!("{nested}{}{}", vec!["0"; 200_000].join(","), "]".repeat(30));
        assert_eq!(
            reindent_json(&wide),
            None,
            "60 spaces per 2-byte item is too much growth"
        );
    }

    #[test]
    fn scalars_are_json() {
        let generic = unrecognised(" 42 ", None);
        assert_eq!(generic.text, "42");
        assert_eq!(generic.format, TextFormat::Json);
    }
}

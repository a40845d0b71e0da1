//! Helpers for tests/alarm_cards.rs: fixture loading and the properties every card must keep.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chatops_bot::alarms::card::{is_user_group_id, is_user_id, CardOptions, RenderedCard};
use chatops_bot::alarms::{parse_sqs_message, Notification};
use chatops_bot::slack::blocks::to_json;
use chatops_bot::slack::message::{Block, Message};

pub fn alarm_fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alarms")
}

pub fn cards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cards")
}

/// Every body in tests/fixtures/alarms (`NAME.json` or `NAME.txt`, not `NAME.attrs.json`).
pub fn alarm_fixture_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(alarm_fixtures_dir())
        .expect("fixture directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|file| !file.ends_with(".attrs.json"))
        .filter_map(|file| {
            let name = file
                .strip_suffix(".json")
                .or_else(|| file.strip_suffix(".txt"));
            name.map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn load_alarm_fixture(name: &str) -> Notification {
    let dir = alarm_fixtures_dir();
    let json = dir.join(format!("{name}.json"));
    let body = if json.exists() {
        read(&json)
    } else {
        read(&dir.join(format!("{name}.txt")))
    };
    let attrs = dir.join(format!("{name}.attrs.json"));
    let attributes: BTreeMap<String, String> = if attrs.exists() {
        serde_json::from_str(&read(&attrs)).expect("attributes are a string map")
    } else {
        BTreeMap::new()
    };
    parse_sqs_message(&body, &attributes)
}

pub fn load_card_input(name: &str) -> Notification {
    let body = read(&cards_dir().join(format!("inputs/{name}.json")));
    parse_sqs_message(&body, &BTreeMap::new())
}

pub fn section_texts(message: &Message) -> Vec<&str> {
    message
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Section { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The `value` of the 👀 Watching button, if the card has one.
pub fn watch_value(rendered: &RenderedCard) -> Option<String> {
    rendered
        .message
        .blocks
        .iter()
        .find_map(|block| match block {
            Block::Actions(buttons) => buttons
                .iter()
                .find(|button| button.action_id == "alarm.watch")
                .and_then(|button| button.value.clone()),
            _ => None,
        })
}

/// Mrkdwn back to the text it shows: entities decoded, word joiners after `@` removed.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let entity = [
            ("&amp;", "&"),
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("@\u{2060}", "@"),
        ]
        .into_iter()
        .find(|(entity, _)| rest.starts_with(entity));
        match entity {
            Some((entity, plain)) => {
                out.push_str(plain);
                rest = &rest[entity.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

fn width(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Slack's limits, markup only where the bot made it, and "full text in thread" exactly when
/// there is an overflow message.
pub fn check_properties(name: &str, rendered: &RenderedCard, opts: &CardOptions) {
    check_message(name, &rendered.message, opts);
    if let Some(overflow) = &rendered.overflow {
        check_message(name, overflow, opts);
    }
    let card_json = to_json(&rendered.message).to_string();
    assert_eq!(
        card_json.contains("full text in thread"),
        rendered.overflow.is_some(),
        "{name}: a card points to the thread exactly when it has an overflow"
    );
}

fn check_message(name: &str, message: &Message, opts: &CardOptions) {
    let blocks = &message.blocks;
    assert!(
        !blocks.is_empty() && blocks.len() <= 50,
        "{name}: {} blocks",
        blocks.len()
    );
    assert!(
        !message.text.is_empty() && width(&message.text) <= 3000,
        "{name}: text"
    );
    check_mrkdwn(name, &message.text, opts);
    for block in blocks {
        match block {
            Block::Header(text) => {
                assert!(
                    !text.is_empty() && width(text) <= 150,
                    "{name}: header {text:?}"
                );
            }
            Block::Section { text, fields } => {
                let text = text.as_str();
                assert!(
                    !text.is_empty() && width(text) <= 3000,
                    "{name}: section {}",
                    width(text)
                );
                check_mrkdwn(name, text, opts);
                assert!(fields.len() <= 10, "{name}: {} fields", fields.len());
                for field in fields {
                    assert!(width(field.as_str()) <= 2000, "{name}: field");
                    check_mrkdwn(name, field.as_str(), opts);
                }
            }
            Block::Context(items) => {
                assert!(!items.is_empty() && items.len() <= 10, "{name}: context");
                for item in items {
                    assert!(width(item.as_str()) <= 2000, "{name}: context item");
                    check_mrkdwn(name, item.as_str(), opts);
                }
            }
            Block::Divider => {}
            Block::Markdown(text) => panic!("{name}: cards carry no markdown block: {text:?}"),
            Block::Image { source, .. } => {
                panic!("{name}: alarm cards carry no image: {source:?}")
            }
            Block::Actions(buttons) => {
                assert!(
                    !buttons.is_empty() && buttons.len() <= 25,
                    "{name}: buttons"
                );
                for button in buttons {
                    let value = button.value.as_deref().unwrap_or_default();
                    assert!(value.chars().count() <= 2000, "{name}: button value");
                }
            }
        }
    }
    let json = to_json(message);
    let rendered = json["blocks"]
        .as_array()
        .or_else(|| json["attachments"][0]["blocks"].as_array())
        .map_or(0, Vec::len);
    assert_eq!(
        rendered,
        blocks.len(),
        "{name}: blocks.rs had to drop blocks"
    );
}

/// Every `<…>` in mrkdwn must be markup the bot made (a valid user mention, the configured user
/// group, a link to the AWS console, the configured runbook or the thread's incident report);
/// outside of those there is no
/// `<`, `>` or bare `&`.
fn check_mrkdwn(name: &str, text: &str, opts: &CardOptions) {
    let mut rest = text;
    let mut outside = String::new();
    while let Some(start) = rest.find('<') {
        outside.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("{name}: unclosed `<` in {text:?}"));
        let token = &after[..end];
        assert!(
            markup_we_made(token, opts),
            "{name}: unexpected <{token}> in {text:?}"
        );
        rest = &after[end + 1..];
    }
    outside.push_str(rest);
    assert!(!outside.contains('>'), "{name}: raw `>` in {text:?}");
    for (index, _) in outside.match_indices('&') {
        let entity = &outside[index..];
        assert!(
            ["&amp;", "&lt;", "&gt;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "{name}: bare `&` in {text:?}"
        );
    }
}

fn markup_we_made(token: &str, opts: &CardOptions) -> bool {
    if let Some(id) = token.strip_prefix('@') {
        return is_user_id(id);
    }
    if let Some(id) = token.strip_prefix("!subteam^") {
        return is_user_group_id(id) && opts.mention.as_deref() == Some(id);
    }
    let Some((url, label)) = token.split_once('|') else {
        return false;
    };
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let console = host.ends_with(".console.aws.amazon.com")
        || [
            "console.aws.amazon.com",
            "console.amazonaws.cn",
            "console.amazonaws-us-gov.com",
        ]
        .contains(&host);
    let runbook = opts
        .runbook_url
        .as_deref()
        .is_some_and(|runbook| runbook.split('/').nth(2) == Some(host));
    // The incident report's page, which `watched_state()` carries.
    let report = host == "wiki.example";
    (console || runbook || report)
        && !url.contains([' ', '<', '"'])
        && !label.is_empty()
        && !label.contains('<')
}

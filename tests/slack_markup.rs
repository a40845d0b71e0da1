//! Slack mrkdwn → plain segments, driven by the fixtures in tests/fixtures/markup/, plus
//! generated hostile input (a 250 KB message, thousands of `<`).

use std::path::PathBuf;

use chatops_bot::slack::markup::{mentioned_users, plain_text, segments, Segment};

fn names(id: &str) -> Option<String> {
    (id == "U1").then(|| "ann".to_owned())
}

fn fixtures() -> Vec<(String, String, serde_json::Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/markup");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "mrkdwn") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let input = std::fs::read_to_string(&path).unwrap();
            let input = input.strip_suffix('\n').unwrap_or(&input).to_owned();
            let expected = std::fs::read_to_string(path.with_extension("expected"))
                .unwrap_or_else(|e| panic!("{name}.expected: {e}"));
            let expected = serde_json::from_str(&expected)
                .unwrap_or_else(|e| panic!("{name}.expected is not JSON: {e}"));
            cases.push((name, input, expected));
        }
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

#[test]
fn every_fixture_becomes_the_expected_segments() {
    let cases = fixtures();
    assert!(cases.len() >= 7, "fixtures found: {}", cases.len());
    let mut failures = Vec::new();
    for (name, input, expected) in cases {
        let got = serde_json::to_value(segments(&input, &names)).unwrap();
        if got != expected {
            failures.push(format!("{name}:\n  got      {got}\n  expected {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn plain_text_reads_like_the_message() {
    let got = segments(
        "<@U1> &amp; <@U2|bob>: see <https://x.io/?a=1&amp;b=2|the graph> and <https://y.io>",
        &names,
    );
    assert_eq!(
        plain_text(&got),
        "@ann & @bob: see the graph (https://x.io/?a=1&b=2) and https://y.io"
    );
}

#[test]
fn a_250_kb_message_is_read_whole() {
    let unit = "<@U1> said &amp; <https://x.io/a|link> 🚨 \u{202e}עברית ";
    let text = unit.repeat(250_000 / unit.len() + 1);
    assert!(text.len() >= 250_000);
    let got = segments(&text, &names);
    let plain = plain_text(&got);
    let unit_plain = "@ann said & link (https://x.io/a) 🚨 \u{202e}עברית ";
    assert_eq!(plain, unit_plain.repeat(250_000 / unit.len() + 1));
    assert_eq!(mentioned_users(&text), ["U1"]);
    let links = got
        .iter()
        .filter(|s| matches!(s, Segment::Link { .. }))
        .count();
    assert_eq!(links, 250_000 / unit.len() + 1);
}

#[test]
fn thousands_of_angle_brackets_are_text() {
    for text in [
        "<".repeat(100_000),
        "<a".repeat(50_000),
        format!("{}>", "<".repeat(100_000)),
        "<>".repeat(50_000),
        "&".repeat(100_000),
    ] {
        let got = segments(&text, &names);
        assert_eq!(plain_text(&got), text, "shown as written");
    }
}

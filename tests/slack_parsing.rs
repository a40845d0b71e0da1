//! Data-driven tests of the Slack edge: each envelope fixture parses to the expected typed value.
//! Fixtures: tests/fixtures/slack/envelopes/NAME.json, expectations NAME.expected beside them.
//! `UPDATE_EXPECT=1 cargo test --test slack_parsing` rewrites the expectations (review the diff!).

use std::path::Path;

use chatops_bot::slack::inbound::parse_payload;
use chatops_bot::slack::socket::frame::Frame;

fn describe(frame_text: &str) -> String {
    match Frame::parse(frame_text) {
        Ok(Frame::Envelope(envelope)) => {
            let parsed =
                parse_payload(&envelope.kind, envelope.payload.as_deref().map(|p| p.get()));
            format!(
                "envelope_id: {}\nretry: {} {:?}\n{:#?}\n",
                envelope.envelope_id, envelope.retry_attempt, envelope.retry_reason, parsed
            )
        }
        other => format!("{other:#?}\n"),
    }
}

#[test]
fn every_envelope_fixture_parses_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slack/envelopes");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .path()
                .file_name()?
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 15, "fixtures went missing: {names:?}");
    let mut failures = vec![];
    for name in &names {
        let input = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let actual = describe(&input);
        let expected_path = dir.join(format!("{name}.expected"));
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "--- {name}: expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn response_urls_never_appear_in_debug_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slack/envelopes");
    let input = std::fs::read_to_string(dir.join("slash_command.json")).unwrap();
    assert!(
        !describe(&input).contains("hooks.slack.com"),
        "response_url is a bearer capability"
    );
}

#[test]
fn a_250_kb_mention_parses_without_loss() {
    let text = format!("<@U0BOT> {}", "ü".repeat(125_000));
    let frame = serde_json::json!({
        "envelope_id": "big", "type": "events_api", "accepts_response_payload": false,
        "payload": {"type": "event_callback", "event_id": "EvBIG", "event": {
            "type": "app_mention", "user": "U1", "text": text, "ts": "1.2", "channel": "C1"}}
    })
    .to_string();
    assert!(frame.len() > 250_000);
    let Ok(Frame::Envelope(envelope)) = Frame::parse(&frame) else {
        panic!("big frame did not parse")
    };
    let parsed =
        parse_payload(&envelope.kind, envelope.payload.as_deref().map(|p| p.get())).unwrap();
    let chatops_bot::slack::inbound::Inbound::Interaction {
        interaction: chatops_bot::slack::interaction::Interaction::Mention(m),
        ..
    } = parsed
    else {
        panic!("not a mention: {parsed:?}")
    };
    assert_eq!(m.text.chars().count(), 125_000);
}

//! Robustness tests: huge bodies and hostile inputs never panic and never lose text.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{describe, parse_message, parse_sqs_message, Event, TextFormat};

#[test]
fn large_bodies_are_kept_whole() {
    let rows: Vec<String> = (0..8000)
        .map(|i| format!("{{\"row\":{i},\"label\":\"item {i:05}\"}}"))
        .collect();
    let json = format!("{{\"rows\":[{}]}}", rows.join(","));
    assert!(json.len() > 250_000);
    let text = "line of plain text ✓\n".repeat(12_000);
    assert!(text.len() > 250_000);

    let parsed_json = parse_sqs_message(&json, &BTreeMap::new());
    let other = parsed_json.as_other().expect("other");
    assert_eq!(other.format, TextFormat::Json);
    let round_trip: Value = serde_json::from_str(&other.text).expect("json");
    assert_eq!(
        round_trip,
        serde_json::from_str::<Value>(&json).expect("json")
    );

    let envelope = serde_json::json!({
        "Type": "Notification",
        "MessageId": "big-1",
        "Message": json,
    })
    .to_string();
    let enveloped = parse_sqs_message(&envelope, &BTreeMap::new());
    assert_eq!(enveloped.message_id, "big-1");
    assert_eq!(enveloped.event, parsed_json.event);

    let parsed_text = parse_sqs_message(&text, &BTreeMap::new());
    assert_eq!(
        parsed_text.as_other().map(|o| o.text.as_str()),
        Some(text.as_str())
    );
    assert!(
        describe(&parsed_text).len() < 10_000,
        "summaries of large text are truncated"
    );
}

#[test]
fn hostile_inputs_never_panic_and_keep_their_text() {
    let deep_object = "{\"a\":".repeat(1000) + "1" + &"}".repeat(1000);
    let inputs = [
        "",
        " ",
        "\u{0}",
        "{",
        "}",
        "\"",
        "null",
        "[]",
        "{}",
        "1e400",
        "\"\\ud800\"",
        "{\"Type\":\"Notification\"}",
        "{\"Type\":\"Notification\",\"MessageId\":{},\"Message\":\"x\"}",
        "{\"AlarmName\":null,\"NewStateValue\":null}",
        "{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\",\"Trigger\":\"oops\"}",
        "{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\",\"Trigger\":{\"Metrics\":7}}",
        "{\"detail-type\":5}",
        "{\"detail-type\":\"CloudWatch Alarm State Change\",\"detail\":\"x\"}",
        "{\"detail-type\":\"CodeBuild Build State Change\",\"detail\":{\"project-name\":[]}}",
        "{\"source\":\"custom\",\"content\":{\"description\":{}}}",
        "{\"eventVersion\":\"1\",\"eventSource\":1,\"eventName\":null}",
        &deep_object,
    ];
    for input in inputs {
        let notification = parse_sqs_message(input, &BTreeMap::new());
        let summary = describe(&notification);
        assert!(summary.contains("message_id: sha256:"), "{input:?}");
        if let Event::Other(other) = &notification.event {
            if other.format == TextFormat::Plain {
                assert_eq!(other.text, input);
            }
        }
        let _ = parse_message(input, Some("subject"));
    }
}

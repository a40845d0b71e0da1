//! Routing notifications to channels: fixture notifications against route configs, runbook URL
//! expansion, and which routes are reported as unreachable (and which must not be).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chatops_bot::alarms::routing::{Routes, RoutesError};
use chatops_bot::alarms::{parse_sqs_message, Notification};
use chatops_bot::config::{AlarmsConfig, Config, Purpose};
use serde_json::Value;

#[path = "routing/cases.rs"]
mod cases;
#[path = "routing/reach.rs"]
mod reach;

const DEFAULT_CHANNEL: &str = "#default";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alarms")
}

/// Every notification fixture name (`NAME.json` / `NAME.txt`, without `.attrs.json`).
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("fixture directory exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|file| !file.ends_with(".attrs.json"))
        .filter_map(|file| {
            let name = file.strip_suffix(".json").or(file.strip_suffix(".txt"))?;
            Some(name.to_owned())
        })
        .collect();
    names.sort();
    names
}

fn body(name: &str) -> String {
    let json = fixtures_dir().join(format!("{name}.json"));
    let path = if json.exists() {
        json
    } else {
        fixtures_dir().join(format!("{name}.txt"))
    };
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The SQS message attributes a raw-delivery fixture came with.
fn sqs_attributes(name: &str) -> BTreeMap<String, String> {
    let path = fixtures_dir().join(format!("{name}.attrs.json"));
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).expect("attributes are a string map"),
        Err(_) => BTreeMap::new(),
    }
}

fn notification(name: &str) -> Notification {
    parse_sqs_message(&body(name), &sqs_attributes(name))
}

/// A raw-delivery CloudWatch alarm (from a fixture) renamed to `alarm_name`.
fn alarm_named(alarm_name: &str) -> Notification {
    let mut alarm: Value = serde_json::from_str(&body("alarm_raw_no_arn")).unwrap();
    alarm["AlarmName"] = Value::String(alarm_name.to_owned());
    let notification = parse_sqs_message(&alarm.to_string(), &BTreeMap::new());
    assert_eq!(notification.name(), alarm_name);
    notification
}

/// `[alarms]` with a default channel and `routes` (TOML `[[alarms.route]]` blocks), loaded the
/// way the bot loads it, so every route here also passed validation.
fn alarms_config(routes: &str) -> AlarmsConfig {
    let text = format!("[alarms]\ndefault_channel = \"{DEFAULT_CHANNEL}\"\n\n{routes}");
    Config::load_from_str("routes.toml", &text, Vec::new(), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{text}\n{errors}"))
        .alarms
}

fn routes(config: &AlarmsConfig) -> Routes {
    Routes::new(config).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn hostile_names_are_url_encoded_into_one_path_segment() {
    let config = alarms_config(
        r##"
        [[alarms.route]]
        channels = ["#all"]
        runbook = "https://wiki.example.com/runbooks/{name}?kind={kind}"
        "##,
    );
    let routes = routes(&config);
    let cases = [
        ("db cpu & memory", "db%20cpu%20%26%20memory"),
        ("team/service/p99", "team%2Fservice%2Fp99"),
        ("50% errors?#x=1+2", "50%25%20errors%3F%23x%3D1%2B2"),
        ("Zürich 🚀 ä", "Z%C3%BCrich%20%F0%9F%9A%80%20%C3%A4"),
        ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd"),
    ];
    for (name, encoded) in cases {
        let decision = routes.route(&alarm_named(name));
        let expected = format!("https://wiki.example.com/runbooks/{encoded}?kind=alarm");
        assert_eq!(
            decision.runbook_url.as_deref(),
            Some(expected.as_str()),
            "{name}"
        );
        let url = url::Url::parse(&expected).expect("the expansion is a URL");
        let segments: Vec<&str> = url.path_segments().unwrap().collect();
        assert_eq!(segments, ["runbooks", encoded], "{name} stays one segment");
    }
}

#[test]
fn runbook_expansion_round_trips_every_fixture_name() {
    let config = alarms_config(
        r##"
        [[alarms.route]]
        channels = ["#all"]
        runbook = "https://wiki.example.com/r/{name}"
        "##,
    );
    let routes = routes(&config);
    for fixture in fixture_names() {
        let notification = notification(&fixture);
        let url = routes
            .route(&notification)
            .runbook_url
            .expect("the route has a runbook");
        let encoded = url
            .strip_prefix("https://wiki.example.com/r/")
            .expect("the template's text is kept");
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "{fixture}: {encoded}"
        );
        assert_eq!(percent_decode(encoded), notification.name(), "{fixture}");
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
            decoded.push(u8::from_str_radix(hex, 16).unwrap());
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).expect("decodes to UTF-8")
}

#[test]
fn routes_need_a_default_channel_and_valid_globs() {
    let mut config = alarms_config("");
    config.default_channel = None;
    assert_eq!(
        Routes::new(&config).err(),
        Some(RoutesError::NoDefaultChannel)
    );

    let mut config = alarms_config("[[alarms.route]]\nname = \"bad\"\nchannels = [\"#x\"]\n");
    config.routes[0].criteria.name = Some("payments-{a,b".to_owned());
    match Routes::new(&config) {
        Err(RoutesError::InvalidGlob { route, pattern, .. }) => {
            assert_eq!((route.as_str(), pattern.as_str()), ("bad", "payments-{a,b"));
        }
        other => panic!("expected InvalidGlob, got {other:?}"),
    }
}

#[test]
fn a_test_alarm_goes_where_its_route_says_but_mentions_nobody() {
    let config = alarms_config(
        r##"
        [[alarms.route]]
        name = "checkout"
        match.name = "chatops-bot-test-*"
        channels = ["#checkout"]
        mention = "S0CHECKOUT"
        "##,
    );
    let routes = routes(&config);
    let real = alarm_named("chatops-bot-test-20261207T120000Z");
    assert_eq!(routes.route(&real).mention.as_deref(), Some("S0CHECKOUT"));
    let mut attributes = BTreeMap::new();
    attributes.insert("chatops_test".to_owned(), "1".to_owned());
    let mut alarm: Value = serde_json::from_str(&body("alarm_raw_no_arn")).unwrap();
    alarm["AlarmName"] = Value::String("chatops-bot-test-20261207T120000Z".into());
    let test = parse_sqs_message(&alarm.to_string(), &attributes);
    assert!(test.is_test());
    let decision = routes.route(&test);
    assert_eq!(decision.channels, ["#checkout"]);
    assert_eq!(decision.route.as_deref(), Some("checkout"));
    assert_eq!(decision.mention, None);
}

//! Alarm cards: Block Kit expectations per fixture (`UPDATE_EXPECT=1` rewrites them), properties
//! over every alarm fixture and hostile input, buttons, and `chatops-bot render` as a process.

#[path = "alarm_cards/properties.rs"]
mod cards;

use std::fs;
use std::process::Command;
use std::time::Duration;

use chatops_bot::alarms::card::{
    card, card_key, mrkdwn_plain, CardOptions, CardState, RenderedCard, MAX_OVERFLOW_SECTIONS,
};
use chatops_bot::alarms::{parse_sqs_message, Notification};
use chatops_bot::slack::blocks::to_json;
use chatops_bot::slack::message::Block;
use serde_json::{json, Value};
use time::macros::datetime;

use cards::{
    alarm_fixture_names, cards_dir, check_properties, load_alarm_fixture, load_card_input,
    section_texts, unescape, watch_value,
};

/// Options with everything on: a user group, a runbook whose URL needs encoding, both buttons.
fn full_options() -> CardOptions {
    CardOptions {
        mention: Some("S0123ABCD".into()),
        runbook_url: Some(
            "https://wiki.example.invalid/runbooks/checkout db|cpu?alarm=checkout-db-cpu&env=prod"
                .into(),
        ),
        bedrock_enabled: true,
        reporting_enabled: true,
        rollback_to: None,
        actions: vec![],
    }
}

fn watched_state() -> CardState {
    CardState {
        watchers: vec!["U024BE7LH".into(), "W0123ABCD".into(), "<!channel>".into()],
        episode_started: Some(datetime!(2024-03-11 08:05:00 UTC)),
        resolved_after: None,
        flapping: true,
        reopen_count: 2,
        report_url: Some("https://wiki.example/pages/42".into()),
        graph: None,
    }
}

fn resolved_state() -> CardState {
    CardState {
        watchers: vec!["U024BE7LH".into()],
        episode_started: Some(datetime!(2024-03-11 08:15:02 UTC)),
        resolved_after: Some(Duration::from_secs(30 * 60 + 5)),
        ..CardState::default()
    }
}

/// Where a case's body comes from.
enum Input {
    /// `tests/fixtures/alarms/NAME.{json,txt}` (+ `.attrs.json`).
    Alarm(&'static str),
    /// `tests/fixtures/cards/inputs/NAME.json`.
    Card(&'static str),
}

struct Case {
    expect: &'static str,
    input: Input,
    state: CardState,
    opts: CardOptions,
}

fn case(expect: &'static str, input: Input) -> Case {
    Case {
        expect,
        input,
        state: CardState::default(),
        opts: CardOptions::default(),
    }
}

fn cases() -> Vec<Case> {
    use Input::{Alarm, Card};
    vec![
        case(
            "single_metric_alarm",
            Alarm("alarm_sns_single_metric_alarm"),
        ),
        Case {
            state: watched_state(),
            opts: full_options(),
            ..case(
                "single_metric_alarm_watched",
                Alarm("alarm_sns_single_metric_alarm"),
            )
        },
        Case {
            state: resolved_state(),
            opts: full_options(),
            ..case(
                "single_metric_ok_resolved",
                Alarm("alarm_sns_single_metric_ok"),
            )
        },
        case("metric_math_ok", Alarm("alarm_eventbridge_metric_math_sns")),
        case("metric_math_insufficient", Alarm("alarm_sns_metric_math")),
        case("anomaly_band", Alarm("alarm_sns_anomaly_band")),
        case("composite", Alarm("alarm_sns_composite")),
        case(
            "composite_suppressed",
            Alarm("alarm_eventbridge_composite_suppressed"),
        ),
        case("raw_no_arn", Alarm("alarm_raw_no_arn")),
        Case {
            opts: full_options(),
            ..case(
                "pipeline_action_failed",
                Alarm("pipeline_codepipeline_action_failed"),
            )
        },
        case(
            "codestar_pipeline_failed",
            Alarm("codestar_pipeline_failed"),
        ),
        case(
            "codebuild_build_failed",
            Alarm("pipeline_codebuild_build_failed"),
        ),
        case(
            "codedeploy_failure",
            Alarm("pipeline_codedeploy_failure_sns"),
        ),
        Case {
            opts: CardOptions {
                bedrock_enabled: true,
                ..CardOptions::default()
            },
            ..case(
                "cloudtrail_denied",
                Alarm("cloudtrail_s3_deleteobject_denied_sns"),
            )
        },
        case("custom_chatbot", Alarm("custom_chatbot_sns")),
        case("other_plain_text", Alarm("other_plain_text_sns")),
        case("other_unicode", Alarm("other_unicode_sns")),
        Case {
            state: watched_state(),
            opts: full_options(),
            ..case("hostile_alarm", Card("hostile_alarm_sns"))
        },
        case("hostile_pipeline", Card("hostile_pipeline")),
        case("hostile_cloudtrail", Card("hostile_cloudtrail")),
        case("hostile_custom", Card("hostile_custom")),
        case("long_reason", Card("long_reason_alarm")),
    ]
}

fn load(input: &Input) -> Notification {
    match input {
        Input::Alarm(name) => load_alarm_fixture(name),
        Input::Card(name) => load_card_input(name),
    }
}

fn rendered_json(rendered: &RenderedCard) -> Value {
    json!({
        "card": to_json(&rendered.message),
        "overflow": rendered.overflow.as_ref().map(to_json),
    })
}

#[test]
fn cards_match_their_expectations() {
    let update = std::env::var("UPDATE_EXPECT").as_deref() == Ok("1");
    let mut failures = Vec::new();
    for case in cases() {
        let rendered = card(&load(&case.input), &case.state, &case.opts);
        let actual = serde_json::to_string_pretty(&rendered_json(&rendered)).expect("JSON") + "\n";
        let path = cards_dir().join(format!("{}.json", case.expect));
        if update {
            fs::write(&path, &actual).expect("writing an expectation");
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(_) => failures.push(format!(
                "{}: differs from {}; run with UPDATE_EXPECT=1 and review the diff",
                case.expect,
                path.display()
            )),
            Err(e) => failures.push(format!("{}: {e}; run with UPDATE_EXPECT=1", case.expect)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_alarm_fixture_renders_within_slack_limits_and_safely() {
    let names = alarm_fixture_names();
    assert!(names.len() >= 40, "fixtures not found: {names:?}");
    for name in &names {
        let n = load_alarm_fixture(name);
        for (state, opts) in [
            (CardState::default(), CardOptions::default()),
            (watched_state(), full_options()),
            (resolved_state(), full_options()),
        ] {
            let rendered = card(&n, &state, &opts);
            check_properties(name, &rendered, &opts);
        }
    }
}

#[test]
fn hostile_inputs_render_within_limits_and_ping_nobody() {
    for name in [
        "hostile_alarm_sns",
        "hostile_pipeline",
        "hostile_cloudtrail",
        "hostile_custom",
        "long_reason_alarm",
    ] {
        let n = load_card_input(name);
        for opts in [CardOptions::default(), full_options()] {
            check_properties(name, &card(&n, &watched_state(), &opts), &opts);
        }
    }
    let n = load_card_input("hostile_alarm_sns");
    let rendered = card(&n, &CardState::default(), &CardOptions::default());
    let json = to_json(&rendered.message).to_string();
    assert!(json.contains("&lt;!channel&gt; deploy &amp; &lt;@U0BAD1&gt;"));
    assert!(json.contains("See &lt;http://x.example.invalid|y&gt; &amp;"));
    assert!(
        json.contains("@\u{2060}channel"),
        "bare @channel is broken up"
    );
    assert!(
        json.contains("\u{FFFD}evil\u{FFFD}"),
        "bidi overrides are made visible"
    );
    assert!(json.contains("zero\u{200b}width") && json.contains("🚨"));
}

/// A raw-delivery alarm with the given reason.
fn alarm_with_reason(reason: &str) -> Notification {
    let body = json!({
        "AlarmName": "huge-reason",
        "AWSAccountId": "444455556666",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": reason,
        "StateChangeTime": "2024-06-01T10:00:00.000+0000",
        "Region": "EU (Ireland)",
        "Trigger": {"MetricName": "M", "Namespace": "N", "Period": 60, "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0}
    });
    parse_sqs_message(&body.to_string(), &Default::default())
}

#[test]
fn a_250_kb_reason_is_cut_visibly_and_the_thread_says_what_was_left_out() {
    let unit = "<!channel> & <http://x|y> \u{202e} 🔥 ";
    let reason = unit.repeat(250_000 / unit.len() + 1);
    assert!(reason.len() >= 250_000);
    let rendered = card(
        &alarm_with_reason(&reason),
        &CardState::default(),
        &full_options(),
    );
    check_properties("250 KB reason", &rendered, &full_options());
    let overflow = rendered.overflow.expect("overflow");
    let sections = section_texts(&overflow);
    assert_eq!(sections.len(), MAX_OVERFLOW_SECTIONS);
    let last = sections.last().expect("sections");
    assert!(last.contains("more characters omitted"), "{last}");
    let shown = unescape(&sections[1..sections.len() - 1].concat());
    let full = mrkdwn_plain(&reason);
    assert!(
        full.starts_with(&shown),
        "the thread shows the start of the reason"
    );
    let omitted = full.chars().count() - shown.chars().count();
    assert!(
        last.contains(&format!("… {omitted} more characters omitted")),
        "{last}"
    );
}

#[test]
fn a_long_reason_is_in_the_thread_in_full() {
    let reason = "datapoint [91.2 (11/03/24 08:10:00)] & <more>\n".repeat(200);
    let rendered = card(
        &alarm_with_reason(&reason),
        &CardState::default(),
        &CardOptions::default(),
    );
    let card_json = to_json(&rendered.message).to_string();
    assert!(card_json.contains("full text in thread"));
    let overflow = rendered.overflow.expect("overflow");
    let texts = section_texts(&overflow);
    assert!(texts[0].starts_with("*Reason* (full text"), "{}", texts[0]);
    assert_eq!(unescape(&texts[1..].concat()), reason);
}

#[test]
fn a_long_unrecognised_message_goes_to_the_thread_in_code_blocks() {
    let text = "log line <!channel> & ```fence``` <http://x|y>\n".repeat(1500);
    let n = parse_sqs_message(&text, &Default::default());
    assert!(n.as_other().is_some());
    let rendered = card(&n, &CardState::default(), &CardOptions::default());
    check_properties("long other", &rendered, &CardOptions::default());
    let overflow = rendered.overflow.expect("overflow");
    let chunks: Vec<&str> = section_texts(&overflow)[1..]
        .iter()
        .map(|s| {
            s.strip_prefix("```\n")
                .and_then(|s| s.strip_suffix("\n```"))
                .expect("fenced")
        })
        .collect();
    let shown = unescape(&chunks.concat()).replace('\u{200B}', "");
    assert_eq!(
        shown, text,
        "the thread holds the whole text (fences defused)"
    );
}

#[test]
fn buttons_follow_the_options_and_carry_the_card_key() {
    for name in alarm_fixture_names() {
        let n = load_alarm_fixture(&name);
        let watchable = n.as_alarm().is_some() || n.as_pipeline().is_some();
        for (bedrock, reporting) in [(false, false), (true, false), (false, true), (true, true)] {
            let opts = CardOptions {
                bedrock_enabled: bedrock,
                reporting_enabled: reporting,
                ..CardOptions::default()
            };
            let rendered = card(&n, &CardState::default(), &opts);
            let buttons: Vec<(String, Option<String>)> = rendered
                .message
                .blocks
                .iter()
                .filter_map(|block| match block {
                    Block::Actions(buttons) => Some(buttons),
                    _ => None,
                })
                .flatten()
                .map(|button| (button.action_id.clone(), button.value.clone()))
                .collect();
            let mut expected = Vec::new();
            if watchable {
                expected.push("alarm.watch");
            }
            if bedrock {
                expected.push("alarm.bedrock");
            }
            if reporting {
                expected.push("alarm.report");
            }
            let ids: Vec<&str> = buttons.iter().map(|(id, _)| id.as_str()).collect();
            assert_eq!(
                ids, expected,
                "{name} bedrock={bedrock} reporting={reporting}"
            );
            for (_, value) in &buttons {
                assert_eq!(value.as_deref(), Some(card_key(&n).as_str()), "{name}");
            }
        }
        if let Some(alarm) = n.as_alarm() {
            let rendered = card(&n, &CardState::default(), &CardOptions::default());
            assert_eq!(
                watch_value(&rendered).as_deref(),
                Some(alarm.key().as_str()),
                "{name}: the Watching value is the alarm key"
            );
        }
    }
}

#[test]
fn the_mention_appears_only_while_alerting() {
    let firing = load_alarm_fixture("alarm_sns_single_metric_alarm");
    let resolved = load_alarm_fixture("alarm_sns_single_metric_ok");
    let opts = full_options();
    let firing_json = to_json(&card(&firing, &CardState::default(), &opts).message).to_string();
    assert!(firing_json.contains("<!subteam^S0123ABCD>"));
    let resolved_json = to_json(&card(&resolved, &resolved_state(), &opts).message).to_string();
    assert!(!resolved_json.contains("subteam"));
    assert!(resolved_json.contains("*Fired for*\\n30m 5s"));
    let bad = CardOptions {
        mention: Some("<!channel>".into()),
        ..CardOptions::default()
    };
    let json = to_json(&card(&firing, &CardState::default(), &bad).message).to_string();
    assert!(!json.contains("<!"), "an invalid group id is not markup");
}

fn bot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chatops-bot"))
}

#[test]
fn render_prints_block_kit_json_for_a_fixture() {
    let alarms = cards::alarm_fixtures_dir();
    let output = bot()
        .arg("render")
        .arg(alarms.join("alarm_raw_no_arn.json"))
        .arg("--attributes")
        .arg(alarms.join("alarm_raw_no_arn.attrs.json"))
        .output()
        .expect("run chatops-bot");
    assert!(output.status.success(), "{output:?}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let expected = to_json(
        &card(
            &load_alarm_fixture("alarm_raw_no_arn"),
            &CardState::default(),
            &CardOptions::default(),
        )
        .message,
    );
    assert_eq!(json, expected);
    let blocks = json["attachments"][0]["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(json["attachments"][0]["color"], "#d62728");

    let output = bot()
        .arg("render")
        .arg(alarms.join("other_mentions_raw.txt"))
        .output()
        .expect("run chatops-bot");
    assert!(output.status.success(), "{output:?}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert!(json["blocks"].as_array().is_some_and(|b| !b.is_empty()));
    assert!(!json.to_string().contains("<!channel>"));
}

#[test]
fn render_reports_a_missing_file_and_bad_attributes() {
    let missing = cards_dir().join("no-such-body.json");
    let output = bot().arg("render").arg(&missing).output().expect("run");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read") && stderr.contains("no-such-body.json"),
        "{stderr}"
    );

    let body = cards::alarm_fixtures_dir().join("alarm_raw_no_arn.json");
    let not_a_map = cards_dir().join("inputs/hostile_custom.json");
    let output = bot()
        .arg("render")
        .arg(&body)
        .arg("--attributes")
        .arg(&not_a_map)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("attributes"), "{stderr}");
}

//! The MetricWidget JSON of each alarm shape (`alarms::graph`) against its expectation in
//! tests/fixtures/graphs/ (`UPDATE_EXPECT=1` rewrites them): single metric, metric math, anomaly
//! band, EventBridge; composite alarms and other notifications have none.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use chatops_bot::alarms::graph::metric_widget;
use chatops_bot::alarms::{parse_sqs_message, Notification};
use serde_json::Value;

const SHAPES: [&str; 6] = [
    "single_metric_p99",
    "single_metric_below",
    "metric_math",
    "anomaly_band",
    "eventbridge_metric",
    "composite",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graphs")
}

fn load(name: &str) -> Notification {
    let body = fs::read_to_string(dir().join(format!("{name}.json"))).expect("fixture");
    parse_sqs_message(&body, &BTreeMap::new())
}

fn widget(n: &Notification, period: Option<Duration>) -> Option<Value> {
    metric_widget(n, period).map(|text| serde_json::from_str(&text).expect("the widget is JSON"))
}

#[test]
fn each_shape_draws_the_expected_widget() {
    let update = std::env::var("UPDATE_EXPECT").as_deref() == Ok("1");
    let mut failures = Vec::new();
    for name in SHAPES {
        let actual = widget(&load(name), None).unwrap_or(Value::Null);
        let text = serde_json::to_string_pretty(&actual).expect("JSON") + "\n";
        let path = dir().join(format!("{name}.widget.json"));
        if update {
            fs::write(&path, &text).expect("writing an expectation");
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(expected) if expected == text => {}
            Ok(_) => failures.push(format!(
                "{name}: differs; run with UPDATE_EXPECT=1 and review"
            )),
            Err(e) => failures.push(format!("{name}: {e}; run with UPDATE_EXPECT=1")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_widget_keeps_cloudwatchs_rules() {
    for name in SHAPES.iter().filter(|name| **name != "composite") {
        let widget = widget(&load(name), None).expect("a metric alarm has a graph");
        let metrics = widget["metrics"].as_array().expect("metrics");
        assert!((1..=100).contains(&metrics.len()), "{name}");
        assert_eq!(widget["start"], "-PT3H", "{name}: the last 3 hours");
        assert!(widget["period"].as_u64().is_some_and(|p| p > 0), "{name}");
        assert!(
            widget["region"].as_str().is_some_and(|r| !r.is_empty()),
            "{name}"
        );
        let vertical = &widget["annotations"]["vertical"][0];
        assert!(
            vertical["value"].as_str().is_some(),
            "{name}: the state change is marked"
        );
    }
}

#[test]
fn the_threshold_is_a_horizontal_line_and_the_band_is_drawn_instead_for_anomaly_alarms() {
    let single = widget(&load("single_metric_p99"), None).unwrap();
    assert_eq!(single["annotations"]["horizontal"][0]["value"], 1.5);
    assert_eq!(single["annotations"]["horizontal"][0]["fill"], "above");
    assert_eq!(single["stat"], "p99");
    let band = widget(&load("anomaly_band"), None).unwrap();
    assert!(band["annotations"].get("horizontal").is_none());
    let band_line = band["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line[0]["id"] == "band")
        .expect("the band is a line");
    assert_eq!(band_line[0]["expression"], "ANOMALY_DETECTION_BAND(m1, 3)");
}

#[test]
fn metric_math_hides_the_inputs_and_shows_the_expression() {
    let math = widget(&load("metric_math"), None).unwrap();
    let lines = math["metrics"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0][0]["expression"], "100*errors/requests");
    assert!(lines[0][0].get("visible").is_none());
    for input in &lines[1..] {
        let options = input.as_array().unwrap().last().unwrap();
        assert_eq!(options["visible"], false);
    }
}

#[test]
fn graph_period_wins_over_the_alarms_period() {
    let n = load("single_metric_p99");
    assert_eq!(widget(&n, None).unwrap()["period"], 60);
    let longer = widget(&n, Some(Duration::from_secs(300))).unwrap();
    assert_eq!(longer["period"], 300);
}

#[test]
fn non_alarm_notifications_have_no_graph() {
    let custom = r#"{"version":"1.0","source":"custom","content":{"description":"hello"}}"#;
    assert_eq!(
        metric_widget(&parse_sqs_message(custom, &BTreeMap::new()), None),
        None
    );
    assert_eq!(metric_widget(&load("composite"), None), None);
}

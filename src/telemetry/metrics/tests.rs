//! The registry's text: names in Prometheus style with their units, counters and labels moving, the latencies in their histograms.

use std::time::Duration;

use super::*;

/// The value of the sample line `series` (name and labels as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().unwrap())
    })
}

#[test]
fn every_family_is_named_with_its_unit_and_the_text_ends_in_eof() {
    let metrics = Metrics::default();
    metrics.reconnected("warning");
    metrics.slack_api.attempt("chat.postMessage", ApiResult::Ok);
    metrics
        .integrations
        .observe(System::GitHub, "dispatch", Duration::from_millis(20), true);
    let text = metrics.encode();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line.split(' ').skip(2);
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        assert!(name.starts_with("chatops_"), "{line}");
        match kind {
            "histogram" => assert!(name.ends_with("_seconds"), "{line}"),
            "counter" | "gauge" => {}
            other => panic!("unexpected type {other}: {line}"),
        }
        assert!(!name.ends_with("_total"), "the encoder adds _total: {line}");
    }
    for name in [
        "chatops_slack_acks_total 0",
        "chatops_slack_connections 0",
        "chatops_alarms_received_total 0",
        "chatops_alarms_dead_lettered_messages 0",
        "chatops_alarm_state_change_to_post_seconds_count 0",
        "chatops_alarm_visible_to_post_seconds_count 0",
        "chatops_slack_ack_seconds_count 0",
        "chatops_bedrock_answer_seconds_count 0",
    ] {
        assert!(text.lines().any(|l| l == name), "no {name:?} in\n{text}");
    }
}

#[test]
fn counters_and_labelled_counters_move() {
    let metrics = Metrics::default();
    metrics.acks_sent.inc();
    metrics.acks_sent.inc();
    metrics.connections_up.inc();
    metrics.reconnected("lost");
    metrics.reconnected("lost");
    metrics.record_redelivery("timeout");
    metrics.record_redelivery("something_new");
    metrics
        .slack_api
        .attempt("chat.update", ApiResult::RateLimited);
    metrics.slack_api.attempt("chat.update", ApiResult::Ok);
    metrics.alarms.posted.inc();
    metrics.integrations.observe(
        System::Confluence,
        "create_page",
        Duration::from_secs(1),
        false,
    );
    let text = metrics.encode();
    for (series, value) in [
        ("chatops_slack_acks_total", 2.0),
        ("chatops_slack_connections", 1.0),
        ("chatops_slack_reconnects_total{reason=\"lost\"}", 2.0),
        ("chatops_slack_event_retries_total{reason=\"timeout\"}", 1.0),
        ("chatops_slack_event_retries_total{reason=\"other\"}", 1.0),
        (
            "chatops_slack_api_calls_total{method=\"chat.update\",result=\"rate_limited\"}",
            1.0,
        ),
        (
            "chatops_slack_api_calls_total{method=\"chat.update\",result=\"ok\"}",
            1.0,
        ),
        ("chatops_slack_rate_limited_total{method=\"chat.update\"}", 1.0),
        ("chatops_alarms_posted_total", 1.0),
        (
            "chatops_integration_errors_total{system=\"confluence\",operation=\"create_page\"}",
            1.0,
        ),
        (
            "chatops_integration_request_seconds_count{system=\"confluence\",operation=\"create_page\"}",
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    let snapshot = metrics.snapshot();
    assert_eq!((snapshot.acks_sent, snapshot.reconnects), (2, 2));
    assert_eq!(snapshot.redeliveries.get("something_new"), Some(&1));
}

#[test]
fn each_latency_lands_in_its_own_histogram() {
    let metrics = Metrics::default();
    let expected = [
        (
            LatencyKind::AlarmStateChangeToPost,
            "chatops_alarm_state_change_to_post_seconds",
        ),
        (
            LatencyKind::AlarmVisibleToPost,
            "chatops_alarm_visible_to_post_seconds",
        ),
        (LatencyKind::SocketAck, "chatops_slack_ack_seconds"),
        (LatencyKind::AgentAnswer, "chatops_bedrock_answer_seconds"),
    ];
    for (i, (kind, _)) in expected.iter().enumerate() {
        for _ in 0..=i {
            metrics.record(*kind, Duration::from_millis(1500));
        }
    }
    let text = metrics.encode();
    for (i, (_, name)) in expected.iter().enumerate() {
        let count = sample(&text, &format!("{name}_count"));
        assert_eq!(count, Some((i + 1) as f64), "{name} in\n{text}");
        let sum = sample(&text, &format!("{name}_sum")).unwrap();
        assert!((sum - 1.5 * (i + 1) as f64).abs() < 1e-9, "{name}: {sum}");
    }
}

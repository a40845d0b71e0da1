//! `/healthz`'s verdict from a health snapshot, and the routes answered without a socket.

use std::time::Duration;

use super::*;
use crate::health::{AlarmsHealth, HealthLimits};

fn snapshot(connections: usize, down_for: Option<u64>, since_poll: Option<u64>) -> HealthSnapshot {
    HealthSnapshot {
        limits: HealthLimits {
            connections: 2,
            reconnect_within: Duration::from_secs(100),
            poll_within: since_poll.map(|_| Duration::from_secs(40)),
        },
        connections,
        slack_down_for: down_for.map(Duration::from_secs),
        alarms: since_poll.map(|since| AlarmsHealth {
            started: true,
            since_poll: Duration::from_secs(since),
            today: 3,
            in_hand: 0,
        }),
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

#[test]
fn one_connection_up_and_recent_polls_are_healthy() {
    let (status, body) = healthz(&snapshot(1, None, Some(5)));
    assert_eq!(status, StatusCode::OK, "{body}");
    let body = json(&body);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["slack_connections"], 1);
    assert_eq!(body["alarms"]["delivered_today"], 3);
    assert!(body.get("reason").is_none());
}

#[test]
fn no_connection_is_unhealthy_at_once_even_while_reconnecting_is_allowed() {
    let (status, body) = healthz(&snapshot(0, Some(1), None));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&body)["reason"], "no Slack connection is up");
}

#[test]
fn every_reason_is_given() {
    let (status, body) = healthz(&snapshot(0, Some(101), Some(41)));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let reason = json(&body)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.starts_with("no Slack connection is up; no Slack connection for"),
        "{reason}"
    );
    assert!(
        reason.contains("no SQS receive for 41s (allowed 40s)"),
        "{reason}"
    );
}

#[test]
fn routes_and_methods() {
    let endpoint = Endpoint::new(Arc::default(), Arc::default());
    let metrics = endpoint.answer(&Method::GET, "/metrics");
    assert_eq!(metrics.status(), StatusCode::OK);
    assert_eq!(metrics.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    assert_eq!(
        endpoint.answer(&Method::GET, "/healthz").status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no connection yet"
    );
    assert_eq!(
        endpoint.answer(&Method::POST, "/metrics").status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        endpoint.answer(&Method::GET, "/").status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn pollers_that_have_not_started_are_a_reason() {
    let mut starting = snapshot(1, None, Some(0));
    starting.alarms.as_mut().unwrap().started = false;
    let (status, body) = healthz(&starting);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&body)["reason"], "the SQS pollers have not started");
}

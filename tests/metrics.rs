//! `[metrics]` with the real binary against the fakes: a scrape over 127.0.0.1 whose counters move with Slack and SQS traffic, the endpoint as the only listener, `/healthz` 200 then 503 with the reason, and the log format (no ANSI, no timestamps under journald, JSON lines with the interaction's ids).

mod support;

#[path = "metrics/bot.rs"]
mod bot;
#[path = "egress/listening.rs"]
mod listening;
#[path = "metrics/scrape.rs"]
mod scrape;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bot::{healthz_becomes, scrape_now, Bot};
use chatops_sandbox::aws::FakeSqs;
use chatops_sandbox::slack::envelopes;
use chatops_sandbox::slack::{HttpFault, Target};
use support::*;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const CHANNEL: &str = "C0ALERTS01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_shows_slack_and_alarm_traffic_and_the_endpoint_is_the_only_listener() {
    let fake = fake_slack().await;
    let sqs = FakeSqs::start().await.unwrap();
    let dlq = sqs.create_queue("alarms-dlq", 30 * SECOND, None).unwrap();
    let queue = sqs
        .create_queue("alarms", 30 * SECOND, Some(("alarms-dlq", 5)))
        .unwrap();
    // One alarm already dead-lettered: the DLQ depth gauge reads it at start.
    sqs.publish_sns(&dlq, None, "{}", BTreeMap::new(), true)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{}\"\n\n[alarms]\nqueue_url = \"{queue}\"\n\
         default_channel = \"{CHANNEL}\"\nreceive_wait = \"1s\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
        sqs.endpoint_url()
    );
    let bot = Bot::spawn(&fake, dir.path(), &extra, &[]);
    let addr = bot.metrics_addr().await;
    assert!(addr.ip().is_loopback());
    let healthy = healthz_becomes(addr, 200, 10 * SECOND).await;
    assert_eq!(healthy["status"], "ok");
    assert_eq!(healthy["slack_connections"], 1);
    assert_eq!(healthy["alarms"]["pollers_started"], true);

    // The one listening socket is the endpoint's.
    let inodes = listening::socket_inodes(bot.child.id());
    let listeners: Vec<String> = listening::entries(&inodes)
        .into_iter()
        .filter(|e| e.listening)
        .map(|e| format!("/proc/net/{}: {}", e.table, e.line))
        .collect();
    let port = format!(":{:04X} ", addr.port());
    assert!(
        listeners.len() == 1 && listeners[0].contains(&port),
        "expected only the endpoint on port {}: {listeners:#?}",
        addr.port()
    );

    // Traffic: an envelope acked, an alarm posted.
    let before = scrape_now(addr).await;
    fake.send(
        Target::Any,
        envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help"),
    )
    .await
    .unwrap();
    fake.wait_for_acks(1, 5 * SECOND).await.unwrap();
    let body = cloudwatch_alarm(
        "HighCPU",
        "ALARM",
        "OK",
        "2026-12-07T10:00:00.000+0000",
        "x",
    );
    sqs.publish_sns(
        &queue,
        Some("ALARM: \"HighCPU\""),
        &body,
        BTreeMap::new(),
        false,
    )
    .unwrap();
    eventually(10 * SECOND, "the alarm card", || {
        !fake.messages(CHANNEL).is_empty()
    })
    .await;
    let deadline = Instant::now() + 5 * SECOND;
    let after = loop {
        let after = scrape_now(addr).await;
        if scrape::total(&after, "chatops_alarms_posted_total", &[]) >= 1.0 {
            break after;
        }
        assert!(Instant::now() < deadline, "no post counted: {after:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let moved = |name: &str, labels: &[&str]| {
        scrape::total(&after, name, labels) - scrape::total(&before, name, labels)
    };
    assert_eq!(moved("chatops_slack_acks_total", &[]), 1.0, "{after:#?}");
    assert_eq!(moved("chatops_alarms_received_total", &[]), 1.0);
    assert_eq!(moved("chatops_alarms_posted_total", &[]), 1.0);
    assert!(
        moved(
            "chatops_slack_api_calls_total",
            &["method=\"chat.postMessage\"", "result=\"ok\""]
        ) >= 1.0
    );
    assert!(scrape::total(&after, "chatops_slack_hellos_total", &[]) >= 1.0);
    assert!(
        scrape::total(
            &after,
            "chatops_slack_api_calls_total",
            &["method=\"auth.test\"", "result=\"ok\""]
        ) >= 1.0
    );
    assert_eq!(after["chatops_slack_connections"], 1.0);
    assert_eq!(after["chatops_alarms_dead_lettered_messages"], 1.0);
    assert_eq!(after["chatops_alarms_failed_total"], 0.0);
    // The latencies measured reach their histograms (the metrics are a `LatencySink`).
    assert!(
        moved("chatops_slack_ack_seconds_count", &[]) >= 1.0,
        "{after:#?}"
    );
    assert_eq!(
        moved("chatops_alarm_state_change_to_post_seconds_count", &[]),
        1.0
    );
    assert_eq!(
        moved("chatops_alarm_visible_to_post_seconds_count", &[]),
        1.0
    );

    let (code, log) = bot.stop().await;
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains('\u{1b}'), "colours in a log file:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_200_while_slack_is_up_and_503_with_the_reason_when_it_refuses_connections() {
    let fake = fake_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::spawn(
        &fake,
        dir.path(),
        "[metrics]\nlisten = \"127.0.0.1:0\"\n",
        &[],
    );
    let addr = bot.metrics_addr().await;
    let healthy = healthz_becomes(addr, 200, 10 * SECOND).await;
    assert_eq!(healthy["alarms"], serde_json::Value::Null, "alarms are off");

    // Slack stops handing out connections, and the one there is drops.
    fake.set_open_error(Some("internal_error"));
    for conn in fake.open_connections() {
        fake.abort(conn).await.unwrap();
    }
    let unhealthy = healthz_becomes(addr, 503, 10 * SECOND).await;
    assert_eq!(unhealthy["status"], "unhealthy");
    assert_eq!(
        unhealthy["reason"], "no Slack connection is up",
        "{unhealthy}"
    );
    let after = scrape_now(addr).await;
    assert_eq!(after["chatops_slack_connections"], 0.0);
    assert!(
        scrape::total(
            &after,
            "chatops_slack_reconnects_total",
            &["reason=\"lost\""]
        ) >= 1.0
    );

    // Back again.
    fake.set_open_error(None);
    healthz_becomes(addr, 200, 10 * SECOND).await;
    let (code, log) = bot.stop().await;
    assert_eq!(code, 0, "{log}");
}

/// Stderr's (device, inode), as systemd writes them into `JOURNAL_STREAM`.
fn journal_stream_of(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).unwrap();
    format!("{}:{}", metadata.dev(), metadata.ino())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_have_no_colours_off_a_terminal_and_no_timestamps_under_journald() {
    let fake = fake_slack().await;
    for journald in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        // The log file exists before the bot starts, so its inode is known.
        let log = dir.path().join("bot.log");
        std::fs::write(&log, "").unwrap();
        let stream = journal_stream_of(&log);
        let env: &[(&str, &str)] = if journald {
            &[("JOURNAL_STREAM", &stream)]
        } else {
            &[]
        };
        let bot = Bot::spawn(&fake, dir.path(), "", env);
        assert_eq!(journal_stream_of(&bot.log), stream, "the same file");
        bot.log_line("Socket Mode connection ready.").await;
        let (code, log) = bot.stop().await;
        assert_eq!(code, 0, "{log}");
        assert!(!log.contains('\u{1b}'), "colours:\n{log}");
        let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
        assert!(lines.len() > 3, "{log}");
        let stamped = |line: &&str| line.starts_with("20") && line.as_bytes().get(4) == Some(&b'-');
        if journald {
            assert!(
                !lines.iter().any(stamped),
                "timestamps under journald:\n{log}"
            );
            assert!(
                lines
                    .iter()
                    .all(|l| l.trim_start().starts_with(['I', 'W', 'E', 'D', 'T'])),
                "{log}"
            );
        } else {
            assert!(
                lines.iter().all(stamped),
                "lines without a timestamp:\n{log}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_and_name_the_envelope_they_are_about() {
    let fake = fake_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("RUST_LOG", "info,chatops_bot=debug")];
    let bot = Bot::spawn(&fake, dir.path(), "[log]\nformat = \"json\"\n", &env);
    bot.log_line("Socket Mode connection ready.").await;
    let sent = fake
        .send(
            Target::Any,
            envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help"),
        )
        .await
        .unwrap();
    bot.log_line("Handling interaction.").await;
    let (code, log) = bot.stop().await;
    assert_eq!(code, 0, "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect();
    assert!(lines
        .iter()
        .all(|l| l.is_object() && l["level"].is_string() && l["message"].is_string()));
    let handling = lines
        .iter()
        .find(|l| l["message"] == "Handling interaction.")
        .unwrap();
    assert_eq!(handling["span"]["name"], "interaction", "{handling}");
    assert_eq!(
        handling["span"]["envelope_id"].as_str(),
        sent.envelope_id.as_deref(),
        "{handling}"
    );
    assert_eq!(
        handling["span"]["event_id"].as_str(),
        sent.event_id.as_deref()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_alarm_is_logged_with_its_card_key_and_counted() {
    let fake = fake_slack().await;
    let sqs = FakeSqs::start().await.unwrap();
    let queue = sqs.create_queue("alarms", 30 * SECOND, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{}\"\n\n[alarms]\nqueue_url = \"{queue}\"\n\
         default_channel = \"{CHANNEL}\"\nreceive_wait = \"1s\"\n\n[log]\nformat = \"json\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n",
        sqs.endpoint_url()
    );
    let bot = Bot::spawn(&fake, dir.path(), &extra, &[]);
    let addr = bot.metrics_addr().await;
    healthz_becomes(addr, 200, 10 * SECOND).await;
    // Slack refuses the card: the delivery fails, and the message stays in the queue.
    fake.fail_next(
        "chat.postMessage",
        HttpFault::SlackError("channel_not_found".into()),
        1,
    );
    let body = cloudwatch_alarm(
        "DiskFull",
        "ALARM",
        "OK",
        "2026-12-07T10:00:00.000+0000",
        "x",
    );
    sqs.publish_sns(
        &queue,
        Some("ALARM: \"DiskFull\""),
        &body,
        BTreeMap::new(),
        false,
    )
    .unwrap();
    let line = bot.log_line("Notification not delivered").await;
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["span"]["name"], "alarm", "{line}");
    assert_eq!(
        line["span"]["card"],
        format!("{ALARM_ARN_PREFIX}DiskFull"),
        "{line}"
    );
    assert!(line["span"]["sqs_message_id"].is_string(), "{line}");
    let samples = scrape_now(addr).await;
    assert_eq!(samples["chatops_alarms_received_total"], 1.0);
    assert_eq!(samples["chatops_alarms_failed_total"], 1.0);
    assert_eq!(samples["chatops_alarms_posted_total"], 0.0);
    let rejected = ["method=\"chat.postMessage\"", "result=\"rejected\""];
    assert_eq!(
        scrape::total(&samples, "chatops_slack_api_calls_total", &rejected),
        1.0
    );
    let (code, log) = bot.stop().await;
    assert_eq!(code, 0, "{log}");
}

#[test]
fn check_says_where_the_endpoint_listens_or_that_nothing_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.toml");
    let base = "[slack]\napp_token = \"xapp-1-a\"\nbot_token = \"xoxb-b\"\n";
    for (extra, expected) in [
        (
            "",
            "Metrics: off ([metrics] is not set); the bot listens on no port.",
        ),
        (
            "[metrics]\n",
            "Metrics: /metrics and /healthz on http://127.0.0.1:9464",
        ),
    ] {
        std::fs::write(&path, format!("{base}{extra}")).unwrap();
        let output = Command::new(bot_binary())
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{stdout}");
        assert!(stdout.lines().any(|l| l == expected), "{stdout}");
    }
    std::fs::write(
        &path,
        format!("{base}[metrics]\nlisten = \"0.0.0.0:9464\"\n"),
    )
    .unwrap();
    let output = Command::new(bot_binary())
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("metrics.listen"), "{stderr}");
}

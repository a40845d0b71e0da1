//! Stopping with work in hand, with the real binary: a refused bot token exits 77 and a SIGTERM
//! exits 0 within the shutdown deadline, both leaving every unhandled alarm receivable at once;
//! alarms published around a restart are not held back by the visibility timeout.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chatops_sandbox::aws::FakeSqs;
use chatops_sandbox::slack::{envelopes, FakeSlack, HttpFault, Target};
use support::alarm_sandbox::{shown, CHANNEL};
use support::*;

const SECOND: Duration = Duration::from_secs(1);
/// `max(shutdown_grace, alarms.receive_wait (20 s)) + 5 s` (`app::shutdown_deadline`): the
/// tests' grace is 2 s, the default 10 s, so it is 25 s either way.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(25);

/// The real bot with the alarm pipeline on `queue`; logs go to `dir/bot-N.log`.
fn spawn_alarm_bot(slack: &FakeSlack, sqs: &FakeSqs, queue: &str, dir: &Path, n: u32) -> Child {
    spawn_tuned_alarm_bot(slack, sqs, queue, dir, n, |config| config)
}

/// `spawn_alarm_bot` with its config text passed through `tune` first.
fn spawn_tuned_alarm_bot(
    slack: &FakeSlack,
    sqs: &FakeSqs,
    queue: &str,
    dir: &Path,
    n: u32,
    tune: impl FnOnce(String) -> String,
) -> Child {
    let config = format!(
        r#"{base}
[aws]
region = "eu-west-1"
endpoint_url = "{endpoint}"

[alarms]
queue_url = "{queue}"
default_channel = "{CHANNEL}"
pollers = 4
visibility_timeout = "120s"
storm_threshold = 0
unwatched_nudge = "0s"
"#,
        base = config_toml(slack, &dir.join("bot.db"), 1),
        endpoint = sqs.endpoint_url(),
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, tune(config)).unwrap();
    let log = std::fs::File::create(dir.join(format!("bot-{n}.log"))).unwrap();
    Command::new(bot_binary())
        .args(["run", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(log.try_clone().unwrap())
        .spawn()
        .unwrap()
}

/// Waits (bounded) for the child to exit; its status code and log.
async fn wait_exit(mut child: Child, dir: &Path, n: u32, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join(format!("bot-{n}.log"))).unwrap();
            return (status.code().expect("exited by signal"), log);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join(format!("bot-{n}.log"))).unwrap();
            panic!("the bot did not exit within {limit:?}; log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn name(i: usize) -> String {
    format!("stop-test-alarm-{i:03}")
}

fn publish(sqs: &FakeSqs, queue: &str, i: usize) {
    let body = cloudwatch_alarm(
        &name(i),
        "ALARM",
        "OK",
        "2026-11-23T13:00:00.000+0000",
        "Threshold Crossed: test",
    );
    sqs.publish_sns(queue, Some("ALARM"), &body, BTreeMap::new(), false)
        .unwrap();
}

/// Every alarm is either on a card (and deleted from SQS) or still in the queue and receivable
/// now, never both, never neither, and nothing is left hidden.
fn assert_posted_or_receivable(slack: &FakeSlack, sqs: &FakeSqs, queue: &str, published: usize) {
    let cards: Vec<String> = slack
        .messages(CHANNEL)
        .iter()
        .filter(|m| m.thread_ts.is_none())
        .map(shown)
        .collect();
    let waiting = sqs.messages_in(queue).unwrap();
    assert_eq!(sqs.in_flight(queue).unwrap(), 0, "nothing is left hidden");
    assert_eq!(sqs.visible(queue).unwrap(), waiting.len());
    assert_eq!(
        sqs.deleted(queue).unwrap().len(),
        cards.len(),
        "only what was posted is deleted"
    );
    for i in 0..published {
        let on_cards = cards.iter().filter(|c| c.contains(&name(i))).count();
        let queued = waiting.iter().filter(|b| b.contains(&name(i))).count();
        assert_eq!(
            (on_cards, queued == 1),
            if on_cards == 1 { (1, false) } else { (0, true) },
            "{} is on {on_cards} card(s) and {queued} time(s) in the queue",
            name(i)
        );
    }
}

async fn rig() -> (FakeSlack, FakeSqs, String, tempfile::TempDir) {
    let slack = fake_slack().await;
    let sqs = FakeSqs::start().await.unwrap();
    let queue = sqs
        .create_queue("chatops-alarms", 120 * SECOND, None)
        .unwrap();
    (slack, sqs, queue, tempfile::tempdir().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_token_revoked_at_runtime_exits_77_and_leaves_unposted_alarms_receivable() {
    let (slack, sqs, queue, dir) = rig().await;
    let child = spawn_alarm_bot(&slack, &sqs, &queue, dir.path(), 1);
    for i in 0..5 {
        publish(&sqs, &queue, i);
    }
    sqs.wait_for_deleted(&queue, 5, 20 * SECOND).await.unwrap();
    slack.outage(
        &["chat.postMessage", "chat.update", "chat.postEphemeral"],
        HttpFault::SlackError("invalid_auth".into()),
        300 * SECOND,
    );
    for i in 5..30 {
        publish(&sqs, &queue, i);
    }
    let (code, log) = wait_exit(child, dir.path(), 1, 40 * SECOND).await;
    assert_eq!(code, 77, "log:\n{log}");
    assert!(log.contains("invalid_auth"), "the reason is shown:\n{log}");
    assert_posted_or_receivable(&slack, &sqs, &queue, 30);
    assert!(sqs.deleted(&queue).unwrap().len() < 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_backlog_exits_0_in_time_and_hands_back_what_was_not_posted() {
    let (slack, sqs, queue, dir) = rig().await;
    let child = spawn_alarm_bot(&slack, &sqs, &queue, dir.path(), 1);
    for i in 0..100 {
        publish(&sqs, &queue, i);
    }
    sqs.wait_for_deleted(&queue, 10, 20 * SECOND).await.unwrap();
    // Slack stops answering: the batches in hand cannot finish within the grace.
    slack.outage(
        &["chat.postMessage"],
        HttpFault::Delay(120 * SECOND),
        300 * SECOND,
    );
    tokio::time::sleep(SECOND).await;
    sigterm(&child);
    let signalled = Instant::now();
    let (code, log) = wait_exit(child, dir.path(), 1, 60 * SECOND).await;
    let took = signalled.elapsed();
    assert_eq!(code, 0, "log:\n{log}");
    assert!(
        took < SHUTDOWN_DEADLINE + SECOND,
        "stopped after {took:?}, past the {SHUTDOWN_DEADLINE:?} deadline"
    );
    assert_posted_or_receivable(&slack, &sqs, &queue, 100);
}

/// The handlers' grace and the pollers' grace run side by side, not one after the other: with
/// `shutdown_grace = 10s` and `receive_wait = 2s` the deadline is 15 s, and a mention's handler
/// and the alarm batches both stuck on Slack past it end together at the grace (about 10 s).
/// Graces run in turn would take 20 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_stuck_handlers_and_stuck_alarms_ends_both_within_one_deadline() {
    const GRACE: Duration = Duration::from_secs(10);
    const DEADLINE: Duration = Duration::from_secs(15);
    let (slack, sqs, queue, dir) = rig().await;
    let child = spawn_tuned_alarm_bot(&slack, &sqs, &queue, dir.path(), 1, |config| {
        let config = config.replace(
            "shutdown_grace = \"2s\"",
            &format!("shutdown_grace = \"{}s\"", GRACE.as_secs()),
        );
        assert!(config.contains("shutdown_grace = \"10s\""));
        config.replace(
            "unwatched_nudge = \"0s\"\n",
            "unwatched_nudge = \"0s\"\nreceive_wait = \"2s\"\n",
        )
    });
    slack.wait_for_connections(1, 10 * SECOND).await.unwrap();
    for i in 0..10 {
        publish(&sqs, &queue, i);
    }
    sqs.wait_for_deleted(&queue, 10, 20 * SECOND).await.unwrap();
    // Slack stops answering: a mention's handler and the alarm batches in hand both hang.
    slack.outage(
        &["chat.postMessage", "chat.postEphemeral"],
        HttpFault::Delay(120 * SECOND),
        300 * SECOND,
    );
    for i in 10..40 {
        publish(&sqs, &queue, i);
    }
    slack
        .send(
            Target::Any,
            envelopes::app_mention("C0OPS", "U0CAROL", "<@U0BOT> help"),
        )
        .await
        .unwrap();
    slack.wait_for_acks(1, 10 * SECOND).await.unwrap();
    tokio::time::sleep(SECOND).await;
    sigterm(&child);
    let signalled = Instant::now();
    let (code, log) = wait_exit(child, dir.path(), 1, 60 * SECOND).await;
    let took = signalled.elapsed();
    assert_eq!(code, 0, "log:\n{log}");
    assert!(
        log.contains("Handlers still running at shutdown were abandoned"),
        "the mention's handler was still running at the grace:\n{log}"
    );
    assert!(
        took < DEADLINE + SECOND,
        "stopped after {took:?}, past the {DEADLINE:?} deadline:\n{log}"
    );
    assert_posted_or_receivable(&slack, &sqs, &queue, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_published_around_a_restart_are_shown_without_waiting_the_visibility_timeout() {
    let (slack, sqs, queue, dir) = rig().await;
    let first = spawn_alarm_bot(&slack, &sqs, &queue, dir.path(), 1);
    publish(&sqs, &queue, 0);
    sqs.wait_for_deleted(&queue, 1, 20 * SECOND).await.unwrap();
    // The pollers are idle in their long polls now.
    tokio::time::sleep(SECOND).await;
    let published = Instant::now();
    for i in 1..6 {
        publish(&sqs, &queue, i);
    }
    sigterm(&first);
    for i in 6..21 {
        publish(&sqs, &queue, i);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, log) = wait_exit(first, dir.path(), 1, 60 * SECOND).await;
    assert_eq!(code, 0, "log:\n{log}");
    let second = spawn_alarm_bot(&slack, &sqs, &queue, dir.path(), 2);
    // The visibility timeout is 120 s: anything held by the first process would come back only then.
    let shown_all = tokio::time::timeout(60 * SECOND, async {
        loop {
            if sqs.deleted(&queue).unwrap().len() >= 21 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let waited = published.elapsed();
    sigterm(&second);
    let (_, log2) = wait_exit(second, dir.path(), 2, 60 * SECOND).await;
    assert!(
        shown_all.is_ok(),
        "after {waited:?}, {} of 21 alarms shown; in flight: {}\nfirst log:\n{log}\nsecond log:\n{log2}",
        sqs.deleted(&queue).unwrap().len(),
        sqs.in_flight(&queue).unwrap()
    );
    let cards: Vec<String> = slack
        .messages(CHANNEL)
        .iter()
        .filter(|m| m.thread_ts.is_none())
        .map(shown)
        .collect();
    for i in 0..21 {
        let n = cards.iter().filter(|c| c.contains(&name(i))).count();
        assert_eq!(n, 1, "{} shown {n} times", name(i));
    }
}

#[test]
fn the_unit_gives_the_bot_more_time_than_its_shutdown_deadline() {
    let text = r#"
[aws]
region = "eu-west-1"

[alarms]
queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/chatops-alarms"
default_channel = "C0ALERTS01"
"#;
    let config = chatops_bot::config::Config::load_from_str(
        "defaults.toml",
        text,
        Vec::<(String, String)>::new(),
        chatops_bot::config::Purpose::Manifest,
    )
    .unwrap();
    let deadline = chatops_bot::app::shutdown_deadline(&config);
    assert_eq!(deadline, SHUTDOWN_DEADLINE, "25 s with the defaults");
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/chatops-bot.service"),
    )
    .unwrap();
    let stop_timeout: u64 = unit
        .lines()
        .find_map(|line| line.strip_prefix("TimeoutStopSec="))
        .and_then(|value| value.trim().parse().ok())
        .expect("TimeoutStopSec=<seconds> in the unit");
    assert!(
        Duration::from_secs(stop_timeout) >= deadline + 5 * SECOND,
        "TimeoutStopSec={stop_timeout} leaves too little room above {deadline:?}"
    );
}

/// The socket path was already right before the alarm hand-back existed; this keeps it so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_token_revoked_at_runtime_exits_77_at_the_next_reconnect() {
    let (slack, sqs, queue, dir) = rig().await;
    let child = spawn_alarm_bot(&slack, &sqs, &queue, dir.path(), 1);
    let conns = slack.wait_for_connections(1, 10 * SECOND).await.unwrap();
    publish(&sqs, &queue, 0);
    sqs.wait_for_deleted(&queue, 1, 20 * SECOND).await.unwrap();
    slack.set_open_error(Some("token_revoked"));
    slack
        .disconnect(conns[0], "refresh_requested")
        .await
        .unwrap();
    let (code, log) = wait_exit(child, dir.path(), 1, 40 * SECOND).await;
    assert_eq!(code, 77, "log:\n{log}");
    assert!(log.contains("token_revoked"), "the reason is shown:\n{log}");
    assert_posted_or_receivable(&slack, &sqs, &queue, 1);
}

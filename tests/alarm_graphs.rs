//! Metric graphs on alarm cards, with the real binary against the fake Slack, SQS and CloudWatch:
//! the card is posted first and gets its graph after (upload, then the card updated with the
//! image); each transition gets a new graph and never shows the old one; a failed graph (500,
//! a hang past `alarms.graph_timeout`, AccessDenied) leaves the card untouched and logs once;
//! Slack refusing the image puts it in the card's thread; `alarms.graphs = false` and storm
//! digest lines make no CloudWatch call.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chatops_sandbox::aws::FakeSqs;
use chatops_sandbox::cloudwatch::{FakeCloudWatch, GraphFault};
use chatops_sandbox::slack::{envelopes, ApiCall, FakeSlack, Target};
use serde_json::Value;
use support::alarm_sandbox::{shown, CHANNEL};
use support::*;

const SECOND: Duration = Duration::from_secs(1);
/// Generous bound on any wait (a graph is a render, an upload and an update).
const WAIT: Duration = Duration::from_secs(20);

struct GraphBot {
    slack: FakeSlack,
    sqs: FakeSqs,
    cloudwatch: FakeCloudWatch,
    queue: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl GraphBot {
    /// The real bot with the alarm pipeline, graphs on the fake CloudWatch; `alarms_toml` goes
    /// inside `[alarms]`. Logs go to `dir/bot.log`.
    async fn start(alarms_toml: &str) -> Self {
        let slack = fake_slack().await;
        let sqs = FakeSqs::start().await.unwrap();
        let cloudwatch = FakeCloudWatch::start().await.unwrap();
        let queue = sqs
            .create_queue("chatops-alarms", 30 * SECOND, None)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"{base}
[aws]
region = "eu-west-1"
endpoint_url = "{sqs}"

[aws.endpoints]
cloudwatch = "{cloudwatch}"

[alarms]
queue_url = "{queue}"
default_channel = "{CHANNEL}"
receive_wait = "1s"
unwatched_nudge = "0s"
graph_timeout = "1s"
{alarms_toml}
"#,
            base = config_toml(&slack, &dir.path().join("bot.db"), 1),
            sqs = sqs.endpoint_url(),
            cloudwatch = cloudwatch.endpoint_url(),
        );
        let path = dir.path().join("bot.toml");
        std::fs::write(&path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("bot.log")).unwrap();
        let child = Command::new(bot_binary())
            .args(["run", "--config"])
            .arg(&path)
            .env("RUST_LOG", "info")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        if let Err(error) = slack.wait_for_connections(1, 40 * SECOND).await {
            let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap_or_default();
            panic!("{error}; the bot's log:\n{log}");
        }
        Self {
            slack,
            sqs,
            cloudwatch,
            queue,
            child,
            dir,
        }
    }

    fn publish(&self, name: &str, state: &str, old: &str, time: &str) {
        let body = cloudwatch_alarm(name, state, old, time, "Threshold Crossed: test");
        let subject = format!("{state}: \"{name}\" in EU (Ireland)");
        self.sqs
            .publish_sns(
                &self.queue,
                Some(&subject),
                &body,
                Default::default(),
                false,
            )
            .unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bot.log")).unwrap_or_default()
    }

    /// Log lines containing `needle`.
    fn log_lines(&self, needle: &str) -> usize {
        self.log()
            .lines()
            .filter(|line| line.contains(needle))
            .count()
    }

    /// The card's first post.
    async fn card_post(&self, name: &str) -> ApiCall {
        self.slack
            .wait_for_call("chat.postMessage", |c| names(c, name), WAIT)
            .await
            .expect("the card is posted")
    }

    /// Waits until every published message is handled (deleted from the queue).
    async fn drained(&self) {
        let limit = WAIT;
        eventually(limit, "the queue drained", || {
            self.sqs.messages_in(&self.queue).unwrap().is_empty()
        })
        .await;
    }
}

impl Drop for GraphBot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a posted or updated message names `name` (its blocks sit in an attachment).
fn names(call: &ApiCall, name: &str) -> bool {
    call.params.to_string().contains(name)
}

/// The `slack_file` ids of the message's image blocks, wherever they sit.
fn images(call: &ApiCall) -> Vec<String> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("image") {
                    if let Some(id) = map.get("slack_file").and_then(|f| f["id"].as_str()) {
                        found.push(id.to_owned());
                    }
                }
                map.values().for_each(|v| walk(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&call.params, &mut found);
    found
}

fn file_id(call: &ApiCall) -> String {
    call.response["file_id"]
        .as_str()
        .expect("a file id")
        .to_owned()
}

#[tokio::test]
async fn the_card_comes_first_and_its_graph_after() {
    let bot = GraphBot::start("").await;
    bot.publish(
        "graph-cpu-high",
        "ALARM",
        "OK",
        "2026-12-07T18:00:00.000+0000",
    );
    let post = bot.card_post("graph-cpu-high").await;
    assert!(
        images(&post).is_empty(),
        "the card's first post has no image"
    );
    let update = bot
        .slack
        .wait_for_call("chat.update", |c| !images(c).is_empty(), WAIT)
        .await
        .expect("the card is updated with its graph");
    let url = bot.slack.calls_to("files.getUploadURLExternal");
    let complete = bot.slack.calls_to("files.completeUploadExternal");
    assert_eq!((url.len(), complete.len()), (1, 1), "one upload");
    assert!(post.seq < url[0].seq && url[0].seq < complete[0].seq && complete[0].seq < update.seq);
    assert_eq!(images(&update), [file_id(&url[0])]);
    assert_eq!(
        update.params["ts"], post.response["ts"],
        "the card itself shows it"
    );
    assert!(
        complete[0]
            .params
            .get("channel_id")
            .is_none_or(Value::is_null),
        "not shared"
    );
    let uploads = bot.slack.uploads();
    assert!(uploads[0].bytes.starts_with(&[0x89, b'P', b'N', b'G']));
    let requests = bot.cloudwatch.requests();
    assert_eq!(requests.len(), 1);
    let widget: Value =
        serde_json::from_str(requests[0].metric_widget.as_deref().unwrap()).unwrap();
    assert_eq!(widget["metrics"][0][1], "CPUUtilization");
    assert_eq!(widget["annotations"]["horizontal"][0]["value"], 80.0);
    assert_eq!(widget["start"], "-PT3H");

    // A later re-render of the same state (👀 Watching) keeps the graph: it is in the store.
    let root = post.response["ts"].as_str().unwrap().to_owned();
    let arn = format!("{ALARM_ARN_PREFIX}graph-cpu-high");
    let click = envelopes::block_actions(CHANNEL, "U0CAROL", &root, "alarm.watch", &arn);
    bot.slack.send(Target::Any, click).await.unwrap();
    let watched = bot
        .slack
        .wait_for_call("chat.update", |c| names(c, "U0CAROL"), WAIT)
        .await
        .expect("the card shows the watcher");
    assert_eq!(
        images(&watched),
        images(&update),
        "the graph stays on the card"
    );
}

#[tokio::test]
async fn each_transition_gets_a_new_graph_and_never_shows_the_old_one() {
    let bot = GraphBot::start("").await;
    bot.publish("graph-flip", "ALARM", "OK", "2026-12-07T18:00:00.000+0000");
    let first = bot
        .slack
        .wait_for_call("chat.update", |c| !images(c).is_empty(), WAIT)
        .await
        .unwrap();
    let first_file = images(&first)[0].clone();
    bot.publish("graph-flip", "OK", "ALARM", "2026-12-07T18:10:00.000+0000");
    let second = bot
        .slack
        .wait_for_call(
            "chat.update",
            |c| images(c).iter().any(|id| *id != first_file),
            WAIT,
        )
        .await
        .expect("the OK state gets its own graph");
    let ok_updates: Vec<ApiCall> = bot
        .slack
        .calls_to("chat.update")
        .into_iter()
        .filter(|c| c.seq > first.seq && c.seq < second.seq)
        .collect();
    assert!(!ok_updates.is_empty(), "the transition updated the card");
    for update in &ok_updates {
        assert!(
            !images(update).contains(&first_file),
            "the ALARM graph is not shown as OK's"
        );
    }
    assert_eq!(bot.cloudwatch.requests().len(), 2);
    let card = &bot.slack.messages(CHANNEL)[0];
    assert!(shown(card).contains(&images(&second)[0]));
}

#[tokio::test]
async fn a_failed_graph_leaves_the_card_untouched_and_logs_one_line() {
    for (fault, name) in [
        (GraphFault::Status(500), "graph-fail-500"),
        (GraphFault::Hang(Duration::from_secs(30)), "graph-fail-hang"),
    ] {
        let bot = GraphBot::start("").await;
        bot.cloudwatch.set_fault(Some(fault));
        bot.publish(name, "ALARM", "OK", "2026-12-07T18:00:00.000+0000");
        bot.card_post(name).await;
        eventually(WAIT, "the failure logged", || {
            bot.log_lines("metric graph") > 0
        })
        .await;
        assert!(!bot.cloudwatch.requests().is_empty());
        assert_eq!(
            bot.log_lines("metric graph"),
            1,
            "{name}: one line:\n{}",
            bot.log()
        );
        let line = bot
            .log()
            .lines()
            .find(|l| l.contains("metric graph"))
            .unwrap()
            .to_owned();
        assert!(line.contains("WARN") && line.contains(name), "{line}");
        assert!(
            bot.slack.calls_to("chat.update").is_empty(),
            "{name}: the card as it was"
        );
        assert!(bot.slack.calls_to("files.getUploadURLExternal").is_empty());
    }
}

#[tokio::test]
async fn access_denied_is_logged_once_with_the_action_and_stops_the_graphs() {
    let bot = GraphBot::start("").await;
    bot.cloudwatch.set_fault(Some(GraphFault::AccessDenied));
    bot.publish(
        "graph-denied-1",
        "ALARM",
        "OK",
        "2026-12-07T18:00:00.000+0000",
    );
    eventually(WAIT, "the denial logged", || {
        bot.log_lines("GetMetricWidgetImage") > 0
    })
    .await;
    bot.publish(
        "graph-denied-2",
        "ALARM",
        "OK",
        "2026-12-07T18:00:00.000+0000",
    );
    bot.card_post("graph-denied-2").await;
    bot.drained().await;
    assert_eq!(
        bot.cloudwatch.requests().len(),
        1,
        "no call after the denial"
    );
    assert_eq!(
        bot.log_lines("cloudwatch:GetMetricWidgetImage"),
        1,
        "{}",
        bot.log()
    );
    assert!(bot.slack.calls_to("chat.update").is_empty());
}

#[tokio::test]
async fn an_image_slack_refuses_goes_to_the_cards_thread() {
    let bot = GraphBot::start("").await;
    bot.slack.refuse_file_images(true);
    bot.publish(
        "graph-refused",
        "ALARM",
        "OK",
        "2026-12-07T18:00:00.000+0000",
    );
    let post = bot.card_post("graph-refused").await;
    let shared = bot
        .slack
        .wait_for_call(
            "files.completeUploadExternal",
            |c| c.params["thread_ts"].is_string(),
            WAIT,
        )
        .await
        .expect("the graph is shared in the thread");
    assert_eq!(shared.params["thread_ts"], post.response["ts"]);
    assert_eq!(shared.params["channel_id"], CHANNEL);
    let card = &bot.slack.messages(CHANNEL)[0];
    assert!(
        !shown(card).contains("slack_file"),
        "the card shows no image"
    );
    assert_eq!(
        bot.log_lines("metric graph"),
        0,
        "a graph in the thread is not a failure"
    );
}

#[tokio::test]
async fn graphs_off_make_no_cloudwatch_call() {
    let bot = GraphBot::start("graphs = false").await;
    bot.publish("graph-off", "ALARM", "OK", "2026-12-07T18:00:00.000+0000");
    bot.card_post("graph-off").await;
    bot.drained().await;
    // A graph is queued the moment the delivery commits; give a worker time it never needs.
    tokio::time::sleep(SECOND).await;
    assert!(bot.cloudwatch.requests().is_empty());
    assert!(bot.slack.calls_to("files.getUploadURLExternal").is_empty());
}

#[tokio::test]
async fn storm_digest_lines_get_no_graph() {
    let bot = GraphBot::start("storm_threshold = 2\nstorm_window = \"60s\"").await;
    for i in 0..5 {
        bot.publish(
            &format!("graph-storm-{i}"),
            "ALARM",
            "OK",
            "2026-12-07T18:00:00.000+0000",
        );
    }
    bot.drained().await;
    let cards = bot
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.params.get("thread_ts").is_none_or(Value::is_null))
        .filter(|c| names(c, "graph-storm-") && !names(c, "Alarm storm"))
        .count();
    assert!(cards < 5, "some alarms folded into a digest");
    eventually(WAIT, "the cards' graphs", || {
        bot.slack
            .calls_to("chat.update")
            .iter()
            .filter(|c| !images(c).is_empty())
            .count()
            == cards
    })
    .await;
    assert_eq!(
        bot.cloudwatch.requests().len(),
        cards,
        "one graph per card, none per line"
    );
}

#[tokio::test]
async fn an_image_refused_while_slack_processes_the_file_is_shown_on_a_retry() {
    let bot = GraphBot::start("").await;
    bot.slack.refuse_file_images(true);
    bot.publish(
        "graph-processing",
        "ALARM",
        "OK",
        "2026-12-07T18:00:00.000+0000",
    );
    bot.card_post("graph-processing").await;
    let refused = bot
        .slack
        .wait_for_call("chat.update", |c| !images(c).is_empty(), WAIT)
        .await
        .expect("the first try with the image");
    assert_eq!(refused.error(), Some("invalid_blocks"));
    bot.slack.refuse_file_images(false); // the file is processed now
    let shown = bot
        .slack
        .wait_for_call("chat.update", |c| c.ok() && !images(c).is_empty(), WAIT)
        .await
        .expect("a later try shows it");
    assert_eq!(images(&shown), images(&refused));
    assert_eq!(
        bot.slack.calls_to("files.completeUploadExternal").len(),
        1,
        "not in the thread"
    );
    assert_eq!(bot.log_lines("metric graph"), 0);
}

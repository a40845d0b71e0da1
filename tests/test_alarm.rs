//! `chatops-bot test-alarm` on moto's real SNS → SQS, with the real bot consuming the queue and
//! the fake Slack: the card is found, marked as a test and pages nobody; a missing bot or topic
//! ends in a clear failure.
//!
//! moto comes from `CHATOPS_TEST_MOTO_ENDPOINT` or a `moto_server` on PATH, as in
//! tests/moto_sns_sqs.rs; `CHATOPS_SKIP_MOTO=1` skips these tests on purpose.

#[path = "moto_sns_sqs/moto.rs"]
mod moto;
#[path = "moto_sns_sqs/server.rs"]
mod server;
mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{ensure, Context};
use chatops_sandbox::slack::FakeSlack;
use moto::*;
use support::*;

/// Routes test alarms to their own channel with an on-call mention, which they must not use.
const TEST_ROUTE: &str = r#"
[[alarms.route]]
name = "tests"
channels = ["C0TESTS001"]
mention = "S0ONCALL01"
[alarms.route.match]
name = "chatops-bot-test-*"
"#;

/// Runs `chatops-bot test-alarm` with the config `toml` (written to `dir`).
async fn test_alarm(dir: &Path, toml: String, timeout: &str) -> anyhow::Result<Output> {
    let path = dir.join("bot.toml");
    std::fs::write(&path, toml)?;
    let timeout = timeout.to_owned();
    tokio::task::spawn_blocking(move || {
        Command::new(bot_binary())
            .args(["test-alarm", "--config"])
            .arg(&path)
            .args(["--timeout", &timeout])
            .output()
            .context("running chatops-bot test-alarm")
    })
    .await?
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The bot's config for `slack` and moto's envelope queue, with the topic and the test route.
fn config(moto: &Moto, slack: &FakeSlack, dir: &Path, topic_arn: &str) -> String {
    let alarms = format!("topic_arn = \"{topic_arn}\"\n{TEST_ROUTE}");
    format!(
        "{}\n{}",
        config_toml(slack, &dir.join("unused.db"), 1),
        moto.aws_and_alarms(&moto.envelope_queue, &alarms)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_alarm_goes_the_whole_way_and_its_card_is_found() -> anyhow::Result<()> {
    let Some(moto) = Moto::set_up("chatops-test-alarm").await? else {
        return Ok(());
    };
    let routes = format!("topic_arn = \"{}\"\n{TEST_ROUTE}", moto.topic_arn);
    let (slack, bot) = moto.bot_on(&moto.envelope_queue, &routes).await?;
    let dir = tempfile::tempdir()?;

    let output = test_alarm(
        dir.path(),
        config(&moto, &slack, dir.path(), &moto.topic_arn),
        "30s",
    )
    .await?;
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    ensure!(
        output.status.success(),
        "test-alarm failed:\n{stdout}\n{stderr}"
    );
    ensure!(
        stdout.contains("✓ The card for chatops-bot-test-") && stdout.contains("C0TESTS001"),
        "{stdout}"
    );
    ensure!(
        stdout.contains("https://"),
        "a permalink is printed: {stdout}"
    );

    let cards: Vec<_> = slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| {
            c.param_str("channel") == Some("C0TESTS001") && c.param_str("thread_ts").is_none()
        })
        .collect();
    ensure!(cards.len() == 1, "one card: {cards:?}");
    let card = cards[0].params.to_string();
    ensure!(
        card.contains("Test alarm"),
        "the card says it is a test: {card}"
    );
    ensure!(!card.contains("subteam"), "a test pages nobody: {card}");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bot_on_the_queue_it_gives_up_at_its_timeout_and_says_why() -> anyhow::Result<()>
{
    let Some(moto) = Moto::set_up("chatops-test-alarm-nobot").await? else {
        return Ok(());
    };
    let slack = fake_slack().await;
    let dir = tempfile::tempdir()?;

    let started = std::time::Instant::now();
    let output = test_alarm(
        dir.path(),
        config(&moto, &slack, dir.path(), &moto.topic_arn),
        "3s",
    )
    .await?;
    let stderr = text(&output.stderr);
    ensure!(output.status.code() == Some(1), "exit 1: {output:?}");
    ensure!(stderr.contains("no card for chatops-bot-test-"), "{stderr}");
    ensure!(
        stderr.contains("check --live"),
        "it points at the next step: {stderr}"
    );
    ensure!(
        started.elapsed() < Duration::from_secs(20),
        "bounded by --timeout"
    );
    // The alarm really was published: it waits in the queue no bot reads.
    let waiting = moto.receive(&moto.envelope_queue, 1, 10 * SECOND).await?;
    ensure!(
        waiting[0]
            .body()
            .is_some_and(|b| b.contains("chatops_test")),
        "{waiting:?}"
    );

    let missing = moto
        .topic_arn
        .rsplit_once(':')
        .map(|(head, _)| format!("{head}:no-such-topic"));
    let output = test_alarm(
        dir.path(),
        config(&moto, &slack, dir.path(), &missing.unwrap()),
        "3s",
    )
    .await?;
    let stderr = text(&output.stderr);
    ensure!(output.status.code() == Some(1), "exit 1: {output:?}");
    ensure!(stderr.contains("SNS has no topic"), "{stderr}");
    Ok(())
}

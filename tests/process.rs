//! The real binary as systemd runs it: exit statuses for fatal Slack answers, clean SIGTERM.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chatops_sandbox::slack::{envelopes, ConnectionEnd, FakeSlack, Target};
use support::*;

const SECOND: Duration = Duration::from_secs(1);

fn spawn_bot(fake: &FakeSlack, dir: &std::path::Path, bot_token: &str) -> Child {
    let config = config_toml(fake, &dir.join("bot.db"), 2).replace(BOT_TOKEN, bot_token);
    let path = dir.join("bot.toml");
    std::fs::write(&path, config).unwrap();
    Command::new(bot_binary())
        .args(["run", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for the child to exit (bounded), returning its status code and stderr.
async fn wait_exit(mut child: Child, limit: Duration) -> (i32, String) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return (status.code().expect("exited by signal"), stderr);
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the bot did not exit within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_bot_token_exits_77() {
    let fake = fake_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_bot(&fake, dir.path(), "xoxb-revoked");
    let (code, stderr) = wait_exit(child, 10 * SECOND).await;
    assert_eq!(code, 77, "stderr: {stderr}");
    assert!(
        stderr.contains("invalid_auth"),
        "the reason is shown: {stderr}"
    );
    assert!(
        !stderr.contains("xoxb-revoked"),
        "the token must not be logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_app_token_exits_77_without_retrying() {
    let fake = fake_slack().await;
    fake.set_open_error(Some("invalid_auth"));
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_bot(&fake, dir.path(), BOT_TOKEN);
    let (code, stderr) = wait_exit(child, 10 * SECOND).await;
    assert_eq!(code, 77, "stderr: {stderr}");
    assert!(
        fake.calls_to("apps.connections.open").len() <= 2,
        "one attempt per slot, no retry loop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_disabled_exits_77() {
    let fake = fake_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_bot(&fake, dir.path(), BOT_TOKEN);
    let conns = fake.wait_for_connections(2, 10 * SECOND).await.unwrap();
    fake.disconnect(conns[0], "link_disabled").await.unwrap();
    let (code, stderr) = wait_exit(child, 10 * SECOND).await;
    assert_eq!(code, 77, "stderr: {stderr}");
    assert!(stderr.contains("link_disabled"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_cleanly_and_exits_0() {
    let fake = fake_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_bot(&fake, dir.path(), BOT_TOKEN);
    fake.wait_for_connections(2, 10 * SECOND).await.unwrap();
    fake.send(
        Target::Any,
        envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help"),
    )
    .await
    .unwrap();
    fake.wait_for_call("chat.postMessage", |c| c.ok(), 5 * SECOND)
        .await
        .unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, stderr) = wait_exit(child, 10 * SECOND).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    let log = fake.connection_log();
    assert_eq!(log.len(), 2);
    for conn in log {
        assert!(
            matches!(conn.end, Some(ConnectionEnd::ClientClosed { .. })),
            "connection ended {:?}, not with a close handshake",
            conn.end
        );
    }
}

#[test]
fn check_reports_every_problem_and_exits_78() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[slack]\napp_token = \"xoxb-wrong\"\nconnections = 11\ncolour = \"blue\"\n",
    )
    .unwrap();
    let out = Command::new(bot_binary())
        .args(["check", "--config"])
        .arg(&path)
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("SLACK_BOT_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in [
        "slack.app_token",
        "slack.connections",
        "slack.colour",
        "slack.bot_token",
    ] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
}

#[test]
fn manifest_prints_json_without_tokens() {
    let out = Command::new(bot_binary())
        .args(["manifest", "--config"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml"))
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("SLACK_BOT_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["settings"]["socket_mode_enabled"], true);
    let commands = manifest["features"]["slash_commands"].as_array().unwrap();
    assert!(
        commands.iter().any(|c| c["command"] == "/platform-help"),
        "the router's help command is registered"
    );
}

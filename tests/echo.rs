//! `@bot echo` and `/platform-echo` against the fake Slack: the text comes back escaped, with the version, the uptime and the connection count; the slash command answers privately.

mod support;

use std::time::Duration;

use chatops_sandbox::slack::{envelopes, Target};
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const CHANNEL: &str = "C0ALERTS01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_answers_with_the_text_the_version_the_uptime_and_the_connections() {
    let slack = fake_slack().await;
    let bot = RunningBot::start(&slack, 2).await;
    slack.wait_for_connections(2, 10 * SECOND).await.unwrap();

    let before = slack.calls().last().map_or(0, |c| c.seq);
    let mention = envelopes::app_mention(CHANNEL, "U0ALICE", "<@U0BOT> echo hi <!channel> & co");
    slack.send(Target::Any, mention).await.unwrap();
    let reply = slack
        .wait_for_call(
            "chat.postMessage",
            |c| c.seq > before && c.param_str("text").is_some_and(|t| t.starts_with("🏓")),
            10 * SECOND,
        )
        .await
        .unwrap();
    let text = reply.param_str("text").unwrap();
    assert!(
        text.starts_with("🏓 hi &lt;!channel&gt; &amp; co\n"),
        "the text back, never a mention: {text}"
    );
    assert!(
        text.contains(&format!("`chatops-bot {}`", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains(" · up "), "{text}");
    assert!(text.ends_with(" · 2/2 Slack connections"), "{text}");
    assert!(
        reply.params.get("thread_ts").is_some(),
        "answered in the thread: {}",
        reply.params
    );

    let before = slack.calls().last().map_or(0, |c| c.seq);
    let slash = envelopes::slash_command("/platform-echo", "", CHANNEL, "U0ALICE");
    slack.send(Target::Any, slash).await.unwrap();
    let hook = slack
        .wait_for_call("hooks", |c| c.seq > before, 10 * SECOND)
        .await
        .unwrap();
    assert_eq!(hook.params["response_type"], "ephemeral", "{}", hook.params);
    let text = hook.params["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("🏓 pong\n"), "{}", hook.params);
    assert!(text.ends_with("2/2 Slack connections"), "{}", hook.params);

    bot.stop().await.unwrap();
}

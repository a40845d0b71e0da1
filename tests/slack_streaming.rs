//! Streamed agent answers in Slack threads, over loopback against the fake Slack: streamed,
//! refused and updated instead, long, hostile, expired and failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatops_bot::slack::answer::{AnswerTarget, AnswerWriter, Link, PART_MAX_CHARS};
use chatops_bot::slack::interaction::TeamId;
use chatops_bot::slack::interaction::{ChannelId, MessageTs, UserId};
use chatops_bot::slack::messenger::{Messenger, SlackMessenger};
use chatops_bot::slack::pacing::ChannelPacer;
use chatops_sandbox::slack::{ApiCall, FakeSlack, FakeSlackOptions, HttpFault};
use tokio::sync::mpsc;

const CHANNEL: &str = "C0ALERTS";
const ROOT: &str = "1700000000.000100";
const PLACEHOLDER: &str = "🤖 Analyzing *cpu-high* for <@U0ALICE>…";

fn messenger(slack: &FakeSlack) -> Arc<dyn Messenger> {
    let url = url::Url::parse(&slack.api_url()).unwrap();
    let token = slack.options().bot_token.clone().into();
    Arc::new(
        SlackMessenger::new(
            &url,
            &token,
            Duration::from_secs(5),
            &chatops_bot::config::ProxySettings::default(),
        )
        .unwrap(),
    )
}

fn target() -> AnswerTarget {
    AnswerTarget {
        channel: ChannelId(CHANNEL.into()),
        thread: MessageTs(ROOT.into()),
        user: UserId("U0ALICE".into()),
        team: TeamId("T0SANDBOX".into()),
    }
}

async fn open(slack: &FakeSlack) -> AnswerWriter {
    AnswerWriter::open(messenger(slack), target(), PLACEHOLDER)
        .await
        .expect("the placeholder is shown")
}

/// Sends `pieces` into a channel, `gap` apart, from a task of its own.
fn piece_feed(pieces: Vec<String>, gap: Duration) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for piece in pieces {
            if tx.send(piece).is_err() {
                return;
            }
            tokio::time::sleep(gap).await;
        }
    });
    rx
}

/// `text` in pieces of `size` characters.
fn pieces_of(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

const MARKDOWN_ANSWER: &str = "# Likely causes\n\n1. A **deploy** at 13:50 doubled the load.\n\
2. The `worker` pool is *saturated*.\n\n## Check first\n\n- [Dashboard](https://grafana.example/d/cpu)\n\
- Logs:\n\n```sh\naws logs tail /ecs/api --since 30m\n```\n\n## Mitigate\n\nScale out to 6 tasks.";

/// Every piece of Markdown the fake received, from streams and from blocks.
fn markdown_sent(calls: &[ApiCall]) -> Vec<String> {
    let mut out = Vec::new();
    for call in calls {
        out.extend(call.param_str("markdown_text").map(str::to_owned));
        for block in call.params["blocks"].as_array().into_iter().flatten() {
            out.extend(block["text"].as_str().map(str::to_owned));
        }
        out.extend(call.param_str("text").map(str::to_owned));
    }
    out
}

#[tokio::test]
async fn a_streamed_answer_shows_the_placeholder_then_the_whole_text_in_few_appends() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let mut writer = open(&slack).await;
    assert!(writer.is_streaming());
    assert_eq!(
        slack.thread_texts(CHANNEL, ROOT),
        vec![PLACEHOLDER.to_owned()]
    );
    let start = &slack.calls_to("chat.startStream")[0];
    assert_eq!(start.param_str("recipient_user_id"), Some("U0ALICE"));
    assert_eq!(start.param_str("thread_ts"), Some(ROOT));

    let pieces = pieces_of(MARKDOWN_ANSWER, 3);
    let piece_count = pieces.len();
    let mut feed = piece_feed(pieces, Duration::from_millis(15));
    writer.feed(&mut feed).await;
    let live = slack.thread_texts(CHANNEL, ROOT);
    assert!(
        live[0].starts_with(PLACEHOLDER) && live[0].contains("## Check first"),
        "{live:?}"
    );
    let appends = slack.calls_to("chat.appendStream");
    assert!(
        !appends.is_empty() && appends.len() * 10 <= piece_count,
        "{} appends for {piece_count} pieces",
        appends.len()
    );
    assert!(appends.iter().all(ApiCall::ok));

    let links = [Link {
        label: "Runbook".into(),
        url: "https://wiki.example/cpu".into(),
    }];
    writer.finish(MARKDOWN_ANSWER, &links).await.unwrap();
    let want = format!("{MARKDOWN_ANSWER}\n\n**Sources**\n- [Runbook](https://wiki.example/cpu)");
    assert_eq!(slack.thread_texts(CHANNEL, ROOT), vec![want]);
    assert_eq!(slack.calls_to("chat.stopStream").len(), 1);
    // Markdown goes out as Markdown: a `markdown` block, headings, lists, code and links intact.
    let last = slack.calls_to("chat.update").pop().expect("final update");
    assert_eq!(last.params["blocks"][0]["type"], "markdown");
    let shown = last.params["blocks"][0]["text"].as_str().unwrap();
    for construct in [
        "# Likely causes",
        "**deploy**",
        "- Logs:",
        "```sh\naws logs",
        "[Dashboard](https://grafana.example/d/cpu)",
    ] {
        assert!(shown.contains(construct), "{construct} in {shown}");
    }
}

#[tokio::test]
async fn with_streaming_refused_the_placeholder_is_updated_about_once_a_second() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    slack.refuse_streaming(Some("unknown_method"));
    let began = Instant::now();
    let mut writer = open(&slack).await;
    assert!(!writer.is_streaming());
    assert_eq!(
        slack.thread_texts(CHANNEL, ROOT),
        vec![PLACEHOLDER.to_owned()]
    );
    let answer = "word ".repeat(150);
    let mut feed = piece_feed(pieces_of(&answer, 5), Duration::from_millis(20));
    writer.feed(&mut feed).await;
    let live_updates = slack.calls_to("chat.update").len();
    let elapsed = began.elapsed().as_secs_f64();
    assert!(live_updates >= 1, "the answer showed while it arrived");
    assert!(
        (live_updates as f64) <= elapsed + 2.0,
        "{live_updates} updates in {elapsed:.1} s"
    );
    writer.finish(&answer, &[]).await.unwrap();
    assert_eq!(slack.calls_to("chat.update").len(), live_updates + 1);
    assert_eq!(
        slack.thread_texts(CHANNEL, ROOT),
        vec![answer.trim().to_owned()]
    );
    assert!(slack.calls_to("chat.appendStream").is_empty());
}

async fn a_long_answer_arrives_whole(refuse: Option<&str>) {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    slack.refuse_streaming(refuse);
    let mut answer = String::new();
    for i in 0.. {
        if answer.chars().count() >= 20_000 {
            break;
        }
        answer.push_str(&format!(
            "Paragraph {i}: the quick brown fox checks metric {i}.\n\n"
        ));
        if i % 25 == 0 {
            answer.push_str(&format!(
                "```\n{}\n```\n\n",
                "log line\n".repeat(40).trim_end()
            ));
        }
    }
    let answer = answer.trim_end().to_owned();
    let mut writer = open(&slack).await;
    let mut feed = piece_feed(pieces_of(&answer, 400), Duration::from_millis(2));
    writer.feed(&mut feed).await;
    writer.finish(&answer, &[]).await.unwrap();
    let texts = slack.thread_texts(CHANNEL, ROOT);
    assert!(texts.len() >= 2, "{} messages", texts.len());
    assert!(texts.iter().all(|t| t.chars().count() <= PART_MAX_CHARS));
    assert_eq!(texts.join("\n\n"), answer, "refused: {refuse:?}");
    let failed: Vec<ApiCall> = slack.calls().into_iter().filter(|c| !c.ok()).collect();
    assert!(
        failed
            .iter()
            .all(|c| c.method.ends_with("Stream") && refuse.is_some()),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_20000_char_streamed_answer_arrives_whole_across_messages() {
    a_long_answer_arrives_whole(None).await;
}

#[tokio::test]
async fn a_20000_char_updated_answer_arrives_whole_across_messages() {
    a_long_answer_arrives_whole(Some("feature_not_enabled")).await;
}

async fn hostile_text_is_inert(refuse: Option<&str>) {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    slack.refuse_streaming(refuse);
    let hostile = "Heads up <!channel> and <!here>, ask <@U0BOSS> or @here, see \
        <https://evil.example/login|the AWS console> and &lt;!everyone&gt;, \
        [https://console.aws.amazon.com](https://evil.example/steal).";
    let mut writer = open(&slack).await;
    // Pieces of 2 characters, each flushed at once: every sequence is cut at every point a
    // stream could cut it.
    for piece in pieces_of(hostile, 2) {
        writer.push(&piece).await;
        writer.flush().await;
    }
    writer.finish(hostile, &[]).await.unwrap();
    let sent = markdown_sent(&slack.calls());
    let mut streamed = String::new();
    for call in slack.calls_to("chat.appendStream") {
        streamed.push_str(call.param_str("markdown_text").unwrap_or_default());
    }
    for text in sent.iter().chain([&streamed]) {
        for live in [
            "<!channel>",
            "<!here>",
            "<@U0BOSS>",
            "<https://evil",
            "@here",
            "&lt;!everyone",
            "console.aws.amazon.com](",
        ] {
            assert!(
                !text.contains(live),
                "{live} went out live in {text:?} (refused: {refuse:?})"
            );
        }
    }
    let shown = slack.thread_texts(CHANNEL, ROOT).join("\n");
    let unmasked = hostile.replace(
        "[https://console.aws.amazon.com]",
        "[https://evil.example/steal]",
    );
    assert_eq!(
        shown.replace('\u{200B}', ""),
        unmasked,
        "the text reads the same, but for the masked link"
    );
}

#[tokio::test]
async fn hostile_text_is_inert_when_streamed() {
    hostile_text_is_inert(None).await;
}

#[tokio::test]
async fn hostile_text_is_inert_when_updated() {
    hostile_text_is_inert(Some("not_allowed_token_type")).await;
}

#[tokio::test]
async fn an_expired_stream_is_carried_on_with_updates_and_nothing_is_lost() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let mut writer = open(&slack).await;
    writer.push("First paragraph, streamed.").await;
    writer.flush().await;
    let stream_ts = writer.messages()[0].0.clone();
    slack.expire_stream(CHANNEL, &stream_ts);
    writer
        .push("\n\nSecond paragraph, after the stream expired.")
        .await;
    writer.flush().await;
    assert!(!writer.is_streaming());
    let append = slack.calls_to("chat.appendStream").pop().unwrap();
    assert_eq!(append.error(), Some("message_not_in_streaming_state"));
    let live = slack.thread_texts(CHANNEL, ROOT);
    assert!(
        live[0].contains("Second paragraph"),
        "shown by chat.update: {live:?}"
    );
    let answer = "First paragraph, streamed.\n\nSecond paragraph, after the stream expired.";
    writer.finish(answer, &[]).await.unwrap();
    assert_eq!(slack.thread_texts(CHANNEL, ROOT), vec![answer.to_owned()]);
}

async fn a_failure_replaces_the_placeholder(refuse: Option<&str>) {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    slack.refuse_streaming(refuse);
    let writer = open(&slack).await;
    let message = "agent alias TSTALIASID of agent AGENT1 not found in us-east-1";
    writer.fail(message).await.unwrap();
    let texts = slack.thread_texts(CHANNEL, ROOT);
    assert_eq!(texts, vec![format!("⚠️ {message}")], "refused: {refuse:?}");
    assert!(!texts.iter().any(|t| t.contains("Analyzing")));
}

#[tokio::test]
async fn a_failure_replaces_the_streamed_placeholder() {
    a_failure_replaces_the_placeholder(None).await;
}

#[tokio::test]
async fn a_failure_replaces_the_posted_placeholder() {
    a_failure_replaces_the_placeholder(Some("unknown_method")).await;
}

#[tokio::test]
async fn a_failure_mid_answer_keeps_what_arrived_under_the_error() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let mut writer = open(&slack).await;
    writer.push("Partial analysis: the deploy").await;
    writer.flush().await;
    writer
        .fail("the agent stopped answering (idle 30s)")
        .await
        .unwrap();
    assert_eq!(
        slack.thread_texts(CHANNEL, ROOT),
        vec![
            "Partial analysis: the deploy\n\n⚠️ the agent stopped answering (idle 30s)".to_owned()
        ]
    );
}

#[tokio::test]
async fn a_rate_limited_append_is_retried_after_retry_after_and_appends_skip_the_channel_pace() {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let url = url::Url::parse(&slack.api_url()).unwrap();
    let token = slack.options().bot_token.clone().into();
    // One message a minute in this channel: a paced append would wait for a minute.
    let paced = SlackMessenger::new(
        &url,
        &token,
        Duration::from_secs(5),
        &chatops_bot::config::ProxySettings::default(),
    )
    .unwrap()
    .with_channel_pacer(ChannelPacer::new(Duration::from_secs(60), 1));
    let mut writer = AnswerWriter::open(Arc::new(paced), target(), PLACEHOLDER)
        .await
        .unwrap();
    assert!(writer.is_streaming());
    slack.fail_next(
        "chat.appendStream",
        HttpFault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    writer.push("Rate limited, then shown.").await;
    tokio::time::timeout(Duration::from_secs(20), writer.flush())
        .await
        .expect("appends do not wait for the channel's pace");
    let appends = slack.calls_to("chat.appendStream");
    assert_eq!(appends.len(), 2, "the 429, then the retry");
    assert_eq!(appends[0].status, 429);
    assert!(appends[1].ok());
    assert!(appends[1].at.duration_since(appends[0].at) >= Duration::from_millis(900));
    let live = slack.thread_texts(CHANNEL, ROOT);
    assert_eq!(
        live,
        vec![format!("{PLACEHOLDER}\n\nRate limited, then shown.")]
    );
}

//! Reading a whole thread for a report, over loopback against the fake Slack: pagination, names,
//! plain text, what is kept, 429s, hung calls, permalinks, and what it all costs in Slack calls.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chatops_bot::slack::answer::{AnswerTarget, AnswerWriter};
use chatops_bot::slack::interaction::{ChannelId, MessageTs, TeamId, UserId};
use chatops_bot::slack::markup::Segment;
use chatops_bot::slack::messenger::{BotIdentity, Messenger, SlackApiError, SlackMessenger};
use chatops_bot::slack::thread::{read_transcript, ThreadTranscript};
use chatops_sandbox::slack::{Author, FakeSlack, FakeUser, HttpFault, Seed, TimelineKind};
use support::*;

const CHANNEL: &str = "C0INCIDENT";
/// `slack.request_timeout` in these tests.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Far past any bound the tests wait for: a hung call the bot waited out would fail them.
const HANG: Duration = Duration::from_secs(60);

fn messenger(slack: &FakeSlack) -> Arc<SlackMessenger> {
    let url = url::Url::parse(&slack.api_url()).unwrap();
    Arc::new(
        SlackMessenger::new(
            &url,
            &BOT_TOKEN.to_owned().into(),
            TIMEOUT,
            &chatops_bot::config::ProxySettings::default(),
        )
        .unwrap(),
    )
}

fn channel() -> ChannelId {
    ChannelId(CHANNEL.into())
}

fn user(slack: &FakeSlack, id: &str, display_name: &str) {
    slack.set_user(
        id,
        FakeUser {
            name: display_name.to_lowercase(),
            real_name: format!("{display_name} Real"),
            display_name: display_name.into(),
        },
    );
}

async fn transcript(
    messenger: &SlackMessenger,
    me: &BotIdentity,
    root: &str,
) -> Result<ThreadTranscript, SlackApiError> {
    let (channel, root) = (channel(), MessageTs(root.into()));
    let read = read_transcript(messenger, me, &channel, &root);
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("reading a thread never hangs")
}

fn calls(slack: &FakeSlack, method: &str) -> usize {
    slack.calls_to(method).len()
}

/// The 500-message thread: read whole with ⌈500/200⌉ = 3 `conversations.replies`
/// calls, one `users.info` per distinct user (none the second time: the cache), one
/// `chat.getPermalink`: 1 + ⌈messages/200⌉ + distinct users in all.
#[tokio::test]
async fn a_500_message_thread_is_read_whole_with_3_pages_and_one_lookup_per_user() {
    let slack = fake_slack().await;
    let users = ["U0ANN", "U0BOB", "U0CY", "U0DEE"];
    for (id, name) in users.iter().zip(["Ann", "Bob", "Cy", "Dee"]) {
        user(&slack, id, name);
    }
    let root = slack.seed_thread(CHANNEL, &users, 499);
    let messenger = messenger(&slack);
    let me = messenger.identity().await.unwrap();

    let t = transcript(&messenger, &me, &root).await.unwrap();

    assert_eq!(t.messages.len(), 500);
    assert!(!t.cut);
    assert_eq!(t.messages[0].text, "thread root");
    for (i, m) in t.messages[1..].iter().enumerate() {
        assert_eq!(
            m.text,
            format!("message {i}"),
            "oldest first, none lost or doubled"
        );
    }
    assert!(t.messages.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(t.messages[2].author, "Bob");
    let replies = slack.calls_to("conversations.replies");
    assert_eq!(replies.len(), 3);
    assert!(replies.iter().all(|c| c.params["limit"] == "200"));
    assert_eq!(calls(&slack, "users.info"), 4);
    assert_eq!(calls(&slack, "chat.getPermalink"), 1);
    assert_eq!(t.slack_calls.total(), 1 + 3 + 4);
    assert_eq!(
        t.participants
            .iter()
            .map(|p| (p.name.as_str(), p.messages))
            .collect::<Vec<_>>(),
        [("Ann", 126), ("Bob", 125), ("Cy", 125), ("Dee", 124)]
    );

    let again = transcript(&messenger, &me, &root).await.unwrap();
    assert_eq!(again.messages.len(), 500);
    assert_eq!(
        calls(&slack, "users.info"),
        4,
        "names are cached across reports"
    );
    assert_eq!(again.slack_calls.users_info, 0);
}

/// Past 50 pages (10,000 messages) the read stops and says the thread was cut.
#[tokio::test]
async fn a_thread_longer_than_50_pages_is_cut_and_says_so() {
    let slack = fake_slack().await;
    let root = slack.seed_thread(CHANNEL, &["U0ANN"], 10_050);
    let messenger = messenger(&slack);
    let me = messenger.identity().await.unwrap();
    let t = transcript(&messenger, &me, &root).await.unwrap();
    assert!(t.cut);
    assert_eq!(t.messages.len(), 10_000);
    assert_eq!(calls(&slack, "conversations.replies"), 50);
}

/// `conversations.replies` keeps to its rate tier: after the burst, one page per interval, so a
/// long thread (or reports one after another) slows down instead of running into 429s. The
/// tier is shrunk here (burst 2, 300 ms) so the test need not wait out Slack's real one.
#[tokio::test]
async fn long_threads_are_read_within_the_methods_rate_tier() {
    let slack = fake_slack().await;
    let root = slack.seed_thread(CHANNEL, &["U0ANN"], 999);
    let url = url::Url::parse(&slack.api_url()).unwrap();
    let pace = Duration::from_millis(300);
    let messenger = SlackMessenger::new(
        &url,
        &BOT_TOKEN.to_owned().into(),
        TIMEOUT,
        &chatops_bot::config::ProxySettings::default(),
    )
    .unwrap()
    .with_method_pace("conversations.replies", pace, 2);
    let me = messenger.identity().await.unwrap();
    let t = transcript(&messenger, &me, &root).await.unwrap();
    assert_eq!(t.messages.len(), 1000, "paced, not cut short");
    let at: Vec<_> = slack
        .calls_to("conversations.replies")
        .iter()
        .map(|c| c.at)
        .collect();
    assert_eq!(at.len(), 5);
    let jitter = Duration::from_millis(20);
    assert!(
        at[4] - at[0] + jitter >= 3 * pace,
        "5 pages with a burst of 2 take at least 3 intervals: {:?}",
        at[4] - at[0]
    );
    // The third page's slot is one interval after the first's; from then on slots are one
    // interval apart.
    for (i, pair) in at.windows(2).enumerate().skip(2) {
        let gap = pair[1] - pair[0];
        // Slots are `pace` apart once the burst is spent; the fake stamps a call a little after
        // it left, so allow a few milliseconds of jitter below the pace.
        assert!(
            gap + jitter >= pace,
            "page {} came {gap:?} after the one before, inside the tier's {pace:?}",
            i + 2
        );
    }
}

/// Mentions, links and entities come out plain; an unknown user is shown by id (and not
/// asked for twice).
#[tokio::test]
async fn markup_becomes_plain_text_with_names_and_links() {
    let slack = fake_slack().await;
    user(&slack, "U0ANN", "Ann");
    user(&slack, "U0BOB", "Bob");
    slack.forget_user("U0GHOST");
    let root = slack.seed_thread(CHANNEL, &["U0ANN"], 0);
    slack.seed_messages(
        CHANNEL,
        Some(&root),
        [
            Seed::user(
                "U0ANN",
                "<@U0BOB> see <https://grafana.example/d?a=1&amp;b=2|the graph> in <#C0OPS|ops> &lt;3 <!here>",
            ),
            Seed::user("U0GHOST", "who <@U0GHOST|ghost> am I"),
            Seed::user("U0GHOST", "still me <unterminated"),
        ],
    );
    let messenger = messenger(&slack);
    let me = messenger.identity().await.unwrap();
    let t = transcript(&messenger, &me, &root).await.unwrap();
    let first = &t.messages[1];
    assert_eq!(
        first.text,
        "@Bob see the graph (https://grafana.example/d?a=1&b=2) in #ops <3 @here"
    );
    assert!(first.segments.contains(&Segment::Link {
        url: "https://grafana.example/d?a=1&b=2".into(),
        label: "the graph".into()
    }));
    assert_eq!(t.messages[2].author, "U0GHOST");
    assert_eq!(t.messages[2].text, "who @U0GHOST am I");
    assert_eq!(t.messages[3].text, "still me <unterminated");
    assert_eq!(
        calls(&slack, "users.info"),
        3,
        "Ann, Bob and the ghost, once each"
    );
}

/// The bot's placeholder (written by the real `AnswerWriter`) is left out while the answer is
/// being written; the final answer, the card's transition and another integration's message
/// stay.
#[tokio::test]
async fn placeholders_are_dropped_cards_and_answers_kept() {
    let slack = fake_slack().await;
    slack.refuse_streaming(Some("unknown_method"));
    let root = slack.seed_messages(
        CHANNEL,
        None,
        [Seed {
            author: Author::TheBot {
                event_type: Some("chatops_post".into()),
            },
            text: "🚨 ALARM checkout-api-5xx".into(),
        }],
    )[0]
    .clone();
    slack.seed_messages(
        CHANNEL,
        Some(&root),
        [
            Seed {
                author: Author::TheBot {
                    event_type: Some("chatops_post".into()),
                },
                text: "ALARM → OK".into(),
            },
            Seed {
                author: Author::Integration {
                    bot_id: "B0DEPLOY".into(),
                    username: "deploy-bot".into(),
                },
                text: "rolled back v42".into(),
            },
        ],
    );
    let messenger = messenger(&slack);
    let me = messenger.identity().await.unwrap();
    let target = AnswerTarget {
        channel: channel(),
        thread: MessageTs(root.clone()),
        user: UserId("U0ANN".into()),
        team: TeamId("T0SANDBOX".into()),
    };
    let writer = AnswerWriter::open(messenger.clone(), target, "🤖 _Asking the agent…_")
        .await
        .unwrap();

    let during = transcript(&messenger, &me, &root).await.unwrap();
    let texts = |t: &ThreadTranscript| -> Vec<String> {
        t.messages.iter().map(|m| m.text.clone()).collect()
    };
    assert_eq!(
        texts(&during),
        ["🚨 ALARM checkout-api-5xx", "ALARM → OK", "rolled back v42"]
    );
    assert_eq!(during.left_out, 1, "the placeholder");
    assert!(during.messages[2].is_bot && !during.messages[2].is_own);
    assert_eq!(during.messages[2].author, "deploy-bot");
    assert!(during.messages[1].is_own);

    writer
        .finish("The cause was deploy v42.", &[])
        .await
        .unwrap();
    let after = transcript(&messenger, &me, &root).await.unwrap();
    assert_eq!(
        texts(&after),
        [
            "🚨 ALARM checkout-api-5xx",
            "ALARM → OK",
            "rolled back v42",
            "The cause was deploy v42."
        ]
    );
    assert_eq!(after.messages[3].author, "chatops-bot");
    assert!(after.participants.is_empty(), "bots are not participants");
}

/// A 429 on `conversations.replies` pauses that method for Retry-After, then the read completes.
#[tokio::test]
async fn a_429_on_replies_pauses_then_completes() {
    let slack = fake_slack().await;
    let root = slack.seed_thread(CHANNEL, &["U0ANN"], 450);
    let messenger = messenger(&slack);
    let me = messenger.identity().await.unwrap();
    slack.fail_next(
        "conversations.replies",
        HttpFault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    let t = transcript(&messenger, &me, &root).await.unwrap();
    assert_eq!(t.messages.len(), 451);
    let replies = slack.calls_to("conversations.replies");
    assert_eq!(replies.len(), 4, "3 pages and the rate-limited attempt");
    assert_eq!(replies[0].status, 429);
    assert!(
        replies[1].at.duration_since(replies[0].at) >= Duration::from_millis(900),
        "the retry waited for Retry-After"
    );
    assert_eq!(t.slack_calls.replies, 3);
}

/// A `conversations.replies` call that never answers is cut by `slack.request_timeout` on every
/// attempt and surfaces as `TimedOut`, long before the hang would end.
#[tokio::test]
async fn a_hung_replies_call_times_out_as_an_error_not_a_hang() {
    let slack = fake_slack().await;
    let root = slack.seed_thread(CHANNEL, &["U0ANN"], 10);
    let messenger = messenger(&slack);
    let me = messenger.identity().await.unwrap();
    slack.fail_next("conversations.replies", HttpFault::Hang(HANG), 3);
    let error = transcript(&messenger, &me, &root).await.unwrap_err();
    assert!(
        matches!(
            error,
            SlackApiError::TimedOut {
                method: "conversations.replies",
                ..
            }
        ),
        "{error:?}"
    );
    let hangs = slack
        .timeline()
        .iter()
        .filter(|e| e.kind == TimelineKind::Fault)
        .filter(|e| e.text.contains("conversations.replies: injected hang"))
        .count();
    assert_eq!(hangs, 3, "the try and two retries, each cut by the timeout");
}

/// Permalinks come from `chat.getPermalink` once per thread; when it fails they are built from
/// the workspace URL `auth.test` gave.
#[tokio::test]
async fn permalinks_come_from_slack_and_fall_back_to_the_team_url() {
    let slack = fake_slack().await;
    let root = slack.seed_thread(CHANNEL, &["U0ANN"], 2);
    let messenger = messenger(&slack);
    let me = messenger.identity().await.unwrap();
    let digits = root.replace('.', "");

    let t = transcript(&messenger, &me, &root).await.unwrap();
    let from_slack = format!("https://sandbox.slack.test/archives/{CHANNEL}/p{digits}");
    assert_eq!(t.thread_link, from_slack);
    assert_eq!(t.messages[0].permalink, from_slack);
    let reply = &t.messages[1];
    assert_eq!(
        reply.permalink,
        format!(
            "https://sandbox.slack.test/archives/{CHANNEL}/p{}?thread_ts={root}&cid={CHANNEL}",
            reply.ts.0.replace('.', "")
        )
    );

    slack.fail_next(
        "chat.getPermalink",
        HttpFault::SlackError("internal_error".into()),
        1,
    );
    let elsewhere = BotIdentity {
        team_url: Some("https://fallback.slack.test/".into()),
        ..me
    };
    let t = transcript(&messenger, &elsewhere, &root).await.unwrap();
    assert_eq!(
        t.thread_link,
        format!("https://fallback.slack.test/archives/{CHANNEL}/p{digits}")
    );
    assert!(t.messages[1]
        .permalink
        .starts_with("https://fallback.slack.test/archives/"));
    assert_eq!(calls(&slack, "chat.getPermalink"), 2);
}

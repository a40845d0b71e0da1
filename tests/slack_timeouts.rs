//! Hung Slack calls end at `slack.request_timeout` and are retried, so they never wedge the bot.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chatops_bot::slack::interaction::{ChannelId, MessageTs, ResponseUrl, UserId};
use chatops_bot::slack::message::{Message, Mrkdwn, Visibility};
use chatops_bot::slack::messenger::{Messenger, SlackApiError, SlackMessenger};
use chatops_bot::slack::pacing::ChannelPacer;
use chatops_sandbox::slack::{FakeSlack, HttpFault, TimelineKind};
use support::alarm_sandbox::{shown, AlarmSandbox};
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const FIRED: &str = "2026-11-23T13:53:39.351+0000";
/// How long a hung call is held: the figure, far past any timeout the tests set.
const HANG: Duration = Duration::from_secs(60);
/// `slack.request_timeout` in these tests.
const TIMEOUT: Duration = SECOND;
/// `SlackMessenger`'s retry schedule after failures: the first try, two retries, 0.5 s and 1 s apart.
const ATTEMPTS: u32 = 3;
const BACKOFFS: Duration = Duration::from_millis(1500);

fn messenger(slack: &FakeSlack) -> SlackMessenger {
    let url = url::Url::parse(&slack.api_url()).unwrap();
    SlackMessenger::new(
        &url,
        &BOT_TOKEN.to_owned().into(),
        TIMEOUT,
        &chatops_bot::config::ProxySettings::default(),
    )
    .unwrap()
}

fn message(text: &str) -> Message {
    Message::markdown(Mrkdwn::trusted(text))
}

/// The proof: `chat.postMessage` hangs for 60 s on one call in ten during a 500-alarm
/// burst. Every alarm is shown exactly once, and the run ends long before a hung call would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_hanging_on_one_call_in_ten_during_a_500_alarm_burst_wedges_nothing() {
    const ALARMS: usize = 500;
    const VISIBILITY: Duration = Duration::from_secs(10);
    // 2 s rather than the other tests' 1 s: after a hung post, the retry reads the channel back
    // (`conversations.history`, up to 5 pages of 200 cards in this burst), and a loaded debug
    // build could take over 1 s to serve and parse that, failing the delivery over and over.
    const TIMEOUT: Duration = Duration::from_secs(2);
    // An alarm whose calls hang needs at most ATTEMPTS × TIMEOUT + BACKOFFS (7.5 s); one whose
    // every attempt hung comes back after the visibility timeout and needs as long again. The
    // burst itself takes a few seconds (up to 200 alarms in flight at once); 30 s leaves room
    // for a loaded machine. The bound stays below the hang, so a bot that waits for Slack's
    // answer cannot pass.
    let per_alarm = TIMEOUT * ATTEMPTS + BACKOFFS;
    let bound = 2 * per_alarm + VISIBILITY + 30 * SECOND;
    assert!(bound < HANG);
    let s = AlarmSandbox::start(
        "pollers = 8\nunwatched_nudge = \"0s\"\nvisibility_timeout = \"10s\"\nstorm_threshold = 0",
        &[("CHATOPS_SLACK__REQUEST_TIMEOUT", "2s")],
    )
    .await;
    s.slack.fail_every(
        &["chat.postMessage"],
        10,
        HttpFault::Hang(HANG),
        600 * SECOND,
    );
    let names: Vec<String> = (0..ALARMS).map(|i| format!("hung-{i:04}")).collect();
    let started = Instant::now();
    for name in &names {
        s.publish(name, "ALARM", "OK", FIRED);
    }
    s.sqs
        .wait_for_deleted(&s.queue, ALARMS, bound)
        .await
        .unwrap_or_else(|e| panic!("not every alarm was delivered within {bound:?}: {e:#}"));
    let took = started.elapsed();

    let hung = s
        .slack
        .timeline()
        .iter()
        .filter(|e| e.kind == TimelineKind::Fault && e.text.contains("injected hang"))
        .count();
    assert!(hung >= ALARMS / 10, "only {hung} calls hung");
    let mut cards_per_alarm: BTreeMap<&str, usize> = BTreeMap::new();
    for card in s.top_level() {
        let text = shown(&card);
        let named: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| text.contains(n))
            .collect();
        assert_eq!(named.len(), 1, "one alarm per card: {text}");
        *cards_per_alarm.entry(named[0]).or_default() += 1;
    }
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !cards_per_alarm.contains_key(n.as_str()))
        .collect();
    assert!(missing.is_empty(), "alarms without a card: {missing:?}");
    let twice: Vec<_> = cards_per_alarm.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "alarms shown more than once: {twice:?}");
    assert_eq!(
        s.sqs.visible(&s.queue).unwrap() + s.sqs.in_flight(&s.queue).unwrap(),
        0
    );
    eprintln!("500 alarms, {hung} hung calls: all delivered in {took:?}");
    s.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_hung_on_every_attempt_fails_as_timed_out_after_the_retry_schedule() {
    let slack = fake_slack().await;
    let messenger = messenger(&slack);
    slack.fail_next("chat.postMessage", HttpFault::Hang(HANG), ATTEMPTS);
    let started = Instant::now();
    let channel = ChannelId("C0ALERTS01".to_owned());
    let error = messenger
        .post(&channel, None, &message("never shown"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            error,
            SlackApiError::TimedOut {
                method: "chat.postMessage",
                timeout: TIMEOUT
            }
        ),
        "{error:?}"
    );
    assert!(
        took >= TIMEOUT * ATTEMPTS + BACKOFFS && took < HANG,
        "gave up after {took:?}"
    );
    assert!(slack.messages("C0ALERTS01").is_empty());
    // The next call is served: nothing is left stuck in the client.
    let ts = messenger
        .post(&channel, None, &message("shown"))
        .await
        .unwrap();
    assert_eq!(slack.messages("C0ALERTS01")[0].ts, ts.0);

    slack.fail_next("hooks", HttpFault::Hang(HANG), 1);
    let url = ResponseUrl(format!("{}T0/1/hung", slack.hooks_url()));
    let error = messenger
        .respond(&url, &message("reply"), Visibility::Ephemeral)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            SlackApiError::TimedOut {
                method: "response_url",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_connections_open_is_abandoned_and_the_bot_connects_with_a_fresh_one() {
    let slack = fake_slack().await;
    slack.fail_next("apps.connections.open", HttpFault::Hang(HANG), 1);
    let bot =
        RunningBot::start_with_env(&slack, 1, "", &[("CHATOPS_SLACK__REQUEST_TIMEOUT", "1s")])
            .await;
    // One timeout, a backoff of at most slack.socket.backoff_max (1 s), a second open.
    slack
        .wait_for_connections(1, 10 * SECOND)
        .await
        .expect("the bot connected after its first apps.connections.open hung");
    let hung = slack
        .timeline()
        .iter()
        .any(|e| e.text.contains("apps.connections.open: injected hang"));
    assert!(hung, "the first apps.connections.open was held");
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_posts_and_updates_are_paced_and_each_waits_for_its_channel() {
    let slack = fake_slack().await;
    // Longer than the first retry's backoff (0.5 s), so only a paced retry keeps the pace.
    let interval = Duration::from_millis(800);
    let messenger = messenger(&slack).with_channel_pacer(ChannelPacer::new(interval, 1));
    let (ops, deploys) = (
        ChannelId("C0OPS00001".to_owned()),
        ChannelId("C0DEPLOYS1".to_owned()),
    );
    let user = UserId("U0ALICE".to_owned());
    let card = messenger.post(&ops, None, &message("card")).await.unwrap();
    let (updated, note_text, deploy) =
        (message("card, updated"), message("note"), message("deploy"));
    let only_you = message("only you");
    let (update, note, elsewhere, ephemeral) = tokio::join!(
        messenger.update(&ops, &card, &updated),
        messenger.post(&ops, Some(&card), &note_text),
        async {
            let posted = messenger.post(&deploys, None, &deploy).await;
            // The note, still waiting for its turn, fails once: its retry waits for the next.
            slack.fail_next("chat.postMessage", HttpFault::ServerError, 1);
            posted
        },
        messenger.post_ephemeral(&ops, &user, None, &only_you),
    );
    update.unwrap();
    let note: MessageTs = note.unwrap();
    elsewhere.unwrap();
    ephemeral.unwrap();
    let calls = slack.calls();
    let at = |method: &str, channel: &str| -> Vec<Instant> {
        calls
            .iter()
            .filter(|c| c.method == method && c.param_str("channel") == Some(channel))
            .map(|c| c.at)
            .collect()
    };
    let paced_in_ops: Vec<Instant> = {
        let mut all = at("chat.postMessage", &ops.0);
        all.extend(at("chat.update", &ops.0));
        all.sort();
        all
    };
    assert_eq!(paced_in_ops.len(), 4, "card, update, failed note, note");
    for pair in paced_in_ops.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= interval - Duration::from_millis(50), "{gap:?} apart");
    }
    // Ephemerals and other channels do not wait behind the channel's paced calls.
    assert!(at("chat.postEphemeral", &ops.0)[0] < paced_in_ops[1]);
    assert!(at("chat.postMessage", &deploys.0)[0] < paced_in_ops[1]);
    let thread = slack.messages(&ops.0);
    assert!(thread.iter().any(|m| m.ts == note.0));
}

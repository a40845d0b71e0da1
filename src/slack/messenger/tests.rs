//! Unit tests of `SlackMessenger::call` on tokio's paused clock: timeouts, retries, slots, pacing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use slack_morphism::errors::{SlackClientError, SlackClientHttpError};
use tokio::time::Instant;

use super::{SlackApiError, SlackMessenger, PER_METHOD_CONCURRENCY};
use crate::slack::interaction::ChannelId;
use crate::slack::pacing::ChannelPacer;

const TIMEOUT: Duration = Duration::from_secs(1);
const SECOND: Duration = Duration::from_secs(1);

/// A messenger whose `call`s are driven by the tests' own attempts; its URL is never dialled.
fn messenger() -> SlackMessenger {
    let url = url::Url::parse("http://127.0.0.1:9/api/").unwrap();
    SlackMessenger::new(
        &url,
        &"xoxb-unit-test".to_owned().into(),
        TIMEOUT,
        &crate::config::ProxySettings::default(),
    )
    .unwrap()
}

fn server_error() -> SlackClientError {
    SlackClientError::HttpError(SlackClientHttpError::new(StatusCode::INTERNAL_SERVER_ERROR))
}

/// What each attempt does, in order; past the end, attempts succeed.
#[derive(Clone, Copy, Debug)]
enum Step {
    Hang,
    Fail,
    Succeed,
}

/// Plays `steps` one per attempt and notes when each attempt started.
struct Script {
    steps: Vec<Step>,
    started: Mutex<Vec<Instant>>,
}

impl Script {
    fn new(steps: &[Step]) -> Arc<Self> {
        Arc::new(Self {
            steps: steps.to_vec(),
            started: Mutex::default(),
        })
    }

    async fn attempt(&self) -> Result<(), SlackClientError> {
        let step = {
            let mut started = self.started.lock().unwrap();
            started.push(Instant::now());
            self.steps
                .get(started.len() - 1)
                .copied()
                .unwrap_or(Step::Succeed)
        };
        match step {
            Step::Hang => std::future::pending().await,
            Step::Fail => Err(server_error()),
            Step::Succeed => Ok(()),
        }
    }

    fn started(&self) -> Vec<Instant> {
        self.started.lock().unwrap().clone()
    }
}

async fn run(
    messenger: &SlackMessenger,
    paced: Option<&ChannelId>,
    script: &Script,
) -> Result<(), SlackApiError> {
    messenger
        .call("chat.postMessage", paced, || script.attempt())
        .await
}

#[tokio::test(start_paused = true)]
async fn a_hung_attempt_is_cut_off_at_the_request_timeout_and_retried() {
    let (messenger, script, start) = (messenger(), Script::new(&[Step::Hang]), Instant::now());
    run(&messenger, None, &script).await.unwrap();
    let started = script.started();
    assert_eq!(started.len(), 2, "one hung attempt, one that answered");
    assert_eq!(
        started[1] - start,
        TIMEOUT + Duration::from_millis(500),
        "retried after the timeout and the first backoff"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_that_hangs_on_every_attempt_fails_as_timed_out() {
    let (messenger, start) = (messenger(), Instant::now());
    let script = Script::new(&[Step::Hang, Step::Hang, Step::Hang, Step::Hang]);
    let error = run(&messenger, None, &script).await.unwrap_err();
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
    assert_eq!(
        error.to_string(),
        "Slack did not answer chat.postMessage within 1s"
    );
    assert!(!error.is_auth_failure());
    assert_eq!(script.started().len(), 3, "the first try and two retries");
    assert_eq!(
        start.elapsed(),
        3 * TIMEOUT + Duration::from_millis(500 + 1000),
        "three timeouts and the two backoffs, nothing more"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_error_after_a_timeout_is_reported_as_itself() {
    let messenger = messenger();
    let script = Script::new(&[Step::Hang, Step::Hang, Step::Fail]);
    let error = run(&messenger, None, &script).await.unwrap_err();
    assert!(
        matches!(error, SlackApiError::Http { status: 500, .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn hung_calls_give_their_slots_back_so_later_calls_go_through() {
    let messenger = Arc::new(messenger());
    let start = Instant::now();
    let hung: Vec<_> = (0..PER_METHOD_CONCURRENCY)
        .map(|_| {
            let messenger = messenger.clone();
            tokio::spawn(async move {
                let script = Script::new(&[Step::Hang; 3]);
                run(&messenger, None, &script).await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let later = Script::new(&[]);
    run(&messenger, None, &later).await.unwrap();
    assert_eq!(
        later.started()[0] - start,
        TIMEOUT,
        "the later call got the first slot a timed-out attempt gave back, \
         not one held through the hung calls' backoff and retries"
    );
    for call in hung {
        let outcome = call.await.unwrap();
        assert!(
            matches!(outcome, Err(SlackApiError::TimedOut { .. })),
            "{outcome:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_attempt_of_a_paced_call_waits_for_its_channels_turn() {
    let messenger = Arc::new(messenger().with_channel_pacer(ChannelPacer::new(SECOND, 1)));
    let (ops, start) = (ChannelId("C0OPS".to_owned()), Instant::now());
    // One call fails, then hangs, then succeeds; another to the same channel follows it at once.
    let retried = Script::new(&[Step::Fail, Step::Hang]);
    let plain = Script::new(&[]);
    let (first, second) = tokio::join!(
        run(&messenger, Some(&ops), &retried),
        run(&messenger, Some(&ops), &plain)
    );
    first.unwrap();
    second.unwrap();
    let offsets = |script: &Script| -> Vec<u128> {
        let started = script.started();
        started.iter().map(|at| (*at - start).as_millis()).collect()
    };
    // The second call's slot is 1s; the retry after the 500 (asked at 0.5s) gets the next, 2s;
    // the retry after the timeout (asked at 4s: 1s timeout, 1s backoff) finds the channel free.
    assert_eq!(offsets(&plain), [1000]);
    assert_eq!(offsets(&retried), [0, 2000, 4000]);
}

#[tokio::test(start_paused = true)]
async fn unpaced_calls_and_other_channels_do_not_wait() {
    let messenger = messenger().with_channel_pacer(ChannelPacer::new(SECOND, 1));
    let (ops, deploys) = (
        ChannelId("C0OPS".to_owned()),
        ChannelId("C0DEPLOYS".to_owned()),
    );
    let start = Instant::now();
    let counter = AtomicUsize::new(0);
    let attempts = &counter;
    let count = move || async move {
        attempts.fetch_add(1, Ordering::SeqCst);
        Ok::<(), SlackClientError>(())
    };
    messenger
        .call("chat.postMessage", Some(&ops), count)
        .await
        .unwrap();
    messenger
        .call("chat.update", Some(&deploys), count)
        .await
        .unwrap();
    for _ in 0..3 {
        messenger
            .call("chat.postEphemeral", None, count)
            .await
            .unwrap();
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
    messenger
        .call("chat.update", Some(&ops), count)
        .await
        .unwrap();
    assert_eq!(
        start.elapsed(),
        SECOND,
        "a post and an update share the pace"
    );
    assert_eq!(counter.load(Ordering::SeqCst), 6);
}

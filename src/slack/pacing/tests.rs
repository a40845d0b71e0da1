//! Unit tests of `ChannelPacer` and `PacedMessenger` on tokio's paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{ChannelPacer, PacedMessenger, PRUNE_ABOVE};
use crate::slack::interaction::{ChannelId, MessageTs, ResponseUrl, UserId};
use crate::slack::message::{Message, Mrkdwn, Visibility};
use crate::slack::messenger::{BotIdentity, Messenger, SlackApiError};

const SECOND: Duration = Duration::from_secs(1);

/// One call that reached the wrapped messenger.
#[derive(Clone, Debug)]
struct Recorded {
    method: &'static str,
    channel: String,
    /// The thread ts, used by the tests as a label for the call.
    label: String,
    at: Instant,
}

#[derive(Default)]
struct RecordingMessenger {
    calls: Mutex<Vec<Recorded>>,
}

impl RecordingMessenger {
    fn record(&self, method: &'static str, channel: &str, label: &str) {
        self.calls.lock().unwrap().push(Recorded {
            method,
            channel: channel.to_owned(),
            label: label.to_owned(),
            at: Instant::now(),
        });
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }

    /// Milliseconds after `start` of each call to `channel`, in arrival order.
    fn offsets_ms(&self, channel: &str, start: Instant) -> Vec<u128> {
        self.calls()
            .iter()
            .filter(|call| call.channel == channel)
            .map(|call| (call.at - start).as_millis())
            .collect()
    }
}

#[async_trait]
impl Messenger for RecordingMessenger {
    async fn post(
        &self,
        channel: &ChannelId,
        thread: Option<&MessageTs>,
        _message: &Message,
    ) -> Result<MessageTs, SlackApiError> {
        let label = thread.map_or("", |ts| ts.0.as_str());
        self.record("chat.postMessage", &channel.0, label);
        Ok(MessageTs(format!("1700000000.{label}")))
    }

    async fn update(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        _message: &Message,
    ) -> Result<(), SlackApiError> {
        self.record("chat.update", &channel.0, &ts.0);
        Ok(())
    }

    async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        _user: &UserId,
        thread: Option<&MessageTs>,
        _message: &Message,
    ) -> Result<(), SlackApiError> {
        let label = thread.map_or("", |ts| ts.0.as_str());
        self.record("chat.postEphemeral", &channel.0, label);
        Ok(())
    }

    async fn respond(
        &self,
        url: &ResponseUrl,
        _message: &Message,
        _visibility: Visibility,
    ) -> Result<(), SlackApiError> {
        self.record("response_url", "", &url.0);
        Ok(())
    }

    async fn identity(&self) -> Result<BotIdentity, SlackApiError> {
        self.record("auth.test", "", "");
        Ok(BotIdentity {
            user_id: UserId("U0PACEBOT".to_owned()),
            name: "pace-bot".to_owned(),
            team: "T0PACE".to_owned(),
        })
    }
}

struct Harness {
    recorder: Arc<RecordingMessenger>,
    paced: Arc<PacedMessenger>,
    start: Instant,
}

impl Harness {
    fn new(interval: Duration, burst: u32) -> Self {
        let recorder = Arc::new(RecordingMessenger::default());
        let paced = Arc::new(PacedMessenger::new(recorder.clone(), interval, burst));
        Self {
            recorder,
            paced,
            start: Instant::now(),
        }
    }

    /// Starts a `chat.postMessage` to `channel`, labelled `label` (sent as the thread ts).
    fn post(&self, channel: &str, label: &str) -> JoinHandle<()> {
        let paced = self.paced.clone();
        let (channel, label) = (ChannelId(channel.to_owned()), MessageTs(label.to_owned()));
        tokio::spawn(async move {
            paced
                .post(&channel, Some(&label), &message())
                .await
                .expect("the recorder accepts every post");
        })
    }

    fn update(&self, channel: &str, label: &str) -> JoinHandle<()> {
        let paced = self.paced.clone();
        let (channel, ts) = (ChannelId(channel.to_owned()), MessageTs(label.to_owned()));
        tokio::spawn(async move {
            paced
                .update(&channel, &ts, &message())
                .await
                .expect("the recorder accepts every update");
        })
    }

    fn ephemeral(&self, channel: &str, label: &str) -> JoinHandle<()> {
        let paced = self.paced.clone();
        let (channel, thread) = (ChannelId(channel.to_owned()), MessageTs(label.to_owned()));
        tokio::spawn(async move {
            let user = UserId("U0ALICE".to_owned());
            paced
                .post_ephemeral(&channel, &user, Some(&thread), &message())
                .await
                .expect("the recorder accepts every ephemeral");
        })
    }
}

fn message() -> Message {
    Message::markdown(Mrkdwn::trusted("paced"))
}

async fn join_all(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        task.await.expect("a paced call panicked");
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_goes_out_at_once_then_one_per_interval() {
    let harness = Harness::new(SECOND, 3);
    let tasks = (0..7)
        .map(|i| harness.post("C0OPS", &i.to_string()))
        .collect();
    join_all(tasks).await;
    assert_eq!(
        harness.recorder.offsets_ms("C0OPS", harness.start),
        [0, 0, 0, 1000, 2000, 3000, 4000]
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_channel_gets_its_burst_back_one_slot_per_interval() {
    let harness = Harness::new(SECOND, 3);
    join_all(
        (0..3)
            .map(|i| harness.post("C0OPS", &i.to_string()))
            .collect(),
    )
    .await;
    // Two intervals of quiet earn two slots back, not three.
    tokio::time::sleep(2 * SECOND).await;
    join_all(
        (3..6)
            .map(|i| harness.post("C0OPS", &i.to_string()))
            .collect(),
    )
    .await;
    // Long quiet earns the whole burst back, and no more.
    tokio::time::sleep(60 * SECOND).await;
    join_all(
        (6..10)
            .map(|i| harness.post("C0OPS", &i.to_string()))
            .collect(),
    )
    .await;
    assert_eq!(
        harness.recorder.offsets_ms("C0OPS", harness.start),
        [0, 0, 0, 2000, 2000, 3000, 63000, 63000, 63000, 64000]
    );
}

#[tokio::test(start_paused = true)]
async fn two_channels_do_not_slow_each_other() {
    let harness = Harness::new(SECOND, 1);
    let mut tasks = Vec::new();
    for i in 0..3 {
        tasks.push(harness.post("C0OPS", &i.to_string()));
        tasks.push(harness.post("C0DEPLOYS", &i.to_string()));
    }
    join_all(tasks).await;
    for channel in ["C0OPS", "C0DEPLOYS"] {
        assert_eq!(
            harness.recorder.offsets_ms(channel, harness.start),
            [0, 1000, 2000],
            "{channel}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn calls_in_one_channel_leave_in_the_order_they_were_made() {
    let harness = Harness::new(Duration::from_millis(200), 2);
    let labels: Vec<String> = (0..12).map(|i| format!("{i:02}")).collect();
    join_all(labels.iter().map(|l| harness.post("C0OPS", l)).collect()).await;
    let seen: Vec<String> = harness
        .recorder
        .calls()
        .into_iter()
        .map(|call| call.label)
        .collect();
    assert_eq!(seen, labels);
    let times = harness.recorder.offsets_ms("C0OPS", harness.start);
    assert!(
        times
            .windows(2)
            .skip(1)
            .all(|pair| pair[1] - pair[0] == 200),
        "after the burst of 2, one call per 200 ms: {times:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn updates_share_the_channels_pace_with_posts() {
    let harness = Harness::new(SECOND, 1);
    join_all(vec![
        harness.post("C0OPS", "card"),
        harness.update("C0OPS", "card"),
        harness.post("C0OPS", "note"),
        harness.update("C0DEPLOYS", "other"),
    ])
    .await;
    let calls = harness.recorder.calls();
    let in_ops: Vec<(&str, u128)> = calls
        .iter()
        .filter(|call| call.channel == "C0OPS")
        .map(|call| (call.method, (call.at - harness.start).as_millis()))
        .collect();
    assert_eq!(
        in_ops,
        [
            ("chat.postMessage", 0),
            ("chat.update", 1000),
            ("chat.postMessage", 2000)
        ]
    );
    assert_eq!(harness.recorder.offsets_ms("C0DEPLOYS", harness.start), [0]);
}

#[tokio::test(start_paused = true)]
async fn ephemerals_responses_and_identity_are_not_paced() {
    let harness = Harness::new(SECOND, 1);
    let mut tasks = vec![harness.post("C0OPS", "first")];
    tasks.extend((0..3).map(|i| harness.ephemeral("C0OPS", &i.to_string())));
    tasks.push(harness.post("C0OPS", "second"));
    join_all(tasks).await;
    let url = ResponseUrl("https://hooks.example.test/1".to_owned());
    for _ in 0..3 {
        harness
            .paced
            .respond(&url, &message(), Visibility::Ephemeral)
            .await
            .unwrap();
    }
    let identity = harness.paced.identity().await.unwrap();
    assert_eq!(identity.user_id, UserId("U0PACEBOT".to_owned()));
    let timing: Vec<(&str, u128)> = harness
        .recorder
        .calls()
        .iter()
        .map(|call| (call.method, (call.at - harness.start).as_millis()))
        .collect();
    assert_eq!(
        timing,
        [
            ("chat.postMessage", 0),
            ("chat.postEphemeral", 0),
            ("chat.postEphemeral", 0),
            ("chat.postEphemeral", 0),
            ("chat.postMessage", 1000),
            ("response_url", 1000),
            ("response_url", 1000),
            ("response_url", 1000),
            ("auth.test", 1000),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn zero_interval_never_waits() {
    let pacer = ChannelPacer::new(Duration::ZERO, 1);
    let channel = ChannelId("C0OPS".to_owned());
    for _ in 0..100 {
        assert_eq!(pacer.wait_turn(&channel).await, Duration::ZERO);
    }
}

#[tokio::test(start_paused = true)]
async fn idle_channels_are_forgotten_once_many_are_tracked_and_busy_ones_are_kept() {
    let pacer = ChannelPacer::new(SECOND, 1);
    let tracked = || pacer.state.lock().unwrap().theoretical_arrival.len();
    let old: Vec<ChannelId> = (0..1500).map(|i| ChannelId(format!("C0OLD{i}"))).collect();
    for channel in &old {
        pacer.reserve(channel);
    }
    assert_eq!(tracked(), 1500, "busy channels are never dropped");
    tokio::time::sleep(2 * SECOND).await;
    let new: Vec<ChannelId> = (0..600).map(|i| ChannelId(format!("C0NEW{i}"))).collect();
    for channel in &new {
        pacer.reserve(channel);
    }
    assert_eq!(tracked(), 600, "every idle old channel was dropped");
    assert!(tracked() <= 2 * PRUNE_ABOVE);
    // A busy channel kept through the prune still waits its turn.
    let now = Instant::now();
    assert_eq!(pacer.reserve(&new[0]) - now, SECOND);
    // A forgotten channel starts fresh.
    assert_eq!(pacer.reserve(&old[0]), now);
}

//! Unit tests of `ChannelPacer` on tokio's paused clock (paced retries: `messenger/tests.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{ChannelPacer, PRUNE_ABOVE};
use crate::slack::interaction::ChannelId;

const SECOND: Duration = Duration::from_secs(1);

/// One call that got its turn.
#[derive(Clone, Debug)]
struct Recorded {
    method: &'static str,
    channel: String,
    /// A label for the call, chosen by the test.
    label: String,
    at: Instant,
}

/// A pacer and the turns it handed out, as `SlackMessenger` asks for them before each attempt.
struct Harness {
    pacer: Arc<ChannelPacer>,
    calls: Arc<Mutex<Vec<Recorded>>>,
    start: Instant,
}

impl Harness {
    fn new(interval: Duration, burst: u32) -> Self {
        Self {
            pacer: Arc::new(ChannelPacer::new(interval, burst)),
            calls: Arc::default(),
            start: Instant::now(),
        }
    }

    /// Starts an attempt of `method` in `channel`, labelled `label`, that waits for its turn.
    fn attempt(&self, method: &'static str, channel: &str, label: &str) -> JoinHandle<()> {
        let (pacer, calls) = (self.pacer.clone(), self.calls.clone());
        let (channel, label) = (ChannelId(channel.to_owned()), label.to_owned());
        tokio::spawn(async move {
            pacer.take_turn(method, &channel).await;
            calls.lock().unwrap().push(Recorded {
                method,
                channel: channel.0,
                label,
                at: Instant::now(),
            });
        })
    }

    fn post(&self, channel: &str, label: &str) -> JoinHandle<()> {
        self.attempt("chat.postMessage", channel, label)
    }

    fn update(&self, channel: &str, label: &str) -> JoinHandle<()> {
        self.attempt("chat.update", channel, label)
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }

    /// Milliseconds after the start of each call to `channel`, in arrival order.
    fn offsets_ms(&self, channel: &str) -> Vec<u128> {
        self.calls()
            .iter()
            .filter(|call| call.channel == channel)
            .map(|call| (call.at - self.start).as_millis())
            .collect()
    }
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
        harness.offsets_ms("C0OPS"),
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
        harness.offsets_ms("C0OPS"),
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
        assert_eq!(harness.offsets_ms(channel), [0, 1000, 2000], "{channel}");
    }
}

#[tokio::test(start_paused = true)]
async fn calls_in_one_channel_leave_in_the_order_they_were_made() {
    let harness = Harness::new(Duration::from_millis(200), 2);
    let labels: Vec<String> = (0..12).map(|i| format!("{i:02}")).collect();
    join_all(labels.iter().map(|l| harness.post("C0OPS", l)).collect()).await;
    let seen: Vec<String> = harness.calls().into_iter().map(|call| call.label).collect();
    assert_eq!(seen, labels);
    let times = harness.offsets_ms("C0OPS");
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
    let calls = harness.calls();
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
    assert_eq!(harness.offsets_ms("C0DEPLOYS"), [0]);
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

//! Metric graphs on alarm cards, off the critical path: a bounded queue (full: the graph is dropped, the card never waits) drained by a few workers that render, upload and put the image on the card.
//!
//! The card is posted or updated first, exactly as without graphs; its delivery is committed;
//! only then is a [`GraphJob`] queued (`try_send`). A worker renders the alarm's MetricWidget
//! (`MetricGraphs`), uploads the PNG to Slack unshared (`files.getUploadURLExternal` +
//! `files.completeUploadExternal` without a channel), and asks the `CardKeeper` to show it: the
//! card, under its lock, still at the state the graph was drawn for, gets an image block naming
//! the file and keeps the file id in the store, so later re-renders (👀, report links, same-state
//! updates) keep it and a transition drops it until its own graph is ready. Slack may refuse an
//! image block for a file it is still processing (`invalid_blocks`): the update is tried again
//! after [`SHOW_RETRIES`]; if Slack still refuses, the PNG is uploaded once more, into the
//! card's thread. A failed graph leaves the card as it was and logs one warning. An AccessDenied
//! from CloudWatch logs one warning naming the IAM action and stops every later graph until the
//! bot restarts. A worker starts a graph only once no delivery is in progress (or after
//! [`QUIET_WAIT`]): its `chat.update` takes a turn in the channel's pace, which a card waiting
//! to be posted should have, and its CPU is the pipeline's; during a burst the queue fills and
//! later graphs are dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::lifecycle::{CardKeeper, GraphShown};
use crate::integrations::cloudwatch::{GraphError, GraphRequest, MetricGraphs, Png, GRAPH_ACTION};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::Mrkdwn;
use crate::slack::messenger::{FileUpload, Messenger};

/// Graphs waiting for a worker; past this, new ones are dropped (the card shows no graph).
pub const QUEUE_CAPACITY: usize = 64;
/// Graphs drawn at once.
pub const WORKERS: usize = 4;
/// The pace graphs start at: CloudWatch allows 20 GetMetricWidgetImage calls a second per
/// account (shared with anything else calling it), so the bot starts at most 10 a second; past
/// that the queue fills and new graphs are dropped instead of being throttled one by one.
pub const GRAPH_INTERVAL: Duration = Duration::from_millis(100);
/// The longest one graph may take, render, upload and card update together.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a graph waits for a moment without deliveries in progress before it is drawn
/// anyway, and how often it looks.
pub const QUIET_WAIT: Duration = Duration::from_secs(30);
const QUIET_POLL: Duration = Duration::from_millis(50);
/// Waits before trying the card update again while Slack refuses the just-uploaded image.
pub const SHOW_RETRIES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// One card state's graph to draw.
#[derive(Clone, Debug)]
pub struct GraphJob {
    pub card_key: String,
    pub channel: String,
    /// The card's message.
    pub root_ts: String,
    /// The card's `last_change` when the job was queued: the state the graph belongs to.
    pub for_change: SystemTime,
    /// `ALARM`, `OK`, … (for the file's name and the thread fallback).
    pub state: String,
    pub alarm_name: String,
    pub request: GraphRequest,
}

/// The sending side, held by the `CardKeeper`.
pub struct GraphQueue {
    jobs: mpsc::Sender<GraphJob>,
    /// `alarms.graph_period`.
    pub period: Option<Duration>,
    dropped: AtomicU64,
}

impl GraphQueue {
    /// A queue and its receiving end (for [`run`]).
    pub fn new(period: Option<Duration>) -> (Self, mpsc::Receiver<GraphJob>) {
        let (jobs, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let queue = Self {
            jobs,
            period,
            dropped: AtomicU64::new(0),
        };
        (queue, receiver)
    }

    /// Queues `job` without waiting: a full queue (or stopped workers) drops it.
    pub fn offer(&self, job: GraphJob) {
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(job)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped == 1 || dropped % 100 == 0 {
                    warn!(card = %job.card_key, dropped, "Too many graphs waiting; this card gets none.");
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Where the workers draw and upload.
pub struct GraphWorkers {
    pub keeper: Arc<CardKeeper>,
    pub graphs: Arc<dyn MetricGraphs>,
    pub slack: Arc<dyn Messenger>,
    /// Set by the first AccessDenied: no more CloudWatch calls until restart.
    denied: AtomicBool,
}

impl GraphWorkers {
    pub fn new(
        keeper: Arc<CardKeeper>,
        graphs: Arc<dyn MetricGraphs>,
        slack: Arc<dyn Messenger>,
    ) -> Self {
        Self {
            keeper,
            graphs,
            slack,
            denied: AtomicBool::new(false),
        }
    }
}

/// Drains `jobs`, at most [`WORKERS`] at once and one every [`GRAPH_INTERVAL`], each bounded
/// by [`JOB_TIMEOUT`], until `stop`.
pub async fn run(
    workers: Arc<GraphWorkers>,
    jobs: mpsc::Receiver<GraphJob>,
    stop: CancellationToken,
) {
    paced(jobs, stop, move |job| {
        let workers = workers.clone();
        async move {
            let key = job.card_key.clone();
            // Cards first: a burst's graphs wait (bounded) until the pipeline is quiet.
            let quiet_by = tokio::time::Instant::now() + QUIET_WAIT;
            while workers.keeper.delivering() && tokio::time::Instant::now() < quiet_by {
                tokio::time::sleep(QUIET_POLL).await;
            }
            match tokio::time::timeout(JOB_TIMEOUT, workers.draw(job)).await {
                Ok(Ok(())) => {}
                Ok(Err(cause)) => {
                    warn!(card = %key, error = %cause, "The card's metric graph failed; the card stays without it.")
                }
                Err(_) => {
                    warn!(card = %key, timeout = ?JOB_TIMEOUT, "The card's metric graph took too long; the card stays without it.")
                }
            }
        }
    })
    .await;
}

/// Starts `work(job)` for each of `jobs` as a task: at most [`WORKERS`] running at once, and
/// starts at least [`GRAPH_INTERVAL`] apart. Running work is aborted at `stop`.
async fn paced<T, W, F>(mut jobs: mpsc::Receiver<T>, stop: CancellationToken, work: W)
where
    T: Send + 'static,
    W: Fn(T) -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(WORKERS));
    let mut running = tokio::task::JoinSet::new();
    let mut pace = tokio::time::interval(GRAPH_INTERVAL);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = pace.tick() => {}
        }
        let slot = tokio::select! {
            _ = stop.cancelled() => break,
            slot = slots.clone().acquire_owned() => match slot { Ok(slot) => slot, Err(_) => break },
        };
        let job = tokio::select! {
            _ = stop.cancelled() => break,
            job = jobs.recv() => match job { Some(job) => job, None => break },
        };
        while running.try_join_next().is_some() {}
        let task = work(job);
        running.spawn(async move {
            let _slot = slot;
            task.await;
        });
    }
    running.abort_all();
}

/// Why a graph failed (one warning says it).
#[derive(Debug, thiserror::Error)]
enum GraphFailure {
    #[error("{0}")]
    Render(GraphError),
    #[error("uploading the graph to Slack failed: {0}")]
    Upload(String),
    #[error("showing the graph failed: {0:#}")]
    Show(anyhow::Error),
}

impl GraphWorkers {
    /// Render, upload, show (or post in the thread). `Ok` also when there was nothing to do.
    async fn draw(&self, job: GraphJob) -> Result<(), GraphFailure> {
        if self.denied.load(Ordering::Relaxed) {
            return Ok(());
        }
        let png = match self.graphs.render(&job.request).await {
            Ok(png) => png,
            Err(GraphError::AccessDenied { detail }) => {
                if !self.denied.swap(true, Ordering::Relaxed) {
                    warn!(card = %job.card_key, action = GRAPH_ACTION, detail, "CloudWatch refused the metric graph: add {GRAPH_ACTION} to the bot's role. No more graphs until the bot restarts.");
                }
                return Ok(());
            }
            Err(error) => return Err(GraphFailure::Render(error)),
        };
        let file_id = self.upload(&job, &png, None).await?;
        for wait in std::iter::once(Duration::ZERO).chain(SHOW_RETRIES) {
            tokio::time::sleep(wait).await;
            match self
                .keeper
                .show_graph(&job, &file_id)
                .await
                .map_err(GraphFailure::Show)?
            {
                GraphShown::Shown => return Ok(()),
                GraphShown::Stale => {
                    debug!(card = %job.card_key, "The card moved on before its graph was ready.");
                    return Ok(());
                }
                GraphShown::Refused(code) => {
                    debug!(card = %job.card_key, code, "Slack refused the graph on the card.");
                }
            }
        }
        let thread = MessageTs(job.root_ts.clone());
        self.upload(&job, &png, Some(&thread)).await?;
        Ok(())
    }

    /// Uploads the PNG: unshared (for the card's image block), or into the card's thread.
    async fn upload(
        &self,
        job: &GraphJob,
        png: &Png,
        thread: Option<&MessageTs>,
    ) -> Result<String, GraphFailure> {
        let comment = format!("📈 {} ({}): the last 3 hours", job.alarm_name, job.state);
        let upload = FileUpload {
            channel: thread.map(|_| ChannelId(job.channel.clone())),
            thread: thread.cloned(),
            filename: file_name(&job.alarm_name, &job.state),
            title: format!("{} ({})", job.alarm_name, job.state),
            initial_comment: thread.map(|_| Mrkdwn::escaped(&comment).as_str().to_owned()),
            alt_text: Some(format!("Metric graph of {}", job.alarm_name)),
            bytes: png.0.clone(),
        };
        self.slack
            .upload_file(&upload)
            .await
            .map(|uploaded| uploaded.id.0)
            .map_err(|error| GraphFailure::Upload(error.to_string()))
    }
}

/// `<alarm name>-<state>.png`, with anything but letters, digits, `-`, `_` and `.` made `_`.
fn file_name(alarm: &str, state: &str) -> String {
    let safe: String = alarm
        .chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-{}.png", state.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(key: &str) -> GraphJob {
        GraphJob {
            card_key: key.to_owned(),
            channel: "C1".into(),
            root_ts: "1.2".into(),
            for_change: SystemTime::UNIX_EPOCH,
            state: "ALARM".into(),
            alarm_name: "cpu".into(),
            request: GraphRequest {
                metric_widget: "{}".into(),
            },
        }
    }

    #[test]
    fn a_full_queue_drops_new_graphs_without_waiting() {
        let (queue, mut jobs) = GraphQueue::new(None);
        for i in 0..QUEUE_CAPACITY + 5 {
            queue.offer(job(&format!("k{i}")));
        }
        assert_eq!(queue.dropped.load(Ordering::Relaxed), 5);
        let mut queued = 0;
        while let Ok(job) = jobs.try_recv() {
            assert_eq!(
                job.card_key,
                format!("k{queued}"),
                "the first ones are kept, in order"
            );
            queued += 1;
        }
        assert_eq!(queued, QUEUE_CAPACITY);
        drop(jobs);
        queue.offer(job("after the workers stopped")); // neither blocks nor panics
    }

    /// When each job started and ended, for `count` jobs that each take `takes`.
    async fn pace_of(count: usize, takes: Duration) -> Vec<(Duration, Duration)> {
        let (send, jobs) = mpsc::channel(count);
        for i in 0..count {
            send.try_send(i).unwrap();
        }
        let t0 = tokio::time::Instant::now();
        let (done, mut finished) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let drain = tokio::spawn(paced(jobs, stop.clone(), move |_| {
            let done = done.clone();
            async move {
                let start = t0.elapsed();
                tokio::time::sleep(takes).await;
                let _ = done.send((start, t0.elapsed()));
            }
        }));
        let mut spans = Vec::new();
        while spans.len() < count {
            spans.push(finished.recv().await.expect("every job ends"));
        }
        stop.cancel();
        drain.await.unwrap();
        drop(send);
        spans.sort();
        spans
    }

    #[tokio::test(start_paused = true)]
    async fn quick_graphs_start_no_faster_than_ten_a_second() {
        let spans = pace_of(30, Duration::from_millis(1)).await;
        for pair in spans.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap >= GRAPH_INTERVAL, "started {gap:?} apart: {spans:?}");
        }
        let last = spans.last().unwrap().0;
        assert!(
            last >= GRAPH_INTERVAL * 29 && last < GRAPH_INTERVAL * 31,
            "30 starts over {last:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_graphs_run_at_most_four_at_once() {
        let takes = Duration::from_secs(2);
        let spans = pace_of(12, takes).await;
        for (start, _) in &spans {
            let running = spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count();
            assert!(
                running <= WORKERS,
                "{running} running at {start:?}: {spans:?}"
            );
        }
        // Three rounds of four: the fifth waits for the first to end.
        assert!(spans[WORKERS].0 >= spans[0].1, "{spans:?}");
        assert!(spans.last().unwrap().1 >= takes * 3, "{spans:?}");
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_name("api 5xx/rate", "ALARM"), "api_5xx_rate-alarm.png");
    }
}

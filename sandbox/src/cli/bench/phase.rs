//! One measured phase: send N `app_mention` envelopes over one connection (paced or all at once),
//! wait for every ack, and read latencies, throughput and the subject's CPU time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::subject::Subject;
use crate::slack::{envelopes, ConnId, Envelope, FakeSlack, Target};

/// The mention the bot answers with a threaded help message (parse, dedupe, chat.postMessage).
pub const MENTION_TEXT: &str = "<@U0BOT> help";
const CHANNEL: &str = "C0BENCH";
const USER: &str = "U0BENCH";
/// A bot id that is not ours, so the bot ignores its messages.
const OTHER_BOT: &str = "B0OTHER";
/// Longest wait for the subject to go idle after the last ack.
const SETTLE_LIMIT: Duration = Duration::from_secs(20);
/// A send this far behind its scheduled time counts as late.
const LATE_AFTER: Duration = Duration::from_millis(1);

/// What every envelope of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `app_mention` of `<@U0BOT> help`: the bot acks, parses, dedupes and replies in a thread.
    Mention,
    /// Another integration's `bot_message`: the bot acks, parses and drops it (the ack path alone).
    Ignored,
}

impl Workload {
    fn envelope(self) -> Envelope {
        match self {
            Workload::Mention => envelopes::app_mention(CHANNEL, USER, MENTION_TEXT),
            Workload::Ignored => envelopes::bot_message(CHANNEL, OTHER_BOT, "deploy finished"),
        }
    }
}

/// How the envelopes are offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Envelope `i` is sent at `start + i / rate` (absolute schedule).
    Rate(f64),
    /// As fast as the fake accepts them.
    Burst,
}

/// How well the sender kept to its schedule.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendStats {
    /// Envelopes per second actually offered (first to last send).
    pub offered_per_sec: f64,
    /// Largest delay of a send behind its scheduled time (paced only).
    pub max_lag: Duration,
    /// Sends more than `LATE_AFTER` behind schedule (paced only).
    pub late_sends: usize,
}

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// Ack latency percentiles as the fake measured them (frame write to ack read).
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
    /// Envelopes / (last ack − first send).
    pub acks_per_sec: f64,
    /// The subject's CPU time from the first send until it went idle after the last ack.
    pub cpu: Duration,
    /// Whether the subject went idle within `SETTLE_LIMIT` after the last ack.
    pub settled: bool,
    /// Sender behaviour.
    pub send: SendStats,
    /// `chat.postMessage` calls the subject made during the phase (the handler's replies).
    pub replies: usize,
    /// From the last ack to the last reply: how far the handlers trailed the acks.
    pub replies_trail: Duration,
    /// The subject's VmHWM (peak RSS so far, KiB) once the phase's work is done.
    pub peak_rss_kib: u64,
}

/// Runs one phase of `count` envelopes against `subject`, connected to `fake` as `conn`.
pub async fn run_phase(
    fake: &Arc<FakeSlack>,
    conn: ConnId,
    subject: &Subject,
    count: usize,
    workload: Workload,
    pace: Pace,
    ack_timeout: Duration,
) -> anyhow::Result<PhaseResult> {
    let batch: Vec<Envelope> = (0..count).map(|_| workload.envelope()).collect();
    let acks_before = fake.ack_count();
    let replies_before = fake.calls_to("chat.postMessage").len();
    let cpu_before = subject.cpu_time()?;
    let started = Instant::now();
    let send = match pace {
        Pace::Rate(rate) => send_paced(fake, conn, batch, rate, started).await?,
        Pace::Burst => send_burst(fake, conn, batch, started).await?,
    };
    fake.wait_for_acks(acks_before + count, ack_timeout)
        .await
        .with_context(|| format!("waiting for {count} acks from {}", subject.pid()))?;
    let acks = fake.acks();
    let phase_acks = acks.get(acks_before..).unwrap_or_default();
    let mut latencies: Vec<Duration> = phase_acks.iter().filter_map(|a| a.latency).collect();
    if latencies.len() < count {
        bail!(
            "only {} of {count} acks matched a sent envelope",
            latencies.len()
        );
    }
    latencies.sort_unstable();
    let last_ack = phase_acks
        .iter()
        .map(|a| a.received_at)
        .max()
        .context("no acks")?;
    let (cpu_after, settled) = subject.settle(SETTLE_LIMIT).await?;
    let posts = fake.calls_to("chat.postMessage");
    let phase_posts = posts.get(replies_before..).unwrap_or_default();
    let replies = phase_posts.len();
    let replies_trail = phase_posts
        .iter()
        .map(|c| c.at.saturating_duration_since(last_ack))
        .max()
        .unwrap_or_default();
    let elapsed = last_ack.saturating_duration_since(started).as_secs_f64();
    Ok(PhaseResult {
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        acks_per_sec: count as f64 / elapsed.max(1e-9),
        cpu: cpu_after.saturating_sub(cpu_before),
        settled,
        send,
        replies,
        replies_trail,
        peak_rss_kib: subject.peak_rss_kib()?,
    })
}

/// Sends on a plain thread: `std::thread::sleep` is far finer than Tokio's 1 ms timer.
async fn send_paced(
    fake: &Arc<FakeSlack>,
    conn: ConnId,
    batch: Vec<Envelope>,
    rate: f64,
    started: Instant,
) -> anyhow::Result<SendStats> {
    if !(rate.is_finite() && rate > 0.0) {
        bail!("the rate must be a positive number, got {rate}");
    }
    let fake = Arc::clone(fake);
    let runtime = tokio::runtime::Handle::current();
    let count = batch.len();
    tokio::task::spawn_blocking(move || -> anyhow::Result<SendStats> {
        let mut stats = SendStats::default();
        let mut last_send = started;
        for (i, envelope) in batch.into_iter().enumerate() {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if now < due {
                std::thread::sleep(due - now);
            }
            last_send = Instant::now();
            let lag = last_send.saturating_duration_since(due);
            stats.max_lag = stats.max_lag.max(lag);
            if lag > LATE_AFTER {
                stats.late_sends += 1;
            }
            runtime.block_on(fake.send(Target::Conn(conn), envelope))?;
        }
        stats.offered_per_sec = offered_rate(count, started, last_send);
        Ok(stats)
    })
    .await
    .context("the paced sender thread failed")?
}

async fn send_burst(
    fake: &FakeSlack,
    conn: ConnId,
    batch: Vec<Envelope>,
    started: Instant,
) -> anyhow::Result<SendStats> {
    let count = batch.len();
    for envelope in batch {
        fake.send(Target::Conn(conn), envelope).await?;
    }
    Ok(SendStats {
        offered_per_sec: offered_rate(count, started, Instant::now()),
        ..SendStats::default()
    })
}

fn offered_rate(count: usize, first: Instant, last: Instant) -> f64 {
    let span = last.saturating_duration_since(first).as_secs_f64();
    if count < 2 || span <= 0.0 {
        return f64::INFINITY;
    }
    (count - 1) as f64 / span
}

/// Nearest-rank percentile of sorted values (`q` in 0..=1).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&values, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&values[..1], 0.99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}

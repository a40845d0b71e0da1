//! One measured phase: offer N distinct alarms (paced, or pre-loaded and made visible at once),
//! wait until every message is deleted, and trace each `chat.postMessage` back to its message.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use anyhow::{bail, Context};
use tokio::time::Instant;

use super::subject::Subject;
use super::workload::{alarm_name, cloudwatch_alarm, key_in, subject, Batch};
use crate::aws::{notification_body, FakeSqs};
use crate::cli::bench::phase::{percentile, SendStats};
use crate::slack::FakeSlack;

/// Longest wait for the subject to go idle after the last deletion.
const SETTLE_LIMIT: Duration = Duration::from_secs(20);
/// How often the queue is checked for being drained.
const DRAIN_POLL: Duration = Duration::from_millis(10);
/// A send this far behind its scheduled time counts as late.
const LATE_AFTER: Duration = Duration::from_millis(1);
/// Pre-loaded burst messages become visible this long after loading starts, plus `BURST_LEAD_PER_ALARM` each.
const BURST_LEAD: Duration = Duration::from_secs(1);
const BURST_LEAD_PER_ALARM: Duration = Duration::from_micros(100);

/// The fakes, the queue and the subject a phase works with.
pub struct Rig<'a> {
    pub slack: &'a FakeSlack,
    pub sqs: &'a Arc<FakeSqs>,
    pub queue_url: &'a str,
    pub subject: &'a Subject,
    /// Longest wait for the queue to drain.
    pub timeout: Duration,
}

/// What one phase measured.
#[derive(Debug, Clone, Default)]
pub struct PhaseResult {
    /// Message visible in SQS → its `chat.postMessage` arrived at the fake Slack.
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Message visible → handed out by ReceiveMessage (the SQS part of the above).
    pub receive_p50: Duration,
    pub receive_p99: Duration,
    /// Alarms / (first visible → last deleted).
    pub alarms_per_sec: f64,
    /// The subject's CPU time from before the first message until it went idle after the last.
    pub cpu: Duration,
    /// Whether the subject went idle within `SETTLE_LIMIT` after the last deletion.
    pub settled: bool,
    /// Sender behaviour (paced only).
    pub send: SendStats,
    /// `chat.postMessage` calls during the phase (one per alarm unless something was repeated).
    pub posts: usize,
    /// The phase's alarms with more than one successful `chat.postMessage`: shown twice.
    pub shown_twice: usize,
    /// The subject's VmHWM (KiB) once the phase's work is done.
    pub peak_rss_kib: u64,
    /// ReceiveMessage calls that handed out at least one of the phase's messages.
    pub receives: usize,
}

/// One alarm as offered: its name, and the SNS subject and message.
struct Offer {
    name: String,
    subject: String,
    message: String,
}

fn offers(batch: Batch, count: usize) -> Vec<Offer> {
    (0..count)
        .map(|i| {
            let name = alarm_name(batch, i);
            Offer {
                subject: subject(&name),
                message: cloudwatch_alarm(&name),
                name,
            }
        })
        .collect()
}

/// Publishes `count` alarms unmeasured and waits until they are all handled (fills connection
/// pools and caches the way a running consumer has them).
pub async fn warm_up(rig: &Rig<'_>, count: usize) -> anyhow::Result<()> {
    for offer in offers(Batch::Warmup, count) {
        rig.sqs.publish_sns(
            rig.queue_url,
            Some(&offer.subject),
            &offer.message,
            BTreeMap::new(),
            false,
        )?;
    }
    drain(rig).await.context("warm-up")?;
    Ok(())
}

/// Offers `count` alarms at `rate` per second on an absolute schedule (from a plain thread, as
/// `std::thread::sleep` is finer than Tokio's timer).
pub async fn run_paced(rig: &Rig<'_>, count: usize, rate: f64) -> anyhow::Result<PhaseResult> {
    if !(rate.is_finite() && rate > 0.0) {
        bail!("the rate must be a positive number, got {rate}");
    }
    let offers = offers(Batch::Paced, count);
    let names: Vec<String> = offers.iter().map(|o| o.name.clone()).collect();
    let posts_before = rig.slack.calls_to("chat.postMessage").len();
    let cpu_before = rig.subject.cpu_time()?;
    let sqs = Arc::clone(rig.sqs);
    let queue = rig.queue_url.to_string();
    let (send, ids) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let started = StdInstant::now();
        let mut stats = SendStats::default();
        let mut ids = Vec::with_capacity(offers.len());
        let mut last_send = started;
        for (i, offer) in offers.iter().enumerate() {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            let now = StdInstant::now();
            if now < due {
                std::thread::sleep(due - now);
            }
            last_send = StdInstant::now();
            let lag = last_send.saturating_duration_since(due);
            stats.max_lag = stats.max_lag.max(lag);
            if lag > LATE_AFTER {
                stats.late_sends += 1;
            }
            let delivery = sqs.publish_sns(
                &queue,
                Some(&offer.subject),
                &offer.message,
                BTreeMap::new(),
                false,
            )?;
            ids.push(delivery.sqs_message_id);
        }
        let span = last_send.saturating_duration_since(started).as_secs_f64();
        stats.offered_per_sec = if ids.len() > 1 && span > 0.0 {
            (ids.len() - 1) as f64 / span
        } else {
            f64::INFINITY
        };
        Ok((stats, ids))
    })
    .await
    .context("the paced sender thread failed")??;
    drain(rig).await.context("paced phase")?;
    let mut result = measured(rig, &names, &ids, posts_before, cpu_before).await?;
    result.send = send;
    Ok(result)
}

/// Pre-loads `count` alarms, all hidden until one instant, while the subject idles in its long
/// polls; then measures from that instant until the last one is deleted.
pub async fn run_burst(rig: &Rig<'_>, count: usize) -> anyhow::Result<PhaseResult> {
    let offers = offers(Batch::Burst, count);
    let names: Vec<String> = offers.iter().map(|o| o.name.clone()).collect();
    let bodies: Vec<String> = offers
        .iter()
        .map(|o| notification_body(Some(&o.subject), &o.message))
        .collect();
    let posts_before = rig.slack.calls_to("chat.postMessage").len();
    let cpu_before = rig.subject.cpu_time()?;
    let lead = BURST_LEAD + BURST_LEAD_PER_ALARM * u32::try_from(count).unwrap_or(u32::MAX);
    let visible_at = Instant::now() + lead;
    let sqs = Arc::clone(rig.sqs);
    let queue = rig.queue_url.to_string();
    let ids =
        tokio::task::spawn_blocking(move || sqs.send_batch_visible_at(&queue, bodies, visible_at))
            .await
            .context("the burst loader thread failed")??;
    if Instant::now() >= visible_at {
        bail!("pre-loading {count} alarms took longer than the {lead:?} lead; the burst would start early");
    }
    tokio::time::sleep_until(visible_at).await;
    drain(rig).await.context("burst phase")?;
    measured(rig, &names, &ids, posts_before, cpu_before).await
}

/// Waits until nothing is visible or in flight in the queue any more (bounded by `rig.timeout`).
pub async fn drain(rig: &Rig<'_>) -> anyhow::Result<()> {
    let deadline = Instant::now() + rig.timeout;
    loop {
        let left = rig.sqs.visible(rig.queue_url)? + rig.sqs.in_flight(rig.queue_url)?;
        if left == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{left} messages still in the queue after {:?}", rig.timeout);
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

/// Settles the subject, then reads the fakes' records for the phase's messages.
async fn measured(
    rig: &Rig<'_>,
    names: &[String],
    ids: &[String],
    posts_before: usize,
    cpu_before: Duration,
) -> anyhow::Result<PhaseResult> {
    let (cpu_after, settled) = rig.subject.settle(SETTLE_LIMIT).await?;
    let mut visible = Vec::with_capacity(ids.len());
    let mut received = Vec::with_capacity(ids.len());
    let mut last_deleted: Option<Instant> = None;
    for id in ids {
        let history = rig
            .sqs
            .message_history(id)
            .with_context(|| format!("no history of message {id}"))?;
        let shown = *history.visible_at.first().context("never visible")?;
        let deleted = history
            .deleted_at
            .with_context(|| format!("message {id} was not deleted"))?;
        let first_receive = history.receives.first().context("never received")?;
        visible.push(shown);
        received.push(first_receive.received_at.saturating_duration_since(shown));
        last_deleted = Some(last_deleted.map_or(deleted, |last| last.max(deleted)));
    }
    let first_visible = visible.iter().min().copied().context("no messages")?;
    let span = last_deleted
        .context("no messages")?
        .saturating_duration_since(first_visible);
    let latencies = post_latencies(rig.slack, names, ids, &visible, posts_before)?;
    received.sort_unstable();
    Ok(PhaseResult {
        p50: percentile(&latencies.sorted, 0.50),
        p99: percentile(&latencies.sorted, 0.99),
        max: latencies.sorted.last().copied().unwrap_or_default(),
        receive_p50: percentile(&received, 0.50),
        receive_p99: percentile(&received, 0.99),
        alarms_per_sec: ids.len() as f64 / span.as_secs_f64().max(1e-9),
        cpu: cpu_after.saturating_sub(cpu_before),
        settled,
        send: SendStats::default(),
        posts: latencies.posts,
        shown_twice: latencies.shown_twice,
        peak_rss_kib: rig.subject.peak_rss_kib()?,
        receives: receives_since(rig, first_visible),
    })
}

/// ReceiveMessage calls answered with messages since `since` (the phase's first visible message).
fn receives_since(rig: &Rig<'_>, since: Instant) -> usize {
    rig.sqs
        .calls_to("ReceiveMessage")
        .iter()
        .filter(|call| call.answered_at >= since && !call.message_ids.is_empty())
        .count()
}

struct PostLatencies {
    /// Visible → first post, per message, sorted.
    sorted: Vec<Duration>,
    /// Every `chat.postMessage` of the phase.
    posts: usize,
    /// Alarms with more than one successful post.
    shown_twice: usize,
}

/// Matches each post since `posts_before` to its message (by alarm name or message id).
fn post_latencies(
    slack: &FakeSlack,
    names: &[String],
    ids: &[String],
    visible: &[Instant],
    posts_before: usize,
) -> anyhow::Result<PostLatencies> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(2 * ids.len());
    for (i, (name, id)) in names.iter().zip(ids).enumerate() {
        index.insert(name.as_str(), i);
        index.insert(id.as_str(), i);
    }
    let calls = slack.calls_to("chat.postMessage");
    let phase_calls = calls.get(posts_before..).unwrap_or_default();
    let mut first_post: Vec<Option<StdInstant>> = vec![None; ids.len()];
    let mut shown: Vec<u32> = vec![0; ids.len()];
    for call in phase_calls {
        let Some(i) = call
            .param_str("text")
            .and_then(key_in)
            .and_then(|k| index.get(k))
        else {
            continue;
        };
        let slot = &mut first_post[*i];
        *slot = Some(slot.map_or(call.at, |t| t.min(call.at)));
        if call.status == 200 && call.response["ok"] == true {
            shown[*i] += 1;
        }
    }
    let mut sorted = Vec::with_capacity(ids.len());
    for (i, posted) in first_post.iter().enumerate() {
        let posted = posted.with_context(|| format!("no chat.postMessage for {}", names[i]))?;
        sorted.push(posted.saturating_duration_since(visible[i].into_std()));
    }
    sorted.sort_unstable();
    Ok(PostLatencies {
        sorted,
        posts: phase_calls.len(),
        shown_twice: shown.iter().filter(|n| **n > 1).count(),
    })
}

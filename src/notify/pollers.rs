//! The receive loops around `Consumer`: keep receiving while earlier batches are handled (up to
//! `max_in_flight` messages), one long poll while the queue is quiet and more while it has a
//! backlog, and a paced pause after a partial batch so that a steady trickle fills receives.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::{error, info};

use super::consumer::{Consumer, StopSignals, Taken};
use super::queue::QueueMessage;
use super::receive_pace::ReceivePace;

/// How the receive loops share the queue (from `[alarms]`).
#[derive(Clone, Debug)]
pub struct PollerSettings {
    /// Most receive loops at once (`alarms.pollers`). The first always polls; the others join
    /// while receives come back full, and leave when one comes back partial.
    pub pollers: usize,
    /// Most messages received and not yet finished, over all loops (`alarms.max_in_flight`).
    /// A loop receives only when a whole batch fits.
    pub max_in_flight: usize,
    /// Longest pause after a receive that returned some messages but not a full batch, before
    /// the next receive (`alarms.receive_linger`). Each loop paces its pause to the rate it sees
    /// (`ReceivePace`), so that a steady trickle shares one receive, delete and commit between
    /// about nine alarms instead of paying for each. It delays an alarm by at most this long.
    /// Zero receives again at once.
    pub linger: Duration,
}

/// What the loops share.
struct Shared {
    consumer: Arc<Consumer>,
    settings: PollerSettings,
    in_flight: Arc<Semaphore>,
    /// True while receives come back full: the standby loops poll too.
    backlog: watch::Sender<bool>,
}

/// Start `settings.pollers` receive loops in `tasks`. Each ends after `signals.stop` once the
/// batches it took are finished (or abandoned and handed back, as `StopSignals` says).
pub fn spawn(
    consumer: Arc<Consumer>,
    settings: PollerSettings,
    signals: &StopSignals,
    tasks: &mut JoinSet<()>,
) {
    let max_in_flight = settings.max_in_flight.max(consumer.batch_size());
    let shared = Arc::new(Shared {
        consumer,
        in_flight: Arc::new(Semaphore::new(max_in_flight)),
        backlog: watch::channel(false).0,
        settings,
    });
    for index in 0..shared.settings.pollers.max(1) {
        tasks.spawn(run(shared.clone(), index, signals.clone()));
    }
}

/// One receive loop. Loop 0 always polls; the others wait for a backlog.
async fn run(shared: Arc<Shared>, index: usize, signals: StopSignals) {
    let mut batches = JoinSet::new();
    let mut failures = 0u32;
    let mut backlog = shared.backlog.subscribe();
    let mut pace = ReceivePace::new(shared.settings.linger);
    while !signals.stop.is_cancelled() {
        reap(&mut batches);
        if index > 0 {
            tokio::select! {
                waited = backlog.wait_for(|busy| *busy) => if waited.is_err() { break },
                _ = signals.stop.cancelled() => break,
            }
        }
        let Some(permit) = room_for_a_batch(&shared, &signals).await else {
            break;
        };
        match shared.consumer.take(&signals).await {
            Ok(Taken::Batch(batch)) => {
                failures = 0;
                let received = batch.len();
                let now = tokio::time::Instant::now().into_std();
                let next = pace.after_receive(received, shared.consumer.batch_size(), now);
                shared
                    .backlog
                    .send_if_modified(|busy| std::mem::replace(busy, next.backlog) != next.backlog);
                if received > 0 {
                    handle_in_background(&shared, &mut batches, batch, permit, &signals);
                }
                if !next.pause.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(next.pause) => {}
                        _ = signals.stop.cancelled() => break,
                    }
                }
            }
            Ok(Taken::Stopping(_)) => break,
            Err(e) => {
                failures += 1;
                let delay = Duration::from_millis(500 * 2u64.pow(failures.min(6)))
                    .min(Duration::from_secs(30));
                error!(
                    error = format!("{:#}", anyhow::Error::new(e)),
                    ?delay,
                    "Receiving from SQS failed; retrying."
                );
                tokio::select! {
                    _ = signals.stop.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    // The batches already taken are finished, or abandoned and handed back at the grace's end.
    while let Some(joined) = batches.join_next().await {
        log_panic(joined);
    }
    if index == 0 {
        info!("SQS consumer stopped.");
    }
}

/// Wait until a whole batch fits in `max_in_flight`; `None` if the bot stops first.
async fn room_for_a_batch(shared: &Shared, signals: &StopSignals) -> Option<OwnedSemaphorePermit> {
    let batch = u32::try_from(shared.consumer.batch_size()).unwrap_or(10);
    tokio::select! {
        permit = shared.in_flight.clone().acquire_many_owned(batch) => permit.ok(),
        _ = signals.stop.cancelled() => None,
    }
}

/// Handle `batch` in a task of its own, holding one in-flight permit per message until done.
fn handle_in_background(
    shared: &Arc<Shared>,
    batches: &mut JoinSet<()>,
    batch: Vec<QueueMessage>,
    mut permit: OwnedSemaphorePermit,
    signals: &StopSignals,
) {
    let unused = permit.num_permits().saturating_sub(batch.len());
    drop(permit.split(unused));
    let consumer = shared.consumer.clone();
    let signals = signals.clone();
    batches.spawn(async move {
        let _permit = permit;
        consumer.handle(batch, &signals).await;
    });
}

/// Collect the batches that finished, so the set does not grow.
fn reap(batches: &mut JoinSet<()>) {
    while let Some(joined) = batches.try_join_next() {
        log_panic(joined);
    }
}

fn log_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        error!(error = %e, "Handling a batch of notifications panicked; its messages come back after the visibility timeout.");
    }
}

//! Group commit: requests queued while a batch is being written go into the next batch together.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use tokio::sync::oneshot;

type Reply<R> = oneshot::Sender<anyhow::Result<R>>;

/// A writer thread that applies requests in batches: whatever queued up while the previous batch
/// ran (at most `max_batch`) goes into one call of `apply`, so a burst costs one commit per batch
/// instead of one per request. Each submitter waits for its own answer.
///
/// How long a batch waits for more requests is its [`Gather`] policy.
pub struct Batcher<T, R> {
    requests: mpsc::Sender<(T, Reply<R>)>,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// `apply` answers a batch with one result per request, in order. The thread ends when the
    /// last `Batcher` handle is dropped.
    pub fn spawn(
        name: &str,
        max_batch: usize,
        gather: Gather,
        mut apply: impl FnMut(&[T]) -> anyhow::Result<Vec<R>> + Send + 'static,
    ) -> anyhow::Result<Self> {
        let (requests, queue) = mpsc::channel::<(T, Reply<R>)>();
        let max_batch = max_batch.max(1);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let batch = gather.collect(&queue, first, max_batch);
                    let (items, replies): (Vec<T>, Vec<Reply<R>>) = batch.into_iter().unzip();
                    match apply(&items) {
                        Ok(answers) if answers.len() == items.len() => {
                            for (reply, answer) in replies.into_iter().zip(answers) {
                                let _ = reply.send(Ok(answer));
                            }
                        }
                        Ok(answers) => {
                            let cause =
                                format!("a batch of {} got {} answers", items.len(), answers.len());
                            for reply in replies {
                                let _ = reply.send(Err(anyhow!("{cause}")));
                            }
                        }
                        Err(e) => {
                            let cause = format!("{e:#}");
                            for reply in replies {
                                let _ = reply.send(Err(anyhow!("{cause}")));
                            }
                        }
                    }
                }
            })
            .with_context(|| format!("Failed to start the {name} thread"))?;
        Ok(Self { requests })
    }

    /// Queue `item` and wait until its batch was applied.
    pub async fn submit(&self, item: T) -> anyhow::Result<R> {
        let (reply, answer) = oneshot::channel();
        let stopped = || anyhow!("the store's writer thread has stopped");
        self.requests.send((item, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// How long the writer naps between looks at the queue while it waits for pending requests.
const GATHER_NAP: Duration = Duration::from_micros(200);

/// How a batch is gathered once its first request arrived.
pub enum Gather {
    /// Take what is queued and go: lowest latency (the Socket Mode ledger, where a handler waits).
    Queued,
    /// Wait `linger` once after the first request, then take what is queued: for requests that
    /// arrive together but not at once (the claims of a received batch are submitted one after
    /// another within a few hundred µs; without the wait the first wakes the writer alone).
    Linger(Duration),
    /// Also wait for the requests `pending` says are on their way (work that has started and will
    /// submit soon), at most `linger` after the first. Every commit rewrites each page it touches
    /// in SQLite's WAL, so ten small commits cost several times one commit of ten. Work that never
    /// submits, or waits for this very batch (behind a lock its submitter holds), delays the batch
    /// by `linger` at most.
    Pending {
        pending: Arc<AtomicUsize>,
        linger: Duration,
    },
}

impl Gather {
    /// `first` and whatever else is queued, up to `max` requests, waiting as the policy says.
    fn collect<T>(&self, queue: &mpsc::Receiver<T>, first: T, max: usize) -> Vec<T> {
        let mut batch: Vec<T> = std::iter::once(first)
            .chain(queue.try_iter().take(max - 1))
            .collect();
        let (pending, linger) = match self {
            Self::Queued => return batch,
            Self::Linger(linger) => {
                std::thread::sleep(*linger);
                batch.extend(queue.try_iter().take(max - batch.len()));
                return batch;
            }
            Self::Pending { pending, linger } => (pending, linger),
        };
        // Naps rather than a blocking receive: a submitter then finds nobody to wake, so a batch
        // of N costs one thread wake-up instead of N.
        let deadline = Instant::now() + *linger;
        while batch.len() < pending.load(Ordering::Acquire).min(max) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(GATHER_NAP));
            batch.extend(queue.try_iter().take(max - batch.len()));
        }
        batch
    }
}

/// Counts work in progress for [`Gather::Pending`]: hold a [`PendingGuard`] from the start of a
/// piece of work until its request was answered.
#[derive(Clone, Default)]
pub struct PendingCount(Arc<AtomicUsize>);

/// One piece of work in progress; dropping it ends it.
pub struct PendingGuard(Arc<AtomicUsize>);

impl PendingCount {
    pub fn start(&self) -> PendingGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        PendingGuard(self.0.clone())
    }

    /// How many pieces of work are in progress now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// The gather policy that waits (at most `linger`) for the work in progress.
    pub fn gather(&self, linger: Duration) -> Gather {
        Gather::Pending {
            pending: self.0.clone(),
            linger,
        }
    }
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_batches_and_each_gets_its_own_answer() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Arc::new(
            Batcher::spawn(
                "test-batcher",
                64,
                Gather::Queued,
                move |items: &[u32]| {
                    seen.lock().unwrap().push(items.len());
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    Ok(items.iter().map(|i| i * 2).collect())
                },
            )
            .unwrap(),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..500u32 {
            let batcher = batcher.clone();
            tasks.spawn(async move { (i, batcher.submit(i).await.unwrap()) });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, doubled) = done.unwrap();
            assert_eq!(doubled, i * 2);
        }
        let sizes = sizes.lock().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 500);
        assert!(sizes.iter().all(|&n| n <= 64));
        assert!(sizes.len() < 500, "requests were batched: {sizes:?}");
    }

    /// A batcher that records its batch sizes, waiting for the `pending` work (up to `linger`).
    fn recording(
        pending: &PendingCount,
        linger: Duration,
    ) -> (Batcher<u32, ()>, Arc<Mutex<Vec<usize>>>) {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::spawn(
            "test-batcher",
            64,
            pending.gather(linger),
            move |items: &[u32]| {
                seen.lock().unwrap().push(items.len());
                Ok(vec![(); items.len()])
            },
        )
        .unwrap();
        (batcher, sizes)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pending_work_shares_one_batch_and_lone_work_does_not_wait() {
        let pending = PendingCount::default();
        let (batcher, sizes) = recording(&pending, Duration::from_secs(5));
        let batcher = Arc::new(batcher);
        // Three pieces of work start together and submit 20 ms apart: one batch of three.
        let guards: Vec<PendingGuard> = (0..3).map(|_| pending.start()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, guard) in guards.into_iter().enumerate() {
            let batcher = batcher.clone();
            tasks.spawn(async move {
                tokio::time::sleep(Duration::from_millis(20 * i as u64)).await;
                batcher.submit(i as u32).await.unwrap();
                drop(guard);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert_eq!(*sizes.lock().unwrap(), vec![3]);
        // Alone, a request is applied at once, far sooner than the 5 s linger.
        let started = Instant::now();
        let guard = pending.start();
        batcher.submit(9).await.unwrap();
        drop(guard);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(*sizes.lock().unwrap(), vec![3, 1]);
    }

    #[tokio::test]
    async fn work_that_never_submits_holds_a_batch_only_for_the_linger() {
        let pending = PendingCount::default();
        let (batcher, sizes) = recording(&pending, Duration::from_millis(50));
        let _stuck = pending.start();
        let guard = pending.start();
        let started = Instant::now();
        batcher.submit(1).await.unwrap();
        drop(guard);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        assert_eq!(*sizes.lock().unwrap(), vec![1]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_linger_gathers_the_requests_that_follow_the_first() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Arc::new(
            Batcher::spawn(
                "test-batcher",
                64,
                Gather::Linger(Duration::from_millis(200)),
                move |items: &[u32]| {
                    seen.lock().unwrap().push(items.len());
                    Ok(vec![(); items.len()])
                },
            )
            .unwrap(),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..5u32 {
            let batcher = batcher.clone();
            tasks.spawn(async move {
                tokio::time::sleep(Duration::from_millis(5 * u64::from(i))).await;
                batcher.submit(i).await.unwrap();
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert_eq!(
            *sizes.lock().unwrap(),
            vec![5],
            "one batch for five requests 5 ms apart"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_request_in_it() {
        let batcher = Batcher::spawn("test-batcher", 8, Gather::Queued, |_: &[u32]| {
            Err::<Vec<()>, _>(anyhow!("disk full"))
        })
        .unwrap();
        let error = batcher.submit(1).await.unwrap_err();
        assert!(format!("{error:#}").contains("disk full"));
    }
}

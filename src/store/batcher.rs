//! Group commit: requests queued while a batch is being written go into the next batch together.

use std::sync::mpsc;

use anyhow::{anyhow, Context};
use tokio::sync::oneshot;

type Reply<R> = oneshot::Sender<anyhow::Result<R>>;

/// A writer thread that applies requests in batches: whatever queued up while the previous batch
/// ran (at most `max_batch`) goes into one call of `apply`, so a burst costs one commit per batch
/// instead of one per request. Each submitter waits for its own answer.
pub struct Batcher<T, R> {
    requests: mpsc::Sender<(T, Reply<R>)>,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// `apply` answers a batch with one result per request, in order. The thread ends when the
    /// last `Batcher` handle is dropped.
    pub fn spawn(
        name: &str,
        max_batch: usize,
        mut apply: impl FnMut(&[T]) -> anyhow::Result<Vec<R>> + Send + 'static,
    ) -> anyhow::Result<Self> {
        let (requests, queue) = mpsc::channel::<(T, Reply<R>)>();
        let max_batch = max_batch.max(1);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let batch: Vec<(T, Reply<R>)> = std::iter::once(first)
                        .chain(queue.try_iter().take(max_batch - 1))
                        .collect();
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_batches_and_each_gets_its_own_answer() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Arc::new(
            Batcher::spawn("test-batcher", 64, move |items: &[u32]| {
                seen.lock().unwrap().push(items.len());
                std::thread::sleep(std::time::Duration::from_millis(2));
                Ok(items.iter().map(|i| i * 2).collect())
            })
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

    #[tokio::test]
    async fn a_failed_batch_fails_every_request_in_it() {
        let batcher = Batcher::spawn("test-batcher", 8, |_: &[u32]| {
            Err::<Vec<()>, _>(anyhow!("disk full"))
        })
        .unwrap();
        let error = batcher.submit(1).await.unwrap_err();
        assert!(format!("{error:#}").contains("disk full"));
    }
}

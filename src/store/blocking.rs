//! `Blocking<S>`: how async code reaches the store. Every call runs on Tokio's blocking pool, so a
//! SQLite call (or a wait for the writer's mutex behind a 256-delivery commit) never holds up an
//! async worker thread.
//!
//! The store traits (`Store`, `CardStore`, `DigestStore`) stay synchronous: they are called from
//! threads that may block (the group-commit threads of `batcher.rs`, the ledger's thread, and the
//! closures given to [`Blocking::run`] and [`unblock`]). Async code holds a `Blocking<S>`, never a bare store, so
//! the boundary is in the types. In debug builds the SQLite store also checks it at run time:
//! a call made on an async worker panics (`assert_may_block`), so a test that reaches one fails.

use std::cell::Cell;
use std::sync::Arc;

use anyhow::anyhow;

thread_local! {
    /// Set while a closure given to `Blocking::run` runs on the blocking pool.
    static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
}

/// A store that async code may use: each call is handed to the blocking pool and awaited.
pub struct Blocking<S: ?Sized> {
    store: Arc<S>,
}

impl<S: ?Sized> Clone for Blocking<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
        }
    }
}

impl<S: ?Sized + Send + Sync + 'static> Blocking<S> {
    pub fn new(store: Arc<S>) -> Self {
        Self { store }
    }

    /// Run `work` against the store on the blocking pool and wait for its result. Arguments are
    /// moved into the closure (it must be `'static`); keep one call per step, since each costs a
    /// hand-off to another thread.
    pub async fn run<R, F>(&self, work: F) -> anyhow::Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&S) -> anyhow::Result<R> + Send + 'static,
    {
        let store = self.store.clone();
        unblock(move || work(&store)).await
    }

    /// The store itself, for code that runs on a thread of its own and may block (a group-commit
    /// thread, a `spawn_blocking` task). Never call its methods from async code.
    pub fn for_blocking_thread(&self) -> Arc<S> {
        self.store.clone()
    }
}

/// Run blocking `work` (opening the store, pruning it) on the blocking pool and wait for it.
pub async fn unblock<R, F>(work: F) -> anyhow::Result<R>
where
    R: Send + 'static,
    F: FnOnce() -> anyhow::Result<R> + Send + 'static,
{
    let task = tokio::task::spawn_blocking(move || {
        let _allowed = MayBlock::set();
        work()
    });
    match task.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(anyhow!("A store call was cancelled: {e}")),
    }
}

/// Marks the current blocking-pool thread as allowed to block until dropped (even by a panic).
struct MayBlock;

impl MayBlock {
    fn set() -> Self {
        MAY_BLOCK.with(|may| may.set(true));
        MayBlock
    }
}

impl Drop for MayBlock {
    fn drop(&mut self) {
        MAY_BLOCK.with(|may| may.set(false));
    }
}

/// Panics (debug builds only) when called on an async worker thread: the store's entry points
/// call it, so a blocking SQLite call made from async code fails every test that reaches it.
/// Threads without a Tokio runtime (group-commit threads, `main` before the runtime, plain tests)
/// and closures run by [`Blocking::run`] or [`unblock`] pass.
pub(crate) fn assert_may_block() {
    if cfg!(debug_assertions)
        && !MAY_BLOCK.with(Cell::get)
        && tokio::runtime::Handle::try_current().is_ok()
    {
        panic!(
            "a blocking store call was made on an async worker thread; go through store::Blocking"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Probe;

    impl Probe {
        fn call(&self) -> anyhow::Result<std::thread::ThreadId> {
            assert_may_block();
            Ok(std::thread::current().id())
        }
    }

    #[tokio::test]
    async fn run_moves_the_call_off_the_async_thread() {
        let store = Blocking::new(Arc::new(Probe));
        let ran_on = store.run(|probe| probe.call()).await.unwrap();
        assert_ne!(ran_on, std::thread::current().id());
    }

    #[cfg(debug_assertions)]
    #[tokio::test]
    #[should_panic(expected = "go through store::Blocking")]
    async fn a_direct_call_from_async_code_panics_in_debug_builds() {
        Probe.call().unwrap();
    }

    #[test]
    fn threads_without_a_runtime_may_block() {
        Probe.call().unwrap();
    }
}

//! A local Confluence: Cloud's REST v2 and Data Center's REST v1 over loopback, with
//! Confluence's rules (auth, well-formed storage bodies, unique titles per space, each update the
//! next version) and faults on demand (429 with `Retry-After`, 5xx, 403 on writes, someone else
//! editing a page between a read and a write). Pages are kept, so tests read them back.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use chatops_sandbox::confluence::{FakeConfluence, WikiFault};
//! let wiki = FakeConfluence::start().await?;
//! wiki.add_space("OPS");
//! wiki.push_fault(WikiFault::throttled(1, 1));
//! // point [confluence] base_url at wiki.base_url(), user/api_token at wiki.user() and
//! // wiki.api_token() (cloud) or api_token at wiki.personal_access_token() (datacenter), then:
//! let page = wiki.page_titled("OPS", "[INCIDENT] x");
//! # let _ = page;
//! wiki.shutdown().await;
//! # Ok(()) }
//! ```

mod cloud_routes;
mod datacenter_routes;
mod pages;
mod record;
mod server;
mod shared;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use pages::{check_storage, FakePage};
pub use record::{WikiFault, WikiFlavor, WikiRequest};

use shared::{lock, Credentials, Shared};

/// How long `shutdown` waits for the server task before aborting it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// The account the fake accepts on Cloud routes, with [`FakeConfluence::api_token`].
pub const FAKE_USER: &str = "bot@example.com";
const FAKE_API_TOKEN: &str = "fake-cloud-api-token";
const FAKE_PERSONAL_ACCESS_TOKEN: &str = "fake-datacenter-pat";

/// A running fake Confluence on 127.0.0.1. Dropping it stops the server too; `shutdown` also
/// waits.
pub struct FakeConfluence {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl FakeConfluence {
    /// Binds 127.0.0.1 on a free port and starts serving, with no spaces yet.
    pub async fn start() -> anyhow::Result<FakeConfluence> {
        let (listener, addr) = crate::serve::bind_loopback("the fake Confluence", 0).await?;
        let credentials = Credentials {
            user: FAKE_USER.to_owned(),
            api_token: FAKE_API_TOKEN.to_owned(),
            personal_access_token: FAKE_PERSONAL_ACCESS_TOKEN.to_owned(),
        };
        let shared = Arc::new(Shared::new(addr, credentials));
        let app = server::router(Arc::clone(&shared));
        let task = crate::serve::until_stopped(
            "the fake Confluence",
            listener,
            app,
            shared.shutdown.subscribe(),
        );
        Ok(FakeConfluence {
            shared,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/wiki`, for `[confluence] base_url` (both flavours).
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    /// The listener address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The Cloud user (an email) the fake accepts.
    pub fn user(&self) -> String {
        lock(&self.shared.credentials).user.clone()
    }

    /// The Cloud API token the fake accepts with [`FakeConfluence::user`] (Basic auth).
    pub fn api_token(&self) -> String {
        lock(&self.shared.credentials).api_token.clone()
    }

    /// The Data Center personal access token the fake accepts (Bearer).
    pub fn personal_access_token(&self) -> String {
        lock(&self.shared.credentials).personal_access_token.clone()
    }

    /// From now on only `new` is the Cloud API token (a rotation): the old one gets 401.
    pub fn set_api_token(&self, new: &str) {
        lock(&self.shared.credentials).api_token = new.to_owned();
    }

    /// From now on only `new` is the Data Center personal access token: the old one gets 401.
    pub fn set_personal_access_token(&self, new: &str) {
        lock(&self.shared.credentials).personal_access_token = new.to_owned();
    }

    /// Adds a space (if new); returns its id (what Cloud's `spaceId` is).
    pub fn add_space(&self, key: &str) -> String {
        lock(&self.shared.store).add_space(key)
    }

    /// Queues a fault: the next `fault.times` requests get it instead of an answer.
    pub fn push_fault(&self, fault: WikiFault) {
        if fault.times > 0 {
            lock(&self.shared.switches).faults.push_back(fault);
        }
    }

    /// While on, every create and update answers 403 (the user may read but not write).
    pub fn deny_writes(&self, deny: bool) {
        lock(&self.shared.switches).deny_writes = deny;
    }

    /// The next `count` PUTs find their page edited by someone else just before (its version
    /// one higher than the client read), so they get 409 unless they read again.
    pub fn conflict_next_puts(&self, count: u32) {
        lock(&self.shared.switches).conflicting_puts += count;
    }

    /// Someone else edits page `id` now: its version goes up by one. `None` if there is none.
    pub fn edit_behind_the_bots_back(&self, id: &str) -> Option<u32> {
        lock(&self.shared.store).bump_version(id)
    }

    /// Creates a page directly, as a person would (no request recorded).
    pub fn seed_page(&self, space_key: &str, title: &str, body: &str) -> anyhow::Result<FakePage> {
        lock(&self.shared.store)
            .create(space_key, title, body, None)
            .map_err(|refusal| anyhow::anyhow!("seeding page {title:?}: {refusal:?}"))
    }

    /// Page `id`, as kept.
    pub fn page(&self, id: &str) -> Option<FakePage> {
        lock(&self.shared.store).page(id).cloned()
    }

    /// The page titled exactly `title` in `space_key`.
    pub fn page_titled(&self, space_key: &str, title: &str) -> Option<FakePage> {
        lock(&self.shared.store)
            .find(space_key, Some(title))
            .into_iter()
            .next()
    }

    /// Every page, oldest first.
    pub fn pages(&self) -> Vec<FakePage> {
        lock(&self.shared.store).pages()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<WikiRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Stops the listener. Waits a bounded time.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_WAIT, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeConfluence {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

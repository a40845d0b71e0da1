//! A local GitHub: the REST calls a deploy makes (repository_dispatch and workflow_dispatch with
//! GitHub's body rules, workflow runs with jobs and steps that advance on a timer, deployments
//! and their statuses, App installation tokens) over loopback, with GitHub's auth (a token, or an
//! App JWT checked RS256 against a fixed test key) and faults on demand (404, 422, rate limits,
//! a hang, a connection dropped after the work). Every request is recorded.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use chatops_sandbox::github::{FakeGitHub, FaultKind, GitHubFault};
//! let github = FakeGitHub::start().await?;
//! github.push_fault(GitHubFault::new("POST", "/repos/acme/app/dispatches", 1,
//!     FaultKind::TooManyRequests { retry_after_secs: Some(1) }));
//! // point [github] api_url at github.api_url(), owner/repo at github.owner()/repo(), and
//! // token at github.token() (or app_id, TEST_APP_PRIVATE_KEY and installation_id), then:
//! let runs = github.runs();
//! # let _ = runs;
//! github.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod deployments;
mod keys;
mod record;
mod repository;
mod routes;
mod runs;
mod server;
mod shared;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::task::JoinHandle;

pub use deployments::FakeDeployment;
pub use keys::{TEST_APP_PRIVATE_KEY, TEST_APP_PUBLIC_KEY, TEST_OTHER_PRIVATE_KEY};
pub use record::{AuthKind, FaultKind, GitHubFault, GitHubRequest};
pub use runs::{FakeRun, Phase, RunOutcome, RunTimings};

use repository::Access;
use shared::{Settings, Shared, State};

/// How long `shutdown` waits for the server task before aborting it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);
/// The run-name template of the example workflow.
pub const DEFAULT_RUN_NAME: &str = "Deploy {version} to {environment} [{request_id}]";
/// The repository the fake serves.
pub const FAKE_OWNER: &str = "acme";
pub const FAKE_REPO: &str = "app";
const FAKE_TOKEN: &str = "github_pat_fake_0123456789";
/// The fake App's client id and installation.
pub const FAKE_APP_ID: &str = "Iv23liFakeApp";
pub const FAKE_INSTALLATION_ID: u64 = 4242;
/// How long installation tokens last unless changed (GitHub's hour).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A running fake GitHub on 127.0.0.1. Dropping it stops the server too; `shutdown` also waits.
pub struct FakeGitHub {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// Binds 127.0.0.1 on a free port and serves `acme/app`, no runs yet.
    pub async fn start() -> anyhow::Result<FakeGitHub> {
        let (listener, addr) = crate::serve::bind_loopback("the fake GitHub", 0).await?;
        let settings = Settings {
            owner: FAKE_OWNER.to_owned(),
            repo: FAKE_REPO.to_owned(),
            token: FAKE_TOKEN.to_owned(),
            app_id: FAKE_APP_ID.to_owned(),
            installation_id: FAKE_INSTALLATION_ID,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            run_name: DEFAULT_RUN_NAME.to_owned(),
            omit_request_id: false,
            old_server: false,
            timings: RunTimings::default(),
            access: Access::default(),
        };
        let shared = Arc::new(Shared {
            addr,
            state: Mutex::new(State::new(settings)),
            shutdown: tokio::sync::watch::channel(false).0,
        });
        let app = server::router(Arc::clone(&shared));
        let task = crate::serve::until_stopped(
            "the fake GitHub",
            listener,
            app,
            shared.shutdown.subscribe(),
        );
        Ok(FakeGitHub {
            shared,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for `[github] api_url`.
    pub fn api_url(&self) -> String {
        self.shared.api_url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    pub fn owner(&self) -> String {
        self.shared.state().settings.owner.clone()
    }

    pub fn repo(&self) -> String {
        self.shared.state().settings.repo.clone()
    }

    /// The personal access token the fake accepts.
    pub fn token(&self) -> String {
        self.shared.state().settings.token.clone()
    }

    /// From now on only `new` is the personal access token (a rotation): the old one gets 401.
    pub fn set_token(&self, new: &str) {
        self.shared.state().settings.token = new.to_owned();
    }

    /// The App's id (`iss` of its JWTs) and installation id; its key is [`TEST_APP_PRIVATE_KEY`].
    pub fn app(&self) -> (String, u64) {
        let state = self.shared.state();
        (
            state.settings.app_id.clone(),
            state.settings.installation_id,
        )
    }

    /// How long installation tokens minted from now on are honoured.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.state().settings.token_lifetime = lifetime;
    }

    /// Every installation token minted so far stops being honoured (as if it expired).
    pub fn expire_installation_tokens(&self) {
        let now = Instant::now();
        for expires in self.shared.state().tokens.values_mut() {
            *expires = now;
        }
    }

    /// How many installation tokens were minted.
    pub fn token_mints(&self) -> u32 {
        self.shared.state().mints
    }

    /// The run-name template (`{version}`, `{environment}`, `{action}`, `{request_id}`).
    pub fn set_run_name(&self, template: &str) {
        self.shared.state().settings.run_name = template.to_owned();
    }

    /// While on, run names leave the request id out (so `find_run` cannot find them).
    pub fn omit_request_id(&self, omit: bool) {
        self.shared.state().settings.omit_request_id = omit;
    }

    /// While on, workflow_dispatch refuses `return_run_details` with 422, as older servers do.
    pub fn act_as_old_server(&self, old: bool) {
        self.shared.state().settings.old_server = old;
    }

    /// How long runs dispatched from now on stay queued and then run.
    pub fn set_run_timings(&self, timings: RunTimings) {
        self.shared.state().settings.timings = timings;
    }

    /// The next dispatched runs end as `outcomes` say, in order; later ones succeed.
    pub fn script_outcomes(&self, outcomes: &[RunOutcome]) {
        self.shared
            .state()
            .outcomes
            .extend(outcomes.iter().copied());
    }

    /// The primary rate limit: `remaining` requests left until `reset_in` from now, when the
    /// full hour's 5,000 come back. Past them GitHub answers 403 with `x-ratelimit-remaining: 0`.
    pub fn set_rate_limit(&self, remaining: u64, reset_in: Duration) {
        let mut state = self.shared.state();
        state.rate_remaining = remaining;
        state.rate_reset = OffsetDateTime::now_utc() + reset_in;
    }

    /// Queues a fault for the next requests it matches.
    pub fn push_fault(&self, fault: GitHubFault) {
        if fault.times > 0 {
            self.shared.state().faults.push(fault);
        }
    }

    /// Adds a deployment to `environment`'s history directly, with one status (`success`
    /// makes older successes `inactive`). Returns its id.
    pub fn seed_deployment(
        &self,
        environment: &str,
        version: Option<&str>,
        state: &str,
        created_at: OffsetDateTime,
    ) -> u64 {
        let mut shared = self.shared.state();
        let id = shared.next_id();
        shared.deployments.record(
            id,
            environment,
            version.map(str::to_owned),
            state,
            created_at,
        );
        id
    }

    /// Every run, oldest first, settled up to now.
    pub fn runs(&self) -> Vec<FakeRun> {
        let mut state = self.shared.state();
        state.settle(Instant::now());
        state.runs.clone()
    }

    /// Every deployment, oldest first, settled up to now.
    pub fn deployments(&self) -> Vec<FakeDeployment> {
        let mut state = self.shared.state();
        state.settle(Instant::now());
        state.deployments.all.clone()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<GitHubRequest> {
        self.shared.state().requests.clone()
    }

    /// Stops the listener (and any hung request). Waits a bounded time.
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

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

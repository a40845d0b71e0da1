//! The state the fake GitHub's HTTP handler and its control API share, behind one mutex.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::github::deployments::Deployments;
use crate::github::record::{GitHubFault, GitHubRequest};
use crate::github::repository::Access;
use crate::github::runs::{FakeRun, Phase, RunOutcome, RunTimings};

/// Most requests kept in the record (the oldest are dropped past it).
const MAX_RECORDS: usize = 10_000;
/// GitHub's primary rate limit for an authenticated caller, per hour.
pub(crate) const RATE_LIMIT: u64 = 5_000;
/// How long a primary rate-limit window lasts.
const RATE_WINDOW: Duration = Duration::from_secs(3600);

/// What the fake accepts and how it behaves; tests change it through `FakeGitHub`.
pub(crate) struct Settings {
    pub(crate) owner: String,
    pub(crate) repo: String,
    pub(crate) token: String,
    pub(crate) app_id: String,
    pub(crate) installation_id: u64,
    pub(crate) token_lifetime: Duration,
    pub(crate) run_name: String,
    pub(crate) omit_request_id: bool,
    pub(crate) old_server: bool,
    pub(crate) timings: RunTimings,
    /// What the credentials may do (`repository.rs`).
    pub(crate) access: Access,
}

pub(crate) struct State {
    pub(crate) settings: Settings,
    pub(crate) runs: Vec<FakeRun>,
    pub(crate) outcomes: VecDeque<RunOutcome>,
    pub(crate) deployments: Deployments,
    next_id: u64,
    /// Installation tokens minted, with when each stops being honoured.
    pub(crate) tokens: HashMap<String, Instant>,
    pub(crate) mints: u32,
    pub(crate) faults: Vec<GitHubFault>,
    pub(crate) requests: Vec<GitHubRequest>,
    pub(crate) rate_remaining: u64,
    /// When the primary rate-limit window resets (and `rate_remaining` is refilled).
    pub(crate) rate_reset: OffsetDateTime,
}

impl State {
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            settings,
            runs: Vec::new(),
            outcomes: VecDeque::new(),
            deployments: Deployments::default(),
            next_id: 1_000,
            tokens: HashMap::new(),
            mints: 0,
            faults: Vec::new(),
            requests: Vec::new(),
            rate_remaining: RATE_LIMIT,
            rate_reset: OffsetDateTime::now_utc() + RATE_WINDOW,
        }
    }

    /// A new id for a run or a deployment (GitHub's are large numbers too).
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `owner/repo`.
    pub(crate) fn repo(&self) -> String {
        format!("{}/{}", self.settings.owner, self.settings.repo)
    }

    /// Settles runs that completed by `now`: a successful one records its deployment with a
    /// `success` status (as the example workflow does).
    pub(crate) fn settle(&mut self, now: Instant) {
        let mut done = Vec::new();
        for run in &mut self.runs {
            if !run.settled && run.phase(now) == Phase::Completed {
                run.settled = true;
                if run.outcome == RunOutcome::Success {
                    // A workflow resolves `latest` to what it built and records that.
                    let version = if run.version == "latest" {
                        format!("v0.{}.0", run.id)
                    } else {
                        run.version.clone()
                    };
                    done.push((run.environment.clone(), version, run.completed_at()));
                }
            }
        }
        for (environment, version, at) in done {
            let id = self.next_id();
            self.deployments
                .record(id, &environment, Some(version), "success", at);
        }
    }

    /// Spends one request of the primary rate limit: `Ok` with what is left, or `Err` when none
    /// is left until the reset. Either way with the reset time in Unix seconds (rounded up).
    pub(crate) fn spend_rate_limit(&mut self) -> Result<(u64, i64), i64> {
        let now = OffsetDateTime::now_utc();
        if now >= self.rate_reset {
            self.rate_remaining = RATE_LIMIT;
            self.rate_reset = now + RATE_WINDOW;
        }
        let reset = self.rate_reset.unix_timestamp() + i64::from(self.rate_reset.nanosecond() > 0);
        if self.rate_remaining == 0 {
            return Err(reset);
        }
        self.rate_remaining -= 1;
        Ok((self.rate_remaining, reset))
    }

    /// Takes one use of the first fault matching `method` and `path`, if any.
    pub(crate) fn take_fault(&mut self, method: &str, path: &str) -> Option<GitHubFault> {
        let index = self
            .faults
            .iter()
            .position(|fault| fault.matches(method, path))?;
        let fault = &mut self.faults[index];
        let taken = fault.clone();
        fault.times -= 1;
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }

    pub(crate) fn record(&mut self, request: GitHubRequest) {
        if self.requests.len() >= MAX_RECORDS {
            self.requests.remove(0);
        }
        self.requests.push(request);
    }
}

pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) state: Mutex<State>,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

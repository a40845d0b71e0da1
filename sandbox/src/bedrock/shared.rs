//! The state the fake agent's HTTP handler and its control API share.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{watch, Semaphore};

use crate::bedrock::control_plane::{FakeAlias, FAKE_AGENT_ALIAS_ID, FAKE_AGENT_ID};
use crate::bedrock::record::{AgentInvocation, SentChunk};
use crate::bedrock::runtime::RuntimeResponse;
use crate::bedrock::script::AgentScript;

/// Most requests kept in the record (the oldest are dropped past it).
pub(crate) const MAX_RECORDS: usize = 10_000;

pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) scripts: Mutex<Scripts>,
    pub(crate) invocations: Mutex<Vec<AgentInvocation>>,
    /// Every chunk written, oldest first (bounded like the invocations).
    pub(crate) chunks: Mutex<Vec<SentChunk>>,
    /// The number of requests seen so far.
    pub(crate) seen: watch::Sender<usize>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// One permit per `FakeBedrock::release`, taken by a `WaitForRelease` step.
    pub(crate) releases: Semaphore,
    /// The aliases GetAgentAlias finds (`control_plane.rs`).
    pub(crate) aliases: Mutex<Vec<FakeAlias>>,
    /// Every GetAgentAlias asked, as (agent id, alias id).
    pub(crate) alias_lookups: Mutex<Vec<(String, String)>>,
    /// How InvokeAgentRuntime answers (`runtime.rs`).
    pub(crate) runtime_response: Mutex<RuntimeResponse>,
}

/// Scripts queued for the next requests, and the one used when the queue is empty.
#[derive(Default)]
pub(crate) struct Scripts {
    pub(crate) queued: VecDeque<AgentScript>,
    pub(crate) default: AgentScript,
}

impl Shared {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Shared {
            addr,
            scripts: Mutex::new(Scripts::default()),
            invocations: Mutex::new(Vec::new()),
            chunks: Mutex::new(Vec::new()),
            seen: watch::channel(0).0,
            shutdown: watch::channel(false).0,
            releases: Semaphore::new(0),
            aliases: Mutex::new(vec![FakeAlias::prepared(
                FAKE_AGENT_ID,
                FAKE_AGENT_ALIAS_ID,
            )]),
            alias_lookups: Mutex::new(Vec::new()),
            runtime_response: Mutex::new(RuntimeResponse::default()),
        }
    }

    /// Records a chunk about to be written.
    pub(crate) fn record_chunk(&self, session_id: &str, text: &str) {
        let mut chunks = lock(&self.chunks);
        if chunks.len() >= MAX_RECORDS * 10 {
            chunks.remove(0);
        }
        chunks.push(SentChunk {
            session_id: session_id.to_owned(),
            text: text.to_owned(),
            at: std::time::Instant::now(),
        });
    }

    /// Records a request and picks its script: the next queued one, else the default.
    pub(crate) fn record_and_pick(&self, invocation: AgentInvocation) -> AgentScript {
        {
            let mut invocations = lock(&self.invocations);
            if invocations.len() >= MAX_RECORDS {
                invocations.remove(0);
            }
            invocations.push(invocation);
        }
        self.seen.send_modify(|seen| *seen += 1);
        let mut scripts = lock(&self.scripts);
        match scripts.queued.pop_front() {
            Some(script) => script,
            None => scripts.default.clone(),
        }
    }
}

/// Locks `mutex`, taking the data even if a panicking holder poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

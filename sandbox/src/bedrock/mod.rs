//! A local Amazon Bedrock over loopback, for the bot's three backends: InvokeAgent (Agents)
//! and ConverseStream (models) answering in the real `application/vnd.amazon.eventstream`
//! framing, and InvokeAgentRuntime (AgentCore) answering as server-sent events or one JSON
//! body (`set_runtime_response`), so the real SDK clients are what tests drive. Each request
//! is recorded ([`AgentInvocation`]: the session, the prompt, the system prompt and messages,
//! the payload) and answered by one script whatever the API: chunks in many parts with
//! delays, trace events, citations, exceptions, HTTP errors, or a stall. The control plane's
//! GetAgentAlias answers for the aliases the fake knows (`add_agent_alias`).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use chatops_sandbox::bedrock::{AgentScript, FakeBedrock};
//! let agent = FakeBedrock::start().await?;
//! agent.push_script(AgentScript::http_error(429, "ThrottlingException", "Rate exceeded"));
//! agent.set_default_script(AgentScript::answer_in_pieces("Check the DB.", 4, Duration::from_millis(10)));
//! // point the bot's [bedrock] endpoint_url at agent.endpoint_url(), then:
//! let asked = agent.wait_for_invocations(2, Duration::from_secs(5)).await?;
//! assert_eq!(asked[0].session_id, asked[1].session_id);
//! agent.shutdown().await;
//! # Ok(()) }
//! ```

mod control_plane;
mod converse;
mod frames;
mod record;
mod runtime;
mod script;
mod server;
mod shared;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

pub use control_plane::{FAKE_AGENT_ALIAS_ID, FAKE_AGENT_ID};
pub use record::{AgentInvocation, FakeApi, FakeMessage, SentChunk};
pub use runtime::RuntimeResponse;
pub use script::{AgentScript, FakeCitation, StreamStep};

use shared::{lock, Shared};

/// How long `shutdown` waits for the server task before aborting it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// A running fake agent on 127.0.0.1. Dropping it stops the server too; `shutdown` also waits.
pub struct FakeBedrock {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl FakeBedrock {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start() -> anyhow::Result<FakeBedrock> {
        FakeBedrock::start_on_port(0).await
    }

    /// Binds 127.0.0.1:`port` (0 = any free port) and starts serving.
    pub async fn start_on_port(port: u16) -> anyhow::Result<FakeBedrock> {
        let (listener, addr) = crate::serve::bind_loopback("the fake Bedrock", port).await?;
        let shared = Arc::new(Shared::new(addr));
        let app = server::router(Arc::clone(&shared));
        let task = crate::serve::until_stopped(
            "the fake Bedrock",
            listener,
            app,
            shared.shutdown.subscribe(),
        );
        Ok(FakeBedrock {
            shared,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for the SDK's `endpoint_url` (`[bedrock] endpoint_url`).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The listener address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The script for every request that finds no queued one.
    pub fn set_default_script(&self, script: AgentScript) {
        lock(&self.shared.scripts).default = script;
    }

    /// Queues a script for one request; queued scripts are used in order, before the default.
    pub fn push_script(&self, script: AgentScript) {
        lock(&self.shared.scripts).queued.push_back(script);
    }

    /// How InvokeAgentRuntime answers from now on: server-sent events (the default) or one
    /// JSON body.
    pub fn set_runtime_response(&self, response: RuntimeResponse) {
        *lock(&self.shared.runtime_response) = response;
    }

    /// Lets one `WaitForRelease` step (now or later) go on.
    pub fn release(&self) {
        self.shared.releases.add_permits(1);
    }

    /// Every request so far, oldest first.
    pub fn invocations(&self) -> Vec<AgentInvocation> {
        lock(&self.shared.invocations).clone()
    }

    /// Every chunk written so far, oldest first, with when it was written.
    pub fn sent_chunks(&self) -> Vec<SentChunk> {
        lock(&self.shared.chunks).clone()
    }

    /// Waits until at least `count` requests arrived (at most `within`); returns them all.
    pub async fn wait_for_invocations(
        &self,
        count: usize,
        within: Duration,
    ) -> anyhow::Result<Vec<AgentInvocation>> {
        let mut seen = self.shared.seen.subscribe();
        tokio::time::timeout(within, seen.wait_for(|seen| *seen >= count))
            .await
            .with_context(|| {
                format!(
                    "waiting {within:?} for {count} InvokeAgent requests, got {}",
                    *self.shared.seen.borrow()
                )
            })?
            .context("the fake Bedrock stopped")?;
        Ok(self.invocations())
    }

    /// Stops the listener; stalled streams end. Waits a bounded time.
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

impl Drop for FakeBedrock {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

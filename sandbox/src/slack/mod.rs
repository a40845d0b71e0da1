//! A local Slack that speaks the real protocols over loopback: the Web API over HTTP and Socket Mode
//! over WebSocket, with a control API to push envelopes, read acks and calls, and inject faults.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use chatops_sandbox::slack::{envelopes, FakeSlack, FakeSlackOptions, Target};
//! let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
//! // point the bot at slack.api_url() with the tokens from slack.options(), then:
//! slack.wait_for_connections(1, Duration::from_secs(5)).await?;
//! let sent = slack
//!     .send(Target::Any, envelopes::app_mention("C0ALERTS", "U0ALICE", "<@U0BOT> help"))
//!     .await?;
//! let id = sent.envelope_id.unwrap_or_default();
//! slack.wait_for_ack(&id, Duration::from_secs(3)).await?;
//! slack.shutdown().await;
//! # Ok(()) }
//! ```

mod app_settings;
mod clock;
mod connection;
mod control;
mod delivery;
mod envelope;
pub mod envelopes;
mod faults;
mod files;
mod messages;
mod methods;
mod options;
mod people;
mod reading;
mod record;
mod socket;
mod state;
mod streams;
mod timeline;
mod tokens;
mod usergroups;
mod web_api;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use app_settings::DEFAULT_BOT_SCOPES;
pub use delivery::{SentEnvelope, Target};
pub use envelope::{Envelope, HOOKS_PLACEHOLDER};
pub use faults::HttpFault;
pub use files::{SharedFile, UploadedFile};
pub use messages::{EphemeralMessage, StoredMessage, StreamedText};
pub use options::{FakeSlackOptions, Redelivery};
pub use people::{Author, FakeUser, Seed};
pub use record::{
    AckRecord, ApiCall, AuthKind, ConnId, ConnectionEnd, ConnectionRecord, ConnectionState,
    FrameDirection, FrameKind, FrameRecord, HandshakeRejection, MalformedFrame,
};
pub use streams::MAX_STREAM_MARKDOWN_CHARS;
pub use timeline::{TimelineEntry, TimelineKind};

use state::Shared;
use timeline::TimelineKind as Kind;

/// How long `shutdown` waits for the server tasks before aborting them.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// A running fake Slack: an HTTP Web API and a Socket Mode WebSocket listener on 127.0.0.1.
/// Dropping it stops everything too; `shutdown` does so and waits for the tasks.
pub struct FakeSlack {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    /// The Web API's own thread, when started with [`FakeSlack::start_web_api_apart`].
    web_api_thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSlack {
    /// Binds both listeners on 127.0.0.1 (ports from the options, 0 = any) and starts serving.
    pub async fn start(opts: FakeSlackOptions) -> anyhow::Result<FakeSlack> {
        Self::start_with(opts, false).await
    }

    /// Like [`FakeSlack::start`], but the Web API runs on a thread and Tokio runtime of its own,
    /// so a client's Web API calls do not take this runtime's workers from the Socket Mode side
    /// (which times the acks). The benchmark uses this to compare a replying bot with an ack-only floor.
    pub async fn start_web_api_apart(opts: FakeSlackOptions) -> anyhow::Result<FakeSlack> {
        Self::start_with(opts, true).await
    }

    async fn start_with(opts: FakeSlackOptions, web_api_apart: bool) -> anyhow::Result<FakeSlack> {
        let api_listener = TcpListener::bind(("127.0.0.1", opts.api_port))
            .await
            .with_context(|| {
                format!(
                    "binding the Web API listener on 127.0.0.1:{}",
                    opts.api_port
                )
            })?;
        let ws_listener = TcpListener::bind(("127.0.0.1", opts.ws_port))
            .await
            .with_context(|| {
                format!(
                    "binding the Socket Mode listener on 127.0.0.1:{}",
                    opts.ws_port
                )
            })?;
        let api_addr = api_listener
            .local_addr()
            .context("reading the Web API listener address")?;
        let ws_addr = ws_listener
            .local_addr()
            .context("reading the Socket Mode listener address")?;
        let redelivery = opts.redelivery;
        let shared = Arc::new(Shared::new(opts, api_addr, ws_addr));

        let mut tasks = Vec::new();
        let mut web_api_thread = None;
        if web_api_apart {
            web_api_thread = Some(web_api_on_own_thread(Arc::clone(&shared), api_listener)?);
        } else {
            tasks.push(tokio::spawn(serve_web_api(
                Arc::clone(&shared),
                api_listener,
            )));
        }
        tasks.push(tokio::spawn(socket::accept_loop(
            Arc::clone(&shared),
            ws_listener,
        )));
        if let Some(redelivery) = redelivery {
            tasks.push(tokio::spawn(delivery::redelivery_loop(
                Arc::clone(&shared),
                redelivery,
            )));
        }
        shared.note(
            Kind::Connection,
            format!(
                "fake Slack up: Web API http://{api_addr}/api/, Socket Mode ws://{ws_addr}/link/"
            ),
        );
        Ok(FakeSlack {
            shared,
            tasks,
            web_api_thread,
        })
    }

    /// `http://127.0.0.1:PORT/api/` (with the trailing slash Slack clients append methods to),
    /// or with `FakeSlackOptions::public_host` in place of 127.0.0.1 (and `https` with
    /// `public_tls`).
    pub fn api_url(&self) -> String {
        format!(
            "{}://{}/api/",
            self.shared.http_scheme(),
            self.shared.public(self.shared.api_addr)
        )
    }

    /// `http://127.0.0.1:PORT/hooks/`: the base of the `response_url`s in sent envelopes.
    pub fn hooks_url(&self) -> String {
        self.shared.hooks_url()
    }

    /// Address of the Web API listener.
    pub fn api_addr(&self) -> SocketAddr {
        self.shared.api_addr
    }

    /// Address of the Socket Mode listener.
    pub fn ws_addr(&self) -> SocketAddr {
        self.shared.ws_addr
    }

    /// The options it runs with (tokens included, for configuring a client).
    pub fn options(&self) -> &FakeSlackOptions {
        &self.shared.opts
    }

    /// Stops the listeners and every connection (without close frames), waiting a bounded time.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        self.shared
            .note(Kind::Connection, "fake Slack shutting down".to_string());
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_WAIT, task).await.is_err() {
                abort.abort();
            }
        }
        if let Some(thread) = self.web_api_thread.take() {
            // The thread ends by itself within SHUTDOWN_WAIT of the shutdown signal.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        let _ = self
            .shared
            .conns_signal
            .wait_for(
                SHUTDOWN_WAIT,
                || "all connections to close".to_string(),
                || {
                    let open = timeline::lock(&self.shared.conns)
                        .with_state(|s| s != ConnectionState::Closed);
                    open.is_empty().then_some(())
                },
            )
            .await;
    }
}

/// Serves the Web API until the shutdown signal (then lets open requests finish).
async fn serve_web_api(shared: Arc<Shared>, listener: TcpListener) {
    let app = web_api::router(Arc::clone(&shared));
    let mut stop_api = shared.shutdown.subscribe();
    let stopped = async move {
        let _ = stop_api.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::warn!("fake Slack Web API server failed: {error}");
    }
}

/// Runs [`serve_web_api`] on a new thread with a current-thread runtime; the thread ends at most
/// `SHUTDOWN_WAIT` after the shutdown signal, open requests or not.
fn web_api_on_own_thread(
    shared: Arc<Shared>,
    listener: TcpListener,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let listener = listener
        .into_std()
        .context("detaching the Web API listener")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the Web API's runtime")?;
    std::thread::Builder::new()
        .name("fake-slack-web-api".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::warn!("fake Slack Web API listener unusable: {error}");
                        return;
                    }
                };
                let mut stop = shared.shutdown.subscribe();
                let cut_off = async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                    tokio::time::sleep(SHUTDOWN_WAIT).await;
                };
                tokio::select! {
                    () = serve_web_api(shared, listener) => {}
                    () = cut_off => {}
                }
            });
        })
        .context("starting the Web API thread")
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>(_: &T) {}

    #[tokio::test]
    async fn handles_and_wait_futures_can_cross_tasks() -> anyhow::Result<()> {
        let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
        assert_send_sync(&slack);
        let slack = Arc::new(slack);
        let waiter = Arc::clone(&slack);
        let waited = tokio::spawn(async move {
            waiter
                .wait_for_call("auth.test", |_| true, Duration::from_millis(20))
                .await
        })
        .await?;
        let error = waited.expect_err("nobody called auth.test");
        assert!(error.to_string().contains("auth.test"), "{error}");
        Ok(())
    }

    #[tokio::test]
    async fn the_web_api_apart_answers_records_and_shuts_down() -> anyhow::Result<()> {
        let slack = FakeSlack::start_web_api_apart(FakeSlackOptions::default()).await?;
        let token = slack.options().bot_token.clone();
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}auth.test", slack.api_url()))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(answer["ok"], true, "{answer}");
        slack
            .wait_for_call("auth.test", |_| true, Duration::from_secs(5))
            .await?;
        let api_addr = slack.api_addr();
        tokio::time::timeout(2 * SHUTDOWN_WAIT + Duration::from_secs(1), slack.shutdown()).await?;
        let refused = tokio::net::TcpStream::connect(api_addr).await;
        assert!(refused.is_err(), "the Web API listener is closed");
        Ok(())
    }
}

//! The Socket Mode client: keeps N connections up, replacing each before closing it.

pub mod backoff;
pub mod connection;
pub mod dispatch;
pub mod frame;
pub mod opener;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use backoff::Backoff;
use connection::{ConnectionEnd, ConnectionSettings, LiveConnection, Signal};
use dispatch::Dispatcher;
use frame::DisconnectReason;
use opener::{ConnectionOpener, OpenError};

use crate::health::Health;

/// Why the client gave up for good.
#[derive(Debug, thiserror::Error)]
pub enum SocketModeError {
    /// Slack refused the token or disabled Socket Mode; restarting will not help.
    #[error("Slack refused the connection for good: {code}")]
    Fatal { code: String },
    /// The dedicated socket thread could not be started.
    #[error("could not start the Socket Mode thread")]
    Thread(#[source] std::io::Error),
}

/// The thread that reads and acks: its own single-threaded runtime, so no handler work, blocking
/// store call or slow allocation on the main runtime can sit between a frame and its ack.
struct SocketThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SocketThread {
    fn start() -> Result<Self, SocketModeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SocketModeError::Thread)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("slack-socket".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // Dropping the runtime here cancels whatever connection tasks are left.
            })
            .map_err(SocketModeError::Thread)?;
        Ok(Self {
            handle,
            stop: Some(stop),
        })
    }
}

impl Drop for SocketThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Settings for the whole client.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub connections: usize,
    pub stagger: Duration,
    pub backoff_max: Duration,
    pub connection: ConnectionSettings,
}

/// Holds `connections` Socket Mode connections until shut down or refused.
pub struct SocketModeClient {
    opener: ConnectionOpener,
    settings: ClientSettings,
    dispatcher: Dispatcher,
    health: Arc<Health>,
}

/// A connection that lived at least this long resets the reconnect backoff when it ends.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// `too_many_websockets` means ghosts hold our slots: wait at least this long before trying again.
const TOO_MANY_WEBSOCKETS_PAUSE: Duration = Duration::from_secs(10);

impl SocketModeClient {
    pub fn new(opener: ConnectionOpener, settings: ClientSettings, dispatcher: Dispatcher) -> Self {
        Self {
            opener,
            settings,
            dispatcher,
            health: Arc::default(),
        }
    }

    /// Report each slot's connection coming and going to `health` (one atomic each).
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = health;
        self
    }

    /// Run until `shutdown` resolves (then close every socket) or Slack refuses us for good.
    /// In-flight handlers are not awaited here; see `Dispatcher::drain`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), SocketModeError> {
        let socket_thread = SocketThread::start()?;
        let cancel = CancellationToken::new();
        let ids = Arc::new(AtomicU64::new(0));
        let mut slots = JoinSet::new();
        for slot in 0..self.settings.connections.max(1) {
            let slot_runner = Slot {
                index: slot,
                opener: self.opener.clone(),
                settings: self.settings.clone(),
                dispatcher: self.dispatcher.clone(),
                ids: ids.clone(),
                cancel: cancel.child_token(),
                sockets: socket_thread.handle.clone(),
                health: self.health.clone(),
            };
            let delay = self.settings.stagger * slot as u32;
            slots.spawn(slot_runner.run(delay));
        }
        tokio::pin!(shutdown);
        let mut outcome = Ok(());
        tokio::select! {
            _ = &mut shutdown => info!("Shutting down Socket Mode connections."),
            Some(joined) = slots.join_next() => {
                if let Ok(Err(e)) = joined {
                    outcome = Err(e);
                }
            }
        }
        cancel.cancel();
        while let Some(joined) = slots.join_next().await {
            if let (Ok(Err(e)), Ok(())) = (joined, &outcome) {
                outcome = Err(e);
            }
        }
        outcome
    }
}

struct Slot {
    index: usize,
    opener: ConnectionOpener,
    settings: ClientSettings,
    dispatcher: Dispatcher,
    ids: Arc<AtomicU64>,
    cancel: CancellationToken,
    /// The socket thread's runtime, where connection tasks run.
    sockets: tokio::runtime::Handle,
    health: Arc<Health>,
}

/// The connections one slot has: the one carrying traffic, the one being opened, the ones closing.
#[derive(Default)]
struct SlotState {
    active: Option<LiveConnection>,
    pending: Option<LiveConnection>,
    closing: Vec<LiveConnection>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Active,
    Pending,
    Closing,
}

impl SlotState {
    fn role_of(&self, id: u64) -> Role {
        if self.active.as_ref().is_some_and(|c| c.id == id) {
            Role::Active
        } else if self.pending.as_ref().is_some_and(|c| c.id == id) {
            Role::Pending
        } else {
            Role::Closing
        }
    }
    fn all_mut(&mut self) -> impl Iterator<Item = &mut LiveConnection> {
        self.active
            .iter_mut()
            .chain(self.pending.iter_mut())
            .chain(self.closing.iter_mut())
    }
    fn is_empty(&self) -> bool {
        self.active.is_none() && self.pending.is_none() && self.closing.is_empty()
    }
    fn take(&mut self, id: u64) -> Option<LiveConnection> {
        if self.active.as_ref().is_some_and(|c| c.id == id) {
            return self.active.take();
        }
        if self.pending.as_ref().is_some_and(|c| c.id == id) {
            return self.pending.take();
        }
        let pos = self.closing.iter().position(|c| c.id == id)?;
        Some(self.closing.swap_remove(pos))
    }
}

impl Slot {
    async fn run(self, delay: Duration) -> Result<(), SocketModeError> {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = self.cancel.cancelled() => return Ok(()),
        }
        let (signal_tx, mut signals) = mpsc::unbounded_channel();
        let mut state = SlotState::default();
        let mut backoff = Backoff::new(Duration::from_millis(500), self.settings.backoff_max);
        // When to open a connection next; None while one is up or being opened.
        let mut open_at = Some(Instant::now());
        // Whether `health` counts this slot's connection as up.
        let mut up = false;
        let result = loop {
            if state.pending.is_none() && open_at.is_some_and(|at| at <= Instant::now()) {
                open_at = None;
                let opened = tokio::select! {
                    opened = self.opener.open() => opened,
                    _ = self.cancel.cancelled() => break Ok(()),
                };
                match opened {
                    Ok(url) => {
                        let id = self.ids.fetch_add(1, Ordering::Relaxed) + 1;
                        let settings = self.settings.connection.clone();
                        let conn = connection::spawn(
                            &self.sockets,
                            id,
                            url,
                            settings,
                            self.dispatcher.clone(),
                            signal_tx.clone(),
                        );
                        state.pending = Some(conn);
                    }
                    Err(OpenError::Fatal { code }) => break Err(SocketModeError::Fatal { code }),
                    Err(OpenError::RateLimited { retry_after }) => {
                        warn!(
                            slot = self.index,
                            ?retry_after,
                            "apps.connections.open is rate limited; waiting as asked."
                        );
                        open_at = Some(Instant::now() + retry_after);
                    }
                    Err(e @ OpenError::Transient(_)) => {
                        let delay = backoff.next_delay();
                        warn!(
                            slot = self.index,
                            error = format!("{:#}", anyhow::Error::new(e)),
                            ?delay,
                            "Could not get a Socket Mode URL; retrying."
                        );
                        open_at = Some(Instant::now() + delay);
                    }
                }
                continue;
            }
            let wake = open_at.filter(|_| state.pending.is_none());
            tokio::select! {
                _ = self.cancel.cancelled() => break Ok(()),
                _ = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
                Some((id, signal)) = signals.recv() => {
                    let handled = self.on_signal(id, signal, &mut state, &mut backoff, &mut open_at);
                    self.report(state.active.is_some(), &mut up);
                    if let Err(e) = handled {
                        break Err(e);
                    }
                }
            }
        };
        self.close_all(&mut state, &mut signals).await;
        self.report(false, &mut up);
        result
    }

    /// Tell `health` when this slot's traffic-carrying connection comes or goes.
    fn report(&self, now_up: bool, up: &mut bool) {
        if now_up != *up {
            *up = now_up;
            let gauge = &self.dispatcher.metrics().connections_up;
            if now_up {
                self.health.connection_up();
                gauge.inc();
            } else {
                self.health.connection_down();
                gauge.dec();
            }
        }
    }

    fn on_signal(
        &self,
        id: u64,
        signal: Signal,
        state: &mut SlotState,
        backoff: &mut Backoff,
        open_at: &mut Option<Instant>,
    ) -> Result<(), SocketModeError> {
        match signal {
            Signal::Ready => {
                if state.pending.as_ref().is_some_and(|c| c.id == id) {
                    // The replacement is up: only now close the connection it replaces.
                    if let Some(mut old) = state.active.take() {
                        old.close();
                        state.closing.push(old);
                    }
                    state.active = state.pending.take();
                }
            }
            Signal::ReplaceMe(reason) => {
                if state.active.as_ref().is_some_and(|c| c.id == id) && state.pending.is_none() {
                    self.dispatcher.metrics().reconnected(reason_label(&reason));
                    info!(
                        slot = self.index,
                        connection = id,
                        reason = reason.as_str(),
                        "Opening a replacement connection."
                    );
                    *open_at = Some(Instant::now());
                }
            }
            Signal::Ended(end) => {
                let role = state.role_of(id);
                let Some(conn) = state.take(id) else {
                    return Ok(());
                };
                match &end {
                    ConnectionEnd::Closed => return Ok(()),
                    ConnectionEnd::Disconnected(DisconnectReason::LinkDisabled) => {
                        return Err(SocketModeError::Fatal {
                            code: "link_disabled".into(),
                        });
                    }
                    ConnectionEnd::Disconnected(reason) => warn!(
                        slot = self.index,
                        connection = id,
                        reason = reason.as_str(),
                        "Connection ended by Slack."
                    ),
                    ConnectionEnd::Lost(reason) => warn!(
                        slot = self.index,
                        connection = id,
                        reason,
                        "Connection lost."
                    ),
                }
                let reopen = match role {
                    // A connection being replaced died early: its replacement is what matters.
                    Role::Closing => false,
                    // The traffic carrier died: reconnect unless a replacement is already on its way.
                    Role::Active => state.pending.is_none(),
                    // The attempt failed: try again (the old connection, if any, keeps serving meanwhile).
                    Role::Pending => true,
                };
                if !reopen {
                    return Ok(());
                }
                if role == Role::Active {
                    let reason = match &end {
                        ConnectionEnd::Disconnected(reason) => reason_label(reason),
                        _ => "lost",
                    };
                    self.dispatcher.metrics().reconnected(reason);
                    if conn.started.elapsed() >= STABLE_AFTER {
                        backoff.reset();
                    }
                }
                let mut delay = backoff.next_delay();
                if matches!(
                    end,
                    ConnectionEnd::Disconnected(DisconnectReason::TooManyWebsockets)
                ) {
                    delay = delay.max(TOO_MANY_WEBSOCKETS_PAUSE);
                }
                info!(slot = self.index, ?delay, "Reconnecting.");
                *open_at = Some(Instant::now() + delay);
            }
        }
        Ok(())
    }

    /// Close every connection of this slot and wait (bounded) until each has ended.
    async fn close_all(
        &self,
        state: &mut SlotState,
        signals: &mut mpsc::UnboundedReceiver<(u64, Signal)>,
    ) {
        for conn in state.all_mut() {
            conn.close();
        }
        let deadline =
            Instant::now() + self.settings.connection.close_timeout + Duration::from_millis(500);
        while !state.is_empty() {
            match tokio::time::timeout_at(deadline, signals.recv()).await {
                Ok(Some((id, Signal::Ended(_)))) => {
                    state.take(id);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    error!(slot = self.index, "Some connections did not close in time.");
                    break;
                }
            }
        }
    }
}

/// A reconnect's reason as a label: Slack's known reasons, else "other".
fn reason_label(reason: &DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::Warning => "warning",
        DisconnectReason::RefreshRequested => "refresh_requested",
        DisconnectReason::TooManyWebsockets => "too_many_websockets",
        DisconnectReason::LinkDisabled => "link_disabled",
        DisconnectReason::Other(_) => "other",
    }
}

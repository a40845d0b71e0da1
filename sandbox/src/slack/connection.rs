//! One Socket Mode connection: a task that writes hello, envelopes and pings, reads acks, and obeys faults.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::slack::delivery;
use crate::slack::envelopes::APP_ID;
use crate::slack::record::{
    abbreviate, ConnId, ConnectionEnd, ConnectionRecord, ConnectionState, FrameDirection,
    FrameKind, FrameRecord,
};
use crate::slack::state::Shared;
use crate::slack::timeline::{lock, TimelineKind};

/// How many queued frames one write batch takes before flushing.
const MAX_BATCH: usize = 64;
/// How long a server-initiated close waits for the client's close reply.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);

/// A text frame queued for a connection.
pub(crate) struct OutFrame {
    pub(crate) text: String,
    pub(crate) envelope_id: Option<String>,
}

/// Fault and lifecycle commands for a connection task.
pub(crate) enum Control {
    Disconnect {
        reason: String,
        close_now: bool,
        done: oneshot::Sender<()>,
    },
    Abort {
        done: oneshot::Sender<()>,
    },
    Stall,
}

/// The control API's handle on a connection: its record and the channels into its task.
pub(crate) struct ConnHandle {
    pub(crate) id: ConnId,
    state: AtomicU8,
    pub(crate) record: Mutex<ConnectionRecord>,
    frames_tx: mpsc::UnboundedSender<OutFrame>,
    control_tx: mpsc::UnboundedSender<Control>,
}

/// The task's ends of a connection's channels.
pub(crate) struct ConnReceivers {
    frames_rx: mpsc::UnboundedReceiver<OutFrame>,
    control_rx: mpsc::UnboundedReceiver<Control>,
}

impl ConnHandle {
    pub(crate) fn new(id: ConnId) -> (Arc<ConnHandle>, ConnReceivers) {
        let (frames_tx, frames_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let record = ConnectionRecord {
            id,
            opened_at: std::time::Instant::now(),
            hello_at: None,
            closed_at: None,
            end: None,
            state: ConnectionState::Opening,
            disconnect_reason: None,
            frames: Vec::new(),
        };
        let handle = ConnHandle {
            id,
            state: AtomicU8::new(ConnectionState::Opening.to_u8()),
            record: Mutex::new(record),
            frames_tx,
            control_tx,
        };
        let receivers = ConnReceivers {
            frames_rx,
            control_rx,
        };
        (Arc::new(handle), receivers)
    }

    pub(crate) fn state(&self) -> ConnectionState {
        ConnectionState::from_u8(self.state.load(Ordering::Acquire))
    }

    fn set_state(&self, state: ConnectionState) {
        self.state.store(state.to_u8(), Ordering::Release);
        lock(&self.record).state = state;
    }

    /// Queues a text frame; fails once the connection task has ended.
    pub(crate) fn push_frame(&self, frame: OutFrame) -> anyhow::Result<()> {
        self.frames_tx
            .send(frame)
            .map_err(|_| anyhow::anyhow!("{} is closed", self.id))
    }

    /// Takes the connection out of delivery at once, then tells its task to stop touching the socket.
    pub(crate) fn stall(&self) -> anyhow::Result<()> {
        if self.state() != ConnectionState::Closed {
            self.set_state(ConnectionState::Stalled);
        }
        self.control(Control::Stall)
    }

    pub(crate) fn control(&self, command: Control) -> anyhow::Result<()> {
        self.control_tx
            .send(command)
            .map_err(|_| anyhow::anyhow!("{} is closed", self.id))
    }

    fn record_frame(&self, direction: FrameDirection, kind: FrameKind, summary: String) {
        lock(&self.record).frames.push(FrameRecord {
            at: std::time::Instant::now(),
            direction,
            kind,
            summary,
        });
    }
}

/// Runs a connection until it ends, then records how it ended.
pub(crate) async fn run(
    shared: Arc<Shared>,
    handle: Arc<ConnHandle>,
    ws: WebSocketStream<TcpStream>,
    receivers: ConnReceivers,
) {
    let shutdown = shared.shutdown.subscribe();
    let mut task = ConnTask {
        shared,
        handle,
        ws,
        frames_rx: receivers.frames_rx,
        control_rx: receivers.control_rx,
        shutdown,
        waiters: Vec::new(),
        pings_sent: 0,
    };
    let end = task.drive().await;
    let ConnTask {
        shared,
        handle,
        ws,
        waiters,
        ..
    } = task;
    drop(ws);
    handle.set_state(ConnectionState::Closed);
    {
        let mut record = lock(&handle.record);
        record.closed_at = Some(std::time::Instant::now());
        record.end = Some(end.clone());
    }
    shared.conns_signal.bump();
    shared.note(
        TimelineKind::Connection,
        format!("{} closed: {}", handle.id, describe_end(&end)),
    );
    for waiter in waiters {
        let _ = waiter.send(());
    }
}

struct ConnTask {
    shared: Arc<Shared>,
    handle: Arc<ConnHandle>,
    ws: WebSocketStream<TcpStream>,
    frames_rx: mpsc::UnboundedReceiver<OutFrame>,
    control_rx: mpsc::UnboundedReceiver<Control>,
    shutdown: watch::Receiver<bool>,
    /// Told once the socket has been dropped (abort callers wait for this).
    waiters: Vec<oneshot::Sender<()>>,
    pings_sent: u64,
}

impl ConnTask {
    async fn drive(&mut self) -> ConnectionEnd {
        let id = self.handle.id;
        let open_count = lock(&self.shared.conns)
            .with_state(|s| s != ConnectionState::Closed)
            .len();
        let refusal = if !lock(&self.shared.app).socket_mode {
            Some("link_disabled")
        } else if open_count > self.shared.opts.max_connections {
            Some("too_many_websockets")
        } else {
            None
        };
        if let Some(reason) = refusal {
            let frame = disconnect_frame(reason);
            lock(&self.handle.record).disconnect_reason = Some(reason.into());
            if let Err(error) = self.write_text(frame).await {
                return write_end(error);
            }
            return self.server_close(reason).await;
        }
        let hello = json!({
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {"host": "applink-sandbox", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID}
        });
        if let Err(error) = self.write_text(hello.to_string()).await {
            return write_end(error);
        }
        self.handle.set_state(ConnectionState::Live);
        lock(&self.handle.record).hello_at = Some(std::time::Instant::now());
        self.shared.conns_signal.bump();
        self.shared.note(
            TimelineKind::Connection,
            format!("{id} hello (num_connections {open_count})"),
        );

        let period = self.shared.opts.ping_interval.max(Duration::from_millis(1));
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut grace: Option<Instant> = None;
        let mut client_close: Option<(Option<u16>, String)> = None;
        loop {
            if *self.shutdown.borrow() {
                return ConnectionEnd::Shutdown;
            }
            let open = client_close.is_none();
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return ConnectionEnd::Shutdown,
                Some(command) = self.control_rx.recv() => match command {
                    Control::Abort { done } => {
                        self.waiters.push(done);
                        return ConnectionEnd::ServerAborted;
                    }
                    Control::Stall => return self.stall().await,
                    Control::Disconnect { reason, close_now, done } => {
                        lock(&self.handle.record).disconnect_reason = Some(reason.clone());
                        self.handle.set_state(ConnectionState::Draining);
                        self.shared.conns_signal.bump();
                        if let Err(error) = self.write_text(disconnect_frame(&reason)).await {
                            return write_end(error);
                        }
                        let _ = done.send(());
                        if close_now {
                            return self.server_close(&format!("disconnect {reason}")).await;
                        }
                        grace = Some(Instant::now() + self.shared.opts.disconnect_grace);
                    }
                },
                incoming = self.ws.next() => match incoming {
                    None => {
                        return match client_close.take() {
                            Some((code, reason)) => ConnectionEnd::ClientClosed { code, reason },
                            None => ConnectionEnd::ClientEof,
                        }
                    }
                    Some(Ok(message)) => {
                        if let Some(close) = self.on_message(message) {
                            client_close = Some(close);
                        }
                    }
                    Some(Err(error)) => return read_end(error, client_close.take()),
                },
                Some(frame) = self.frames_rx.recv(), if open => {
                    if let Err(error) = self.write_batch(frame).await {
                        return write_end(error);
                    }
                }
                _ = ping.tick(), if open => {
                    self.pings_sent += 1;
                    let payload = format!("sbx-{}", self.pings_sent);
                    self.handle.record_frame(FrameDirection::ToClient, FrameKind::Ping, payload.clone());
                    if let Err(error) = self.ws.send(Message::Ping(payload.into_bytes().into())).await {
                        return write_end(error);
                    }
                }
                _ = tokio::time::sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() && open => {
                    return self.server_close("disconnect grace expired").await;
                }
            }
        }
    }

    /// Handles one client frame; returns the close code/reason for a close frame.
    fn on_message(&mut self, message: Message) -> Option<(Option<u16>, String)> {
        let id = self.handle.id;
        match message {
            Message::Text(text) => {
                let body = text.as_str();
                self.handle.record_frame(
                    FrameDirection::FromClient,
                    FrameKind::Text,
                    abbreviate(body, 120),
                );
                delivery::handle_client_text(&self.shared, id, body);
            }
            Message::Binary(bytes) => {
                let note = format!("binary frame of {} bytes", bytes.len());
                self.handle.record_frame(
                    FrameDirection::FromClient,
                    FrameKind::Binary,
                    note.clone(),
                );
                delivery::record_malformed(&self.shared, id, note, "binary frame".into());
            }
            Message::Ping(payload) => self.handle.record_frame(
                FrameDirection::FromClient,
                FrameKind::Ping,
                String::from_utf8_lossy(&payload).into_owned(),
            ),
            Message::Pong(payload) => self.handle.record_frame(
                FrameDirection::FromClient,
                FrameKind::Pong,
                String::from_utf8_lossy(&payload).into_owned(),
            ),
            Message::Close(frame) => {
                let (code, reason) = match frame {
                    Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                    None => (None, String::new()),
                };
                let summary = format!("{} {reason}", code.map_or("-".into(), |c| c.to_string()));
                self.handle
                    .record_frame(FrameDirection::FromClient, FrameKind::Close, summary);
                return Some((code, reason));
            }
            Message::Frame(_) => {}
        }
        None
    }

    async fn write_text(&mut self, text: String) -> Result<(), WsError> {
        self.handle.record_frame(
            FrameDirection::ToClient,
            FrameKind::Text,
            abbreviate(&text, 120),
        );
        self.ws.send(Message::text(text)).await
    }

    /// Writes `first` plus whatever else is queued (up to a batch), then flushes once.
    async fn write_batch(&mut self, first: OutFrame) -> Result<(), WsError> {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(frame) = next.take() {
            if let Some(envelope_id) = &frame.envelope_id {
                delivery::mark_written(&self.shared, envelope_id);
            }
            let summary = abbreviate(&frame.text, 120);
            self.ws.feed(Message::text(frame.text)).await?;
            self.handle
                .record_frame(FrameDirection::ToClient, FrameKind::Text, summary);
            written += 1;
            if written < MAX_BATCH {
                next = self.frames_rx.try_recv().ok();
            }
        }
        self.ws.flush().await
    }

    /// Sends a close frame, waits (bounded) for the reply while still reading acks, then ends.
    async fn server_close(&mut self, reason: &str) -> ConnectionEnd {
        self.handle.record_frame(
            FrameDirection::ToClient,
            FrameKind::Close,
            format!("1000 {reason}"),
        );
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: reason.to_string().into(),
        };
        let drain = async {
            self.ws.close(Some(frame)).await?;
            while let Some(message) = self.ws.next().await {
                self.on_message(message?);
            }
            Ok::<(), WsError>(())
        };
        let _ = tokio::time::timeout(CLOSE_REPLY_WAIT, drain).await;
        ConnectionEnd::ServerClosed {
            reason: reason.to_string(),
        }
    }

    /// "No pongs": stop touching the socket at all until aborted or shut down.
    async fn stall(&mut self) -> ConnectionEnd {
        self.handle.set_state(ConnectionState::Stalled);
        self.shared.conns_signal.bump();
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return ConnectionEnd::Shutdown,
                command = self.control_rx.recv() => match command {
                    Some(Control::Abort { done }) => {
                        self.waiters.push(done);
                        return ConnectionEnd::ServerAborted;
                    }
                    // A stalled link cannot carry a disconnect; dropping `done` tells the caller.
                    Some(Control::Disconnect { .. }) | Some(Control::Stall) => {}
                    None => return ConnectionEnd::Shutdown,
                },
            }
        }
    }
}

fn disconnect_frame(reason: &str) -> String {
    json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sandbox"}})
        .to_string()
}

fn is_abrupt(error: &WsError) -> bool {
    use std::io::ErrorKind;
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match error {
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => true,
        WsError::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionAborted
        ),
        _ => false,
    }
}

fn read_end(error: WsError, client_close: Option<(Option<u16>, String)>) -> ConnectionEnd {
    if let Some((code, reason)) = client_close {
        return ConnectionEnd::ClientClosed { code, reason };
    }
    if is_abrupt(&error) {
        ConnectionEnd::ClientEof
    } else {
        ConnectionEnd::ReadError(error.to_string())
    }
}

fn write_end(error: WsError) -> ConnectionEnd {
    if is_abrupt(&error) {
        ConnectionEnd::ClientEof
    } else {
        ConnectionEnd::WriteError(error.to_string())
    }
}

/// A short human description of how a connection ended.
pub(crate) fn describe_end(end: &ConnectionEnd) -> String {
    match end {
        ConnectionEnd::ClientClosed { code, reason } => format!(
            "client close handshake ({} {reason})",
            code.map_or("-".into(), |c| c.to_string())
        ),
        ConnectionEnd::ClientEof => "abrupt EOF from client (no close frame)".into(),
        ConnectionEnd::ServerClosed { reason } => format!("server closed ({reason})"),
        ConnectionEnd::ServerAborted => "server aborted TCP (no close frame)".into(),
        ConnectionEnd::ReadError(error) => format!("read error: {error}"),
        ConnectionEnd::WriteError(error) => format!("write error: {error}"),
        ConnectionEnd::Shutdown => "fake Slack shut down".into(),
    }
}

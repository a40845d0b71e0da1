//! One Socket Mode WebSocket: ack every envelope the moment it is read, watch health both ways, close cleanly.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval_at, timeout, timeout_at, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::{
    frame::coding::CloseCode, CloseFrame, WebSocketConfig,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, info, warn};
use url::Url;

use super::dispatch::Dispatcher;
use super::frame::{ack_frame, DisconnectReason, Frame};
use crate::config::ProxySettings;
use crate::telemetry::latency::LatencyKind;

/// Timings for one connection, from `[slack.socket]`.
#[derive(Clone, Debug)]
pub struct ConnectionSettings {
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub idle_timeout: Duration,
    pub close_timeout: Duration,
    /// How long to wait for the TCP/TLS/WebSocket handshake and then for `hello`.
    pub hello_timeout: Duration,
    /// How the WebSocket is reached: through the HTTPS proxy's `CONNECT` tunnel, or directly.
    pub proxy: ProxySettings,
}

/// What a connection tells its supervisor.
#[derive(Debug)]
pub enum Signal {
    /// `hello` arrived: the connection carries traffic.
    Ready,
    /// Slack asked for this connection to be replaced; it keeps working until told to close.
    ReplaceMe(DisconnectReason),
    /// The connection is gone.
    Ended(ConnectionEnd),
}

/// How a connection ended.
#[derive(Debug)]
pub enum ConnectionEnd {
    /// We closed it on purpose (replaced, or shutting down).
    Closed,
    /// Slack said goodbye with a reason that is not a plain refresh.
    Disconnected(DisconnectReason),
    /// It broke: handshake failure, abrupt close, missed pongs, silence.
    Lost(String),
}

/// A running connection, as its supervisor sees it.
pub struct LiveConnection {
    pub id: u64,
    pub started: std::time::Instant,
    close: Option<oneshot::Sender<()>>,
}

impl LiveConnection {
    /// Ask the connection to close itself (close handshake bounded by `close_timeout`).
    pub fn close(&mut self) {
        if let Some(tx) = self.close.take() {
            let _ = tx.send(());
        }
    }
}

/// Start a connection task; it reports through `signals` tagged with its id.
pub fn spawn(
    runtime: &tokio::runtime::Handle,
    id: u64,
    url: Url,
    settings: ConnectionSettings,
    dispatcher: Dispatcher,
    signals: mpsc::UnboundedSender<(u64, Signal)>,
) -> LiveConnection {
    let (close_tx, close_rx) = oneshot::channel();
    runtime.spawn(async move {
        let end = run(id, url, &settings, &dispatcher, &signals, close_rx).await;
        let _ = signals.send((id, Signal::Ended(end)));
    });
    LiveConnection {
        id,
        started: std::time::Instant::now(),
        close: Some(close_tx),
    }
}

/// An open Socket Mode WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the WebSocket at `url`: TCP (a `CONNECT` tunnel when `proxy` sends `url` through a
/// proxy, with TCP_NODELAY: acks are tiny frames and must not wait on delayed ACKs), then TLS
/// for `wss://`, then the handshake. Bounding the time is the caller's.
pub async fn open(url: &Url, proxy: &ProxySettings) -> Result<Socket, String> {
    let stream = crate::egress::tunnel::dial(proxy, url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let handshake = tokio_tungstenite::client_async_tls_with_config(
        url.as_str(),
        stream,
        Some(ws_config()),
        None,
    );
    let (ws, _response) = handshake.await.map_err(|e| e.to_string())?;
    Ok(ws)
}

fn ws_config() -> WebSocketConfig {
    // Slack's frames are small, but view payloads reach ~100 KB; cap well above that.
    WebSocketConfig::default()
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20))
}

async fn run(
    id: u64,
    url: Url,
    settings: &ConnectionSettings,
    dispatcher: &Dispatcher,
    signals: &mpsc::UnboundedSender<(u64, Signal)>,
    mut close_rx: oneshot::Receiver<()>,
) -> ConnectionEnd {
    let started = Instant::now();
    let connect = open(&url, &settings.proxy);
    let mut ws = tokio::select! {
        result = timeout(settings.hello_timeout, connect) => match result {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => return ConnectionEnd::Lost(format!("WebSocket handshake failed: {e}")),
            Err(_) => return ConnectionEnd::Lost("WebSocket handshake timed out".into()),
        },
        _ = &mut close_rx => return ConnectionEnd::Closed,
    };
    let metrics = dispatcher.metrics();
    let latencies = dispatcher.latencies();
    metrics.connections_opened.inc();

    let mut ping_timer = interval_at(started + settings.ping_interval, settings.ping_interval);
    ping_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let check_every =
        (settings.pong_timeout.min(settings.idle_timeout) / 4).max(Duration::from_millis(20));
    let mut watchdog = interval_at(started + check_every, check_every);
    watchdog.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let mut last_frame = Instant::now();
    let mut hello = false;
    let mut replace_requested = false;
    let mut outstanding_ping: Option<(u64, Instant)> = None;
    let mut ping_seq: u64 = 0;

    loop {
        tokio::select! {
            biased;
            _ = &mut close_rx => return close(ws, settings.close_timeout, "replaced or shutting down").await,
            frame = ws.next() => {
                last_frame = Instant::now();
                let text = match frame {
                    None => return ConnectionEnd::Lost("connection closed without a close frame".into()),
                    Some(Err(e)) => return ConnectionEnd::Lost(format!("read failed: {e}")),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Pong(payload))) => {
                        if outstanding_ping.is_some_and(|(seq, _)| payload.as_ref() == seq.to_be_bytes()) {
                            outstanding_ping = None;
                        }
                        continue;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        // tungstenite queued the close reply; flush it so the handshake completes.
                        let _ = timeout(settings.close_timeout, ws.flush()).await;
                        let reason = frame.map(|f| format!("{} {}", f.code, f.reason)).unwrap_or_default();
                        return ConnectionEnd::Lost(format!("Slack closed the connection ({reason})"));
                    }
                    Some(Ok(_)) => continue, // pings are answered by tungstenite; binary frames are not used
                };
                match Frame::parse(&text) {
                    Ok(Frame::Envelope(envelope)) => {
                        // The ack goes out before anything else happens to the envelope.
                        if let Err(e) = ws.send(Message::text(ack_frame(&envelope.envelope_id))).await {
                            return ConnectionEnd::Lost(format!("ack write failed: {e}"));
                        }
                        latencies.record(LatencyKind::SocketAck, last_frame.elapsed());
                        metrics.acks_sent.inc();
                        dispatcher.dispatch(envelope, id);
                    }
                    Ok(Frame::Hello { num_connections }) => {
                        hello = true;
                        metrics.hellos.inc();
                        info!(connection = id, num_connections, "Socket Mode connection ready.");
                        let _ = signals.send((id, Signal::Ready));
                    }
                    Ok(Frame::Disconnect { reason }) => match reason {
                        DisconnectReason::Warning | DisconnectReason::RefreshRequested => {
                            info!(connection = id, reason = reason.as_str(), "Slack asked to replace this connection.");
                            if !replace_requested {
                                replace_requested = true;
                                let _ = signals.send((id, Signal::ReplaceMe(reason)));
                            }
                        }
                        other => {
                            warn!(connection = id, reason = other.as_str(), "Slack disconnected this connection.");
                            close(ws, settings.close_timeout, "disconnected by Slack").await;
                            return ConnectionEnd::Disconnected(other);
                        }
                    },
                    Err(malformed) => {
                        metrics.frames_malformed.inc();
                        warn!(connection = id, envelope_id = malformed.envelope_id.as_deref(), error = %malformed, "Slack sent a frame that does not parse.");
                        if let Some(envelope_id) = &malformed.envelope_id {
                            if let Err(e) = ws.send(Message::text(ack_frame(envelope_id))).await {
                                return ConnectionEnd::Lost(format!("ack write failed: {e}"));
                            }
                            metrics.acks_sent.inc();
                        }
                    }
                }
            }
            _ = ping_timer.tick() => {
                if outstanding_ping.is_none() {
                    ping_seq += 1;
                    if let Err(e) = ws.send(Message::Ping(ping_seq.to_be_bytes().to_vec().into())).await {
                        return ConnectionEnd::Lost(format!("ping write failed: {e}"));
                    }
                    outstanding_ping = Some((ping_seq, Instant::now()));
                }
            }
            _ = watchdog.tick() => {
                if let Some((_, sent)) = outstanding_ping {
                    if sent.elapsed() > settings.pong_timeout {
                        return abandon(ws, format!("no pong within {:?}", settings.pong_timeout));
                    }
                }
                if last_frame.elapsed() > settings.idle_timeout {
                    return abandon(ws, format!("nothing heard from Slack for {:?}", settings.idle_timeout));
                }
                if !hello && started.elapsed() > settings.hello_timeout {
                    return abandon(ws, "no hello from Slack".into());
                }
            }
        }
    }
}

/// What a connection opened only to be looked at (`check --live`) saw: Slack's `hello`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelloSeen {
    pub num_connections: Option<u32>,
}

/// Why a connection opened only to be looked at never said `hello`.
#[derive(Debug, thiserror::Error)]
pub enum HelloError {
    #[error("WebSocket handshake failed: {0}")]
    Handshake(String),
    /// Slack said `disconnect` instead of `hello` (`link_disabled`: Socket Mode is off).
    #[error("Slack disconnected before hello: {}", .0.as_str())]
    Disconnected(DisconnectReason),
    #[error("no hello within {0:?}")]
    NoHello(Duration),
    #[error("{0}")]
    Lost(String),
}

/// Opens `url`, waits for `hello` (handshake included, within `hello_timeout`), then closes with
/// the bounded close handshake. An envelope that arrives first is left unacked, so Slack gives
/// it to another connection; nothing is dispatched from here.
pub async fn hello_and_close(
    url: &Url,
    proxy: &ProxySettings,
    hello_timeout: Duration,
    close_timeout: Duration,
) -> Result<HelloSeen, HelloError> {
    let deadline = Instant::now() + hello_timeout;
    let mut ws = match timeout_at(deadline, open(url, proxy)).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return Err(HelloError::Handshake(e)),
        Err(_) => return Err(HelloError::NoHello(hello_timeout)),
    };
    loop {
        let text = match timeout_at(deadline, ws.next()).await {
            Err(_) => return Err(HelloError::NoHello(hello_timeout)),
            Ok(None) => return Err(HelloError::Lost("closed without a close frame".into())),
            Ok(Some(Err(e))) => return Err(HelloError::Lost(format!("read failed: {e}"))),
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Close(frame)))) => {
                let reason = frame
                    .map(|f| format!("{} {}", f.code, f.reason))
                    .unwrap_or_default();
                return Err(HelloError::Lost(format!(
                    "Slack closed the connection before hello ({reason})"
                )));
            }
            Ok(Some(Ok(_))) => continue,
        };
        match Frame::parse(&text) {
            Ok(Frame::Hello { num_connections }) => {
                close(ws, close_timeout, "checked").await;
                return Ok(HelloSeen { num_connections });
            }
            Ok(Frame::Disconnect { reason }) => {
                close(ws, close_timeout, "disconnected by Slack").await;
                return Err(HelloError::Disconnected(reason));
            }
            Ok(Frame::Envelope(_)) | Err(_) => continue,
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Drop a dead connection without a handshake: the peer is not listening, so waiting would only delay.
fn abandon(ws: Ws, reason: String) -> ConnectionEnd {
    drop(ws);
    ConnectionEnd::Lost(reason)
}

/// Close handshake bounded by `limit`. Envelopes that still arrive cannot be acked after our close
/// frame; they are left for Slack to redeliver on another connection (events are deduplicated).
async fn close(mut ws: Ws, limit: Duration, why: &'static str) -> ConnectionEnd {
    let deadline = Instant::now() + limit;
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: why.into(),
    };
    if timeout_at(deadline, ws.send(Message::Close(Some(frame))))
        .await
        .is_err()
    {
        debug!("Close frame could not be written in time.");
        return ConnectionEnd::Closed;
    }
    loop {
        match timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Ok(Frame::Envelope(envelope)) = Frame::parse(&text) {
                    info!(envelope_id = %envelope.envelope_id, "Envelope arrived after our close frame; Slack will redeliver it.");
                }
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(_))) => {}
            Err(_) => {
                debug!("Close handshake timed out; dropping the socket.");
                break;
            }
        }
    }
    ConnectionEnd::Closed
}

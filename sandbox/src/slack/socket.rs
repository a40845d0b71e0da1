//! The Socket Mode listener: accepts TCP, checks the single-use ticket during the WebSocket handshake.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::slack::connection::{self, ConnHandle};
use crate::slack::record::HandshakeRejection;
use crate::slack::state::Shared;
use crate::slack::timeline::{lock, TimelineKind};

/// Longest a client may take to finish the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until the fake shuts down.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    tokio::spawn(handshake(shared.clone(), stream));
                }
                Err(error) => {
                    tracing::warn!("fake Slack: accepting a WebSocket connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn handshake(shared: Arc<Shared>, stream: TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::warn!("fake Slack: could not set TCP_NODELAY: {error}");
    }
    let checker = Arc::clone(&shared);
    // The signature is tungstenite's `Callback`; its error type is an HTTP response.
    #[allow(clippy::result_large_err)]
    let check_ticket =
        move |request: &Request, response: Response| match check_request(&checker, request) {
            Ok(()) => Ok(response),
            Err((status, reason)) => Err(reject(&checker, request.uri().path(), status, reason)),
        };
    let accepted = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::accept_hdr_async(stream, check_ticket),
    )
    .await;
    let ws = match accepted {
        Ok(Ok(ws)) => ws,
        Ok(Err(error)) => {
            tracing::debug!("fake Slack: WebSocket handshake failed: {error}");
            return;
        }
        Err(_) => {
            tracing::debug!("fake Slack: WebSocket handshake timed out");
            return;
        }
    };
    let (handle, receivers) = {
        let mut conns = lock(&shared.conns);
        let id = conns.next_id();
        let (handle, receivers) = ConnHandle::new(id);
        conns.add(Arc::clone(&handle));
        (handle, receivers)
    };
    shared.note(TimelineKind::Connection, format!("{} opened", handle.id));
    shared.conns_signal.bump();
    connection::run(shared, handle, ws, receivers).await;
}

/// Accepts `/link/?ticket=T` with a ticket minted by `apps.connections.open` and not used before.
fn check_request(shared: &Shared, request: &Request) -> Result<(), (StatusCode, &'static str)> {
    let path = request.uri().path();
    if path != "/link/" && path != "/link" {
        return Err((StatusCode::NOT_FOUND, "no such path"));
    }
    let query = request.uri().query().unwrap_or("");
    let ticket = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(key, _)| key == "ticket"))
        .map(|(_, value)| value);
    let Some(ticket) = ticket else {
        return Err((StatusCode::UNAUTHORIZED, "missing ticket"));
    };
    if !lock(&shared.tickets).remove(&ticket) {
        return Err((StatusCode::UNAUTHORIZED, "unknown or already used ticket"));
    }
    Ok(())
}

fn reject(shared: &Shared, path: &str, status: StatusCode, reason: &str) -> ErrorResponse {
    lock(&shared.rejections).push(HandshakeRejection {
        at: std::time::Instant::now(),
        path: path.to_string(),
        status: status.as_u16(),
        reason: reason.to_string(),
    });
    shared.note(
        TimelineKind::Handshake,
        format!("refused {path}: {} {reason}", status.as_u16()),
    );
    let mut response = ErrorResponse::new(Some(reason.to_string()));
    *response.status_mut() = status;
    response
}

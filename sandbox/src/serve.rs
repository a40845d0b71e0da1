//! How the HTTP fakes serve: bind 127.0.0.1, then axum until the fake's shutdown flag turns true.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Binds 127.0.0.1:`port` (0 = any free port) for the fake named `what` ("the fake SQS").
pub(crate) async fn bind_loopback(
    what: &str,
    port: u16,
) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding {what} on 127.0.0.1:{port}"))?;
    let addr = listener
        .local_addr()
        .with_context(|| format!("reading {what}'s address"))?;
    Ok((listener, addr))
}

/// Serves `app` on `listener` until `stop` turns true, then lets requests in flight finish.
pub(crate) fn until_stopped(
    what: &'static str,
    listener: TcpListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::warn!("{what} failed: {error}");
        }
    })
}

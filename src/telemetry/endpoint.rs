//! The one port the bot may listen on (`[metrics]`): `GET /metrics` (OpenMetrics text) and `GET /healthz` (200 or 503 with the reason), served with hyper until the stop token.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::metrics::{Metrics, CONTENT_TYPE};
use crate::config::{Config, MetricsConfig};
use crate::health::{Health, HealthSnapshot};

/// How long a scrape still being answered may take once the bot stops.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// A connection that sends no complete request head within this is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the endpoint answers from: the registry and the health the parts report.
#[derive(Clone)]
pub struct Endpoint {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

/// A bound listener, not yet serving (binding first lets `run` fail before anything starts).
pub struct Bound {
    listener: TcpListener,
    endpoint: Endpoint,
}

/// With `[metrics]` set: bind `metrics.listen` now (a port in use fails the start) and serve
/// until `stop`. The handle ends once the endpoint has stopped (at once when `[metrics]` is off:
/// then nothing listens).
pub async fn start(
    config: &Config,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    stop: CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    let Some(settings) = &config.metrics else {
        return Ok(tokio::spawn(async {}));
    };
    let bound = Endpoint::new(metrics, health).bind(settings).await?;
    Ok(tokio::spawn(bound.serve(stop)))
}

impl Endpoint {
    pub fn new(metrics: Arc<Metrics>, health: Arc<Health>) -> Self {
        Self { metrics, health }
    }

    /// Listen on `metrics.listen` (the config refused a non-loopback one unless allowed).
    pub async fn bind(self, config: &MetricsConfig) -> anyhow::Result<Bound> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("Failed to listen on metrics.listen = {}", config.listen))?;
        Ok(Bound {
            listener,
            endpoint: self,
        })
    }

    /// The answer to one request (pure but for reading the registry and the health).
    pub fn answer(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        match (method, path) {
            (&Method::GET | &Method::HEAD, "/metrics") => {
                respond(StatusCode::OK, CONTENT_TYPE, self.metrics.encode())
            }
            (&Method::GET | &Method::HEAD, "/healthz") => {
                let (status, body) = healthz(&self.health.snapshot(Instant::now()));
                respond(status, "application/json", body)
            }
            (_, "/metrics" | "/healthz") => {
                let mut response = respond(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "text/plain; charset=utf-8",
                    "GET only\n".to_owned(),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
                response
            }
            _ => respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found: try /metrics or /healthz\n".to_owned(),
            ),
        }
    }
}

impl Bound {
    /// Where it listens (the real port when `metrics.listen` asked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `stop`: no new connection is taken, and the ones open get `STOP_GRACE`
    /// to finish the request they are answering.
    pub async fn serve(self, stop: CancellationToken) {
        let Bound { listener, endpoint } = self;
        if let Ok(addr) = listener.local_addr() {
            info!(address = %addr, "Serving /metrics and /healthz on http://{addr}.");
        }
        let connections = TaskTracker::new();
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    warn!(error = %e, "The metrics listener failed to accept a connection.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            connections.spawn(connection(stream, peer, endpoint.clone(), stop.clone()));
        }
        drop(listener);
        connections.close();
        if tokio::time::timeout(STOP_GRACE, connections.wait())
            .await
            .is_err()
        {
            debug!("Metrics connections still open at the stop were dropped.");
        }
    }
}

/// One HTTP/1.1 connection: requests answered one after another until the peer closes it or
/// the bot stops.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    endpoint: Endpoint,
    stop: CancellationToken,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = endpoint.answer(request.method(), request.uri().path());
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        _ = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = served {
        debug!(%peer, error = %e, "A metrics connection ended with an error.");
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// `/healthz`: 200 only while at least one Slack connection is up and the verdict the systemd
/// watchdog uses is healthy (with alarms on: a receive ended within 2 × `alarms.receive_wait`);
/// else 503 with every reason. The body is a small JSON object either way.
pub fn healthz(snapshot: &HealthSnapshot) -> (StatusCode, String) {
    let mut reasons = vec![];
    if snapshot.connections == 0 {
        reasons.push("no Slack connection is up".to_owned());
    }
    if snapshot
        .alarms
        .as_ref()
        .is_some_and(|alarms| !alarms.started)
    {
        reasons.push("the SQS pollers have not started".to_owned());
    }
    if let Err(unhealthy) = snapshot.verdict() {
        reasons.extend(unhealthy.problems.iter().map(ToString::to_string));
    }
    let alarms = snapshot.alarms.as_ref().map(|alarms| {
        serde_json::json!({
            "pollers_started": alarms.started,
            "seconds_since_receive": alarms.since_poll.as_secs(),
            "delivered_today": alarms.today,
        })
    });
    let status = if reasons.is_empty() {
        "ok"
    } else {
        "unhealthy"
    };
    let mut body = serde_json::json!({
        "status": status,
        "slack_connections": snapshot.connections,
        "slack_connections_wanted": snapshot.limits.connections,
        "alarms": alarms,
    });
    if !reasons.is_empty() {
        body["reason"] = serde_json::Value::String(reasons.join("; "));
    }
    let code = if reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, format!("{body}\n"))
}

#[cfg(test)]
mod tests;

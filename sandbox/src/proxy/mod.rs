//! A small HTTP proxy for tests: `CONNECT` tunnels and absolute-form forwarding, host names only it resolves, a record of every target.
//!
//! With [`ProxyOptions::intercept_tls`] it also ends the TLS inside tunnels to mapped names, with a
//! CA of its own ([`TestProxy::ca_pem`]), as a TLS-inspecting corporate proxy does.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use chatops_sandbox::proxy::{ProxyOptions, TestProxy};
//! let proxy = TestProxy::start(ProxyOptions::default().map_host("slack.sandbox.invalid")).await?;
//! // HTTPS_PROXY=http://127.0.0.1:PORT for the client; then, what went through it:
//! let targets: Vec<String> = proxy.records().into_iter().map(|r| r.target).collect();
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

mod intercept;

use intercept::Interceptor;

/// The longest request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;

/// How the proxy behaves.
#[derive(Clone, Debug, Default)]
pub struct ProxyOptions {
    /// Names only this proxy resolves (to the address given); any other name is unreachable
    /// through it (502). IP addresses are connected to as they are.
    pub hosts: BTreeMap<String, IpAddr>,
    /// Mapped names whose connections go to this port, whatever port was asked for (a fake
    /// standing in for `service.amazonaws.com:443`).
    pub ports: BTreeMap<String, u16>,
    /// `(user, password)` every request must carry as `Proxy-Authorization: Basic`; others get
    /// 407. `None`: no credentials needed.
    pub credentials: Option<(String, String)>,
    /// Whether the proxy ends the TLS clients speak inside `CONNECT` tunnels to mapped names (a
    /// certificate for every mapped name, from its own CA) and relays the plain bytes inside.
    pub intercept_tls: bool,
}

impl ProxyOptions {
    /// Resolves `name` to 127.0.0.1 (where the sandbox's fakes listen).
    pub fn map_host(mut self, name: &str) -> Self {
        self.hosts
            .insert(name.to_ascii_lowercase(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        self
    }

    /// Resolves `name` to 127.0.0.1 and `port`, whatever port the client asks for.
    pub fn map_host_to_port(self, name: &str, port: u16) -> Self {
        let mut options = self.map_host(name);
        options.ports.insert(name.to_ascii_lowercase(), port);
        options
    }

    /// Requires these Basic credentials.
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Ends the TLS in tunnels to mapped names, as a TLS-inspecting proxy does: map the names
    /// first, then trust [`TestProxy::ca_pem`] in the client (`SSL_CERT_FILE`).
    pub fn intercept_tls(mut self) -> Self {
        self.intercept_tls = true;
        self
    }
}

/// How a client asked the proxy to reach a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    /// `CONNECT host:port`: bytes relayed as they are (TLS, WebSocket, anything).
    Tunnel,
    /// `METHOD http://host:port/path`: one plain-HTTP request forwarded in origin form.
    Forward,
}

/// What the proxy did with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyOutcome {
    Relayed,
    /// Answered 407: credentials missing or wrong.
    AuthRequired,
    /// Answered 502: the name is not mapped or the connection failed.
    Unreachable(String),
    /// The tunnel opened, but the client's TLS handshake with the intercepting proxy failed (a
    /// client that does not trust its CA ends the handshake with an alert).
    TlsFailed(String),
}

/// One request the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRecord {
    pub kind: ProxyKind,
    /// `host:port` as the client named it.
    pub target: String,
    /// The method and path of a forwarded request (`POST /api/chat.postMessage`).
    pub request: Option<String>,
    /// With TLS interception: the server name (SNI) of the client's TLS hello in this tunnel.
    pub tls_server_name: Option<String>,
    pub outcome: ProxyOutcome,
}

impl ProxyRecord {
    /// The target's host, without the port.
    pub fn host(&self) -> &str {
        split_host_port(&self.target).map_or(self.target.as_str(), |(host, _)| host)
    }
}

struct Shared {
    options: ProxyOptions,
    interceptor: Option<Interceptor>,
    records: Mutex<Vec<ProxyRecord>>,
}

/// A running proxy on 127.0.0.1. Dropping it stops it.
pub struct TestProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl TestProxy {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start(options: ProxyOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the test proxy on 127.0.0.1")?;
        let addr = listener.local_addr().context("reading the proxy address")?;
        let interceptor = if options.intercept_tls {
            Some(Interceptor::new(options.hosts.keys().cloned().collect())?)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            options,
            interceptor,
            records: Mutex::new(Vec::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(Self {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY` / `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The intercepting CA's certificate (PEM) with `intercept_tls`, for the client's trust store.
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.interceptor.as_ref().map(Interceptor::ca_pem)
    }

    /// Every request so far, in arrival order.
    pub fn records(&self) -> Vec<ProxyRecord> {
        lock(&self.shared.records).clone()
    }

    /// Waits (polling, at most `limit`) for a record that `matches`.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        matches: impl Fn(&ProxyRecord) -> bool,
    ) -> anyhow::Result<ProxyRecord> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(found) = self.records().into_iter().find(|r| matches(r)) {
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "no proxy record of {what} within {limit:?}; records: {:#?}",
                    self.records()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops accepting and drops every relayed connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        }
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    // Dropping the set at the end aborts every connection still relayed.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(serve(client, shared.clone()));
                }
                Err(error) => tracing::warn!("test proxy accept failed: {error}"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One client connection: one `CONNECT` tunnel, or one forwarded request (sent on with
/// `Connection: close`, so the client opens a new connection, and a new record, for the next).
async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let mut reader = BufReader::new(client);
    let Ok(head) = read_head(&mut reader).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or("HTTP/1.1").to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let (kind, authority, path) = if method.eq_ignore_ascii_case("CONNECT") {
        (ProxyKind::Tunnel, target, None)
    } else {
        let Some(rest) = target.strip_prefix("http://") else {
            let _ = respond(reader.get_mut(), "400 Bad Request").await;
            return;
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        (ProxyKind::Forward, authority, Some(path.to_owned()))
    };
    let record = |outcome| ProxyRecord {
        kind,
        target: authority.clone(),
        request: path.as_ref().map(|path| format!("{method} {path}")),
        tls_server_name: None,
        outcome,
    };
    if !authorized(&shared.options, &headers) {
        lock(&shared.records).push(record(ProxyOutcome::AuthRequired));
        let _ = respond(
            reader.get_mut(),
            "407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"sandbox\"",
        )
        .await;
        return;
    }
    let upstream = match connect(&shared.options, &authority).await {
        Ok(upstream) => upstream,
        Err(why) => {
            lock(&shared.records).push(record(ProxyOutcome::Unreachable(why)));
            let _ = respond(reader.get_mut(), "502 Bad Gateway").await;
            return;
        }
    };
    let intercepted = shared.interceptor.as_ref().filter(|_| {
        kind == ProxyKind::Tunnel
            && shared
                .options
                .hosts
                .contains_key(&record(ProxyOutcome::Relayed).host().to_ascii_lowercase())
    });
    if let Some(interceptor) = intercepted {
        if reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        // The reader keeps any bytes the client sent early: they are the start of its hello.
        match interceptor.accept(reader).await {
            Ok((mut tls, name)) => {
                lock(&shared.records).push(ProxyRecord {
                    tls_server_name: name,
                    ..record(ProxyOutcome::Relayed)
                });
                let mut upstream = upstream;
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            }
            Err(why) => lock(&shared.records).push(record(ProxyOutcome::TlsFailed(why))),
        }
        return;
    }
    lock(&shared.records).push(record(ProxyOutcome::Relayed));
    let buffered = reader.buffer().to_vec();
    let mut client = reader.into_inner();
    let mut upstream = upstream;
    let opened = match &path {
        None => {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
        }
        Some(path) => {
            let mut request = format!("{method} {path} {version}\r\n");
            for (name, value) in &headers {
                let hop_by_hop = [
                    "proxy-authorization",
                    "proxy-connection",
                    "connection",
                    "keep-alive",
                ];
                if !hop_by_hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                    request.push_str(&format!("{name}: {value}\r\n"));
                }
            }
            request.push_str("Connection: close\r\n\r\n");
            upstream.write_all(request.as_bytes()).await
        }
    };
    if opened.is_err() || upstream.write_all(&buffered).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

fn authorized(options: &ProxyOptions, headers: &[(String, String)]) -> bool {
    let Some((user, password)) = &options.credentials else {
        return true;
    };
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    headers
        .iter()
        .any(|(name, value)| name.eq_ignore_ascii_case("proxy-authorization") && *value == expected)
}

async fn connect(options: &ProxyOptions, authority: &str) -> Result<TcpStream, String> {
    let (host, port) = split_host_port(authority).ok_or("not host:port")?;
    let asked: u16 = port.parse().map_err(|_| "bad port".to_owned())?;
    let port = *options
        .ports
        .get(&host.to_ascii_lowercase())
        .unwrap_or(&asked);
    let address = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(address) => address,
        Err(_) => *options
            .hosts
            .get(&host.to_ascii_lowercase())
            .ok_or_else(|| format!("{host} is not a host this proxy knows"))?,
    };
    TcpStream::connect((address, port))
        .await
        .map_err(|e| format!("connecting to {address}:{port}: {e}"))
}

fn split_host_port(authority: &str) -> Option<(&str, &str)> {
    authority.rsplit_once(':')
}

async fn respond(client: &mut TcpStream, status: &str) -> std::io::Result<()> {
    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    client.write_all(answer.as_bytes()).await?;
    client.shutdown().await
}

/// The request head up to the blank line; the body, if any, stays in the reader's buffer.
async fn read_head(reader: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push_str(&line);
        if line == "\r\n" || line == "\n" {
            return Ok(head.replace("\r\n", "\n").replace('\n', "\r\n"));
        }
        if head.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too long"));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! A TCP connection to a target, direct or through an HTTP `CONNECT` tunnel, as `ProxySettings` says.

use std::io;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Host, Url};

use crate::config::{ProxyServer, ProxySettings};

/// The longest proxy answer to a `CONNECT` that is read.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// Connects to `url`'s host and port (the scheme's default port when it names none): through
/// the proxy `proxy` picks for it, or directly. TCP_NODELAY is on. Bounding the time is the
/// caller's. Errors name the target and the proxy, never its credentials.
pub async fn dial(proxy: &ProxySettings, url: &Url) -> io::Result<TcpStream> {
    let (host, port) = host_and_port(url)?;
    let stream = match proxy.for_url(url) {
        Some(server) => tunnel(server, &authority(&host, port)).await?,
        None => TcpStream::connect((host.as_str(), port)).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A TCP connection to `server` on which `CONNECT authority` succeeded: from here on, bytes go to
/// the target.
pub async fn tunnel(server: &ProxyServer, authority: &str) -> io::Result<TcpStream> {
    let failed = |what: String| io::Error::other(format!("proxy {server}: {what}"));
    let mut stream = TcpStream::connect((server.host(), server.port()))
        .await
        .map_err(|e| failed(format!("cannot connect: {e}")))?;
    stream.set_nodelay(true)?;
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(header) = basic_authorization(server) {
        request.push_str("Proxy-Authorization: ");
        request.push_str(header.expose_secret());
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| failed(format!("CONNECT {authority} not sent: {e}")))?;
    let head = read_head(&mut stream)
        .await
        .map_err(|e| failed(format!("no answer to CONNECT {authority}: {e}")))?;
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(200..=299) => Ok(stream),
        _ => Err(failed(format!(
            "refused CONNECT {authority}: {}",
            status_line.trim()
        ))),
    }
}

/// `Basic base64(user:password)` for `Proxy-Authorization`, when the proxy has credentials.
pub fn basic_authorization(server: &ProxyServer) -> Option<SecretString> {
    let (user, password) = server.credentials()?;
    let pair = format!("{user}:{}", password.expose_secret());
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    Some(SecretString::from(format!("Basic {encoded}")))
}

/// Reads the proxy's answer up to the blank line, byte by byte so that nothing of the tunnelled
/// stream is taken.
async fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::with_capacity(128);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_RESPONSE_HEAD {
            return Err(io::Error::other("answer head too long"));
        }
        if stream.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The host to connect to (IPv6 without brackets) and the port, the scheme's default if unset.
pub fn host_and_port(url: &Url) -> io::Result<(String, u16)> {
    let host = match url.host() {
        Some(Host::Domain(name)) => name.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{url} names no host"),
            ))
        }
    };
    let port = url.port_or_known_default().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{url} names no port"))
    })?;
    Ok((host, port))
}

/// `host:port`, with brackets around an IPv6 address: what `CONNECT` names.
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

//! A minimal HTTP/1.1 client with one keep-alive connection, for the alarm floor consumer.

use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest response body accepted (ten SQS messages of 256 KiB fit).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most chunks in one chunked body.
const MAX_CHUNKS: usize = 100_000;

/// An `http://host:port/path` URL split into its authority and path (`/` when empty).
pub fn split_http_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("only plain http URLs are supported, got {url:?}"))?;
    let (authority, path) = match rest.split_once('/') {
        Some((authority, path)) => (authority, format!("/{path}")),
        None => (rest, "/".to_string()),
    };
    if authority.is_empty() {
        bail!("no host in {url:?}");
    }
    Ok((authority.to_string(), path))
}

/// A response: status code and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One server, one connection at a time: opened on first use, reused while the server keeps
/// it open, reopened once when a reused connection turns out to be closed.
pub struct HttpClient {
    authority: String,
    connection: Option<Connection>,
}

struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// What the head of a response says about its body.
struct Head {
    status: u16,
    head_len: usize,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
}

impl HttpClient {
    pub fn new(authority: &str) -> Self {
        Self {
            authority: authority.to_string(),
            connection: None,
        }
    }

    /// POSTs `body` to `path` with the given extra headers; the whole exchange within `limit`.
    pub async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        limit: Duration,
    ) -> anyhow::Result<HttpResponse> {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.authority,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        let reused = self.connection.is_some();
        match tokio::time::timeout(limit, self.exchange(&bytes)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) if reused => {
                // The server may have closed an idle keep-alive connection: one fresh try.
                self.connection = None;
                tokio::time::timeout(limit, self.exchange(&bytes))
                    .await
                    .with_context(|| format!("POST {path} timed out after {limit:?}"))?
            }
            Ok(Err(error)) => {
                self.connection = None;
                Err(error)
            }
            Err(_) => {
                self.connection = None;
                bail!("POST {path} timed out after {limit:?}")
            }
        }
    }

    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<HttpResponse> {
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                let stream = TcpStream::connect(&self.authority)
                    .await
                    .with_context(|| format!("connecting to {}", self.authority))?;
                stream.set_nodelay(true)?;
                Connection {
                    stream,
                    buffer: Vec::new(),
                }
            }
        };
        connection.stream.write_all(request).await?;
        let (response, keep) = connection.read_response().await?;
        if keep {
            self.connection = Some(connection);
        }
        Ok(response)
    }
}

impl Connection {
    /// Reads one response; also whether the connection can carry the next request.
    async fn read_response(&mut self) -> anyhow::Result<(HttpResponse, bool)> {
        let head = loop {
            if let Some(head) = parse_head(&self.buffer)? {
                break head;
            }
            if self.buffer.len() > MAX_HEAD_BYTES {
                bail!("the response head is over {MAX_HEAD_BYTES} bytes");
            }
            self.fill().await?;
        };
        self.buffer.drain(..head.head_len);
        let body = if head.chunked {
            self.read_chunked().await?
        } else {
            let length = head.content_length.unwrap_or(0);
            if length > MAX_BODY_BYTES {
                bail!("a {length}-byte response body is over the limit");
            }
            while self.buffer.len() < length {
                self.fill().await?;
            }
            self.buffer.drain(..length).collect()
        };
        let response = HttpResponse {
            status: head.status,
            body,
        };
        Ok((response, !head.close))
    }

    async fn read_chunked(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        for _ in 0..MAX_CHUNKS {
            let line_end = loop {
                if let Some(at) = find(&self.buffer, b"\r\n") {
                    break at;
                }
                self.fill().await?;
            };
            let line = std::str::from_utf8(&self.buffer[..line_end]).context("chunk size")?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16).context("bad chunk size")?;
            if body.len() + size > MAX_BODY_BYTES {
                bail!("the chunked response body is over the limit");
            }
            while self.buffer.len() < line_end + 2 + size + 2 {
                self.fill().await?;
            }
            if size == 0 {
                // No trailers: the final chunk is `0\r\n\r\n`.
                self.buffer.drain(..line_end + 4);
                return Ok(body);
            }
            body.extend_from_slice(&self.buffer[line_end + 2..line_end + 2 + size]);
            self.buffer.drain(..line_end + 2 + size + 2);
        }
        bail!("more than {MAX_CHUNKS} chunks")
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("the server closed the connection");
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The response head at the start of `buffer`, once all of it has arrived.
fn parse_head(buffer: &[u8]) -> anyhow::Result<Option<Head>> {
    let Some(end) = find(buffer, b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buffer[..end]).context("the response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut head = Head {
        status,
        head_len: end + 4,
        content_length: None,
        chunked: false,
        close: false,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => head.content_length = Some(value.parse()?),
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => head.close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    Ok(Some(head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn urls_split_into_authority_and_path() -> anyhow::Result<()> {
        let (authority, path) = split_http_url("http://127.0.0.1:9/api/")?;
        assert_eq!(
            (authority.as_str(), path.as_str()),
            ("127.0.0.1:9", "/api/")
        );
        assert_eq!(split_http_url("http://127.0.0.1:9")?.1, "/");
        assert!(split_http_url("https://example.com/").is_err());
        assert!(split_http_url("http:///x").is_err());
        Ok(())
    }

    /// Answers each request on one connection with the next canned response.
    async fn canned_server(responses: Vec<&'static str>) -> anyhow::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = [0u8; 4096];
            for response in responses {
                if socket.read(&mut buffer).await.unwrap_or(0) == 0 {
                    return;
                }
                if socket.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        Ok(addr)
    }

    #[tokio::test]
    async fn reads_sized_and_chunked_bodies_over_one_connection() -> anyhow::Result<()> {
        let addr = canned_server(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
            "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        ])
        .await?;
        let mut client = HttpClient::new(&addr);
        let limit = Duration::from_secs(5);
        let first = client.post("/x", &[("X-Test", "1")], b"{}", limit).await?;
        assert_eq!(
            (first.status, first.body.as_slice()),
            (200, &b"{\"ok\":true}"[..])
        );
        let second = client.post("/y", &[], b"", limit).await?;
        assert_eq!(
            (second.status, second.body.as_slice()),
            (400, &b"{\"a\":1}"[..])
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_closed_server_is_an_error_not_a_hang() -> anyhow::Result<()> {
        let addr = canned_server(vec![]).await?;
        let mut client = HttpClient::new(&addr);
        let result = client.post("/", &[], b"", Duration::from_secs(5)).await;
        assert!(result.is_err());
        Ok(())
    }
}

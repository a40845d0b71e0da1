//! The benchmark's floor: the least a Socket Mode client can do, i.e. open a connection and ack every envelope.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Longest wait for `apps.connections.open` and for the WebSocket handshake.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest `apps.connections.open` response read.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Arguments of the hidden `floor-client` subcommand (started by `bench` as a child process).
#[derive(Debug, Args)]
pub struct FloorClientArgs {
    /// Web API base URL, http only (e.g. `http://127.0.0.1:PORT/api/`).
    #[arg(long)]
    pub api_url: String,
    /// App-level token for `apps.connections.open`.
    #[arg(long)]
    pub app_token: String,
}

/// The only field of an envelope the floor client reads.
#[derive(Deserialize)]
struct EnvelopeId {
    envelope_id: Option<String>,
}

#[derive(Deserialize)]
struct OpenResponse {
    ok: bool,
    url: Option<String>,
    error: Option<String>,
}

/// Opens one connection and acks every envelope until the server goes away.
pub async fn floor_client(args: FloorClientArgs) -> anyhow::Result<()> {
    let url = tokio::time::timeout(OPEN_TIMEOUT, open_connection(&args))
        .await
        .context("apps.connections.open timed out")??;
    let (mut ws, _response) = tokio::time::timeout(
        OPEN_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url.as_str(), None, true),
    )
    .await
    .context("the WebSocket handshake timed out")?
    .context("the WebSocket handshake failed")?;
    while let Some(message) = ws.next().await {
        let message = match message {
            Ok(message) => message,
            // The server went away (the bench shuts the fake down): a normal end for the floor.
            Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))
            | Err(WsError::ConnectionClosed) => break,
            Err(error) => return Err(error).context("reading from the Socket Mode connection"),
        };
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(EnvelopeId {
            envelope_id: Some(id),
        }) = serde_json::from_str::<EnvelopeId>(text.as_str())
        else {
            continue;
        };
        let ack = format!(r#"{{"envelope_id":{}}}"#, serde_json::to_string(&id)?);
        ws.send(Message::text(ack))
            .await
            .context("writing an ack")?;
    }
    Ok(())
}

/// `POST apps.connections.open` with the app token as Bearer, over plain HTTP/1.1 on loopback.
async fn open_connection(args: &FloorClientArgs) -> anyhow::Result<String> {
    let rest = args
        .api_url
        .strip_prefix("http://")
        .context("the floor client speaks plain http only")?;
    let (authority, base_path) = rest.split_once('/').unwrap_or((rest, ""));
    let base_path = base_path.trim_end_matches('/');
    let path = if base_path.is_empty() {
        "/apps.connections.open".to_string()
    } else {
        format!("/{base_path}/apps.connections.open")
    };
    let mut stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n",
        args.app_token
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .await
        .context("reading the apps.connections.open response")?;
    let text = String::from_utf8(raw).context("the response is not UTF-8")?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("the response has no header end")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!(
            "apps.connections.open answered {}",
            head.lines().next().unwrap_or("")
        );
    }
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    let response: OpenResponse =
        serde_json::from_str(&body).context("the apps.connections.open body is not JSON")?;
    match (response.ok, response.url) {
        (true, Some(url)) => Ok(url),
        _ => bail!(
            "apps.connections.open failed: {}",
            response.error.unwrap_or_else(|| "no url".into())
        ),
    }
}

/// Joins the chunks of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    for _ in 0..10_000 {
        let (size_line, rest) = body.split_once("\r\n").context("truncated chunk size")?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).context("truncated chunk")?;
        out.push_str(chunk);
        body = rest.get(size..).unwrap_or("").trim_start_matches("\r\n");
    }
    bail!("too many chunks")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::{envelopes, FakeSlack, FakeSlackOptions, Target};

    #[tokio::test]
    async fn acks_every_envelope_and_nothing_else() -> anyhow::Result<()> {
        let fake = FakeSlack::start(FakeSlackOptions::default()).await?;
        let args = FloorClientArgs {
            api_url: fake.api_url(),
            app_token: fake.options().app_token.clone(),
        };
        let client = tokio::spawn(floor_client(args));
        let conns = fake.wait_for_connections(1, Duration::from_secs(5)).await?;
        let conn = *conns.first().context("no connection")?;
        for i in 0..50 {
            let text = format!("<@U0BOT> help {i}");
            fake.send(
                Target::Conn(conn),
                envelopes::app_mention("C1", "U1", &text),
            )
            .await?;
        }
        fake.wait_for_acks(50, Duration::from_secs(5)).await?;
        assert_eq!(fake.ack_latencies().len(), 50);
        assert!(fake.acks().iter().all(|a| a.payload.is_none()));
        assert!(fake.malformed_frames().is_empty());
        assert_eq!(fake.calls_to("apps.connections.open").len(), 1);
        assert_eq!(
            fake.calls().len(),
            1,
            "the floor client calls nothing but connections.open"
        );
        fake.shutdown().await;
        tokio::time::timeout(Duration::from_secs(5), client).await???;
        Ok(())
    }

    #[tokio::test]
    async fn a_refused_open_is_an_error() -> anyhow::Result<()> {
        let fake = FakeSlack::start(FakeSlackOptions::default()).await?;
        let args = FloorClientArgs {
            api_url: fake.api_url(),
            app_token: "xapp-1-wrong".into(),
        };
        let error = floor_client(args)
            .await
            .expect_err("a wrong token is refused");
        assert!(error.to_string().contains("invalid_auth"), "{error}");
        Ok(())
    }

    #[test]
    fn dechunk_joins_chunks() -> anyhow::Result<()> {
        assert_eq!(
            dechunk("4\r\n{\"ok\r\n3\r\n\":1\r\n0\r\n\r\n")?,
            "{\"ok\":1"
        );
        assert!(dechunk("zz\r\n").is_err());
        Ok(())
    }
}

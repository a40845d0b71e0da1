//! A bare Socket Mode client and Web API helpers for driving the fake Slack in tests.

#![allow(dead_code)]

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use chatops_sandbox::slack::FakeSlack;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const WAIT: Duration = Duration::from_secs(5);

/// POSTs a form body to a Web API method with a bearer token; returns (status, headers, body text).
pub async fn post_form(
    slack: &FakeSlack,
    method: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
) -> anyhow::Result<(u16, reqwest::header::HeaderMap, String)> {
    let body = serde_urlencoded::to_string(form)?;
    let mut request = reqwest::Client::new()
        .post(format!("{}{method}", slack.api_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.context("sending the request")?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Ok((status, headers, response.text().await?))
}

/// POSTs a JSON body with the bot token and returns the parsed JSON answer.
pub async fn post_json(slack: &FakeSlack, method: &str, body: Value) -> anyhow::Result<Value> {
    let response = reqwest::Client::new()
        .post(format!("{}{method}", slack.api_url()))
        .bearer_auth(&slack.options().bot_token)
        .json(&body)
        .send()
        .await?;
    if response.status() != 200 {
        bail!("{method} answered HTTP {}", response.status());
    }
    Ok(response.json().await?)
}

/// Calls apps.connections.open with the app token and returns the WebSocket URL.
pub async fn open_url(slack: &FakeSlack) -> anyhow::Result<String> {
    let token = slack.options().app_token.clone();
    let (status, _, body) = post_form(slack, "apps.connections.open", Some(&token), &[]).await?;
    let value: Value = serde_json::from_str(&body)?;
    if status != 200 || value["ok"] != true {
        bail!("apps.connections.open failed: {status} {body}");
    }
    value["url"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no url in {body}"))
}

/// Opens a Socket Mode connection and reads its hello.
pub async fn connect(slack: &FakeSlack) -> anyhow::Result<(Ws, Value)> {
    let url = open_url(slack).await?;
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    let hello = next_json(&mut ws, WAIT).await?;
    Ok((ws, hello))
}

/// The next text frame as JSON, skipping pings and pongs.
pub async fn next_json(ws: &mut Ws, timeout: Duration) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    for _ in 0..1000 {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .context("waiting for a text frame")?
            .ok_or_else(|| anyhow!("stream ended"))??;
        match message {
            Message::Text(text) => return Ok(serde_json::from_str(text.as_str())?),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => bail!("unexpected frame {other:?}"),
        }
    }
    bail!("too many control frames")
}

/// Sends an ack for `envelope_id`, with an optional payload.
pub async fn ack(ws: &mut Ws, envelope_id: &str, payload: Option<Value>) -> anyhow::Result<()> {
    let mut ack = serde_json::json!({ "envelope_id": envelope_id });
    if let Some(payload) = payload {
        ack["payload"] = payload;
    }
    ws.send(Message::text(ack.to_string())).await?;
    Ok(())
}

/// Asserts that no text frame arrives within `window` (pings are fine).
pub async fn expect_silence(ws: &mut Ws, window: Duration) -> anyhow::Result<()> {
    match next_json(ws, window).await {
        Ok(frame) => bail!("expected no frame, got {frame}"),
        Err(error) if error.to_string().contains("waiting for a text frame") => Ok(()),
        Err(error) => Err(error),
    }
}

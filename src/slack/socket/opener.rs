//! `apps.connections.open`: a fresh single-use WebSocket URL for every connection attempt.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::secrets::Secret;

/// Why no URL could be had.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The token or workspace is unusable; retrying cannot help.
    #[error("Slack refused the app-level token: {code}")]
    Fatal { code: String },
    /// Slack asked us to wait.
    #[error("apps.connections.open is rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Anything else: network trouble, 5xx, odd answers. Retry with backoff.
    #[error("apps.connections.open failed")]
    Transient(#[source] anyhow::Error),
}

/// The `ok:false` error codes that no retry can fix (node-slack-sdk's list).
pub const FATAL_CODES: &[&str] = &[
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "user_removed_from_team",
    "team_disabled",
    "token_revoked",
    "not_allowed_token_type",
    "missing_scope",
];

/// The codes that refuse the token itself: one fetched again after a rotation may pass.
const TOKEN_REFUSED_CODES: &[&str] = &["invalid_auth", "token_revoked", "token_expired"];

/// Whether `code` refuses the token itself (`invalid_auth`, `token_revoked`, `token_expired`).
pub fn is_token_refused(code: &str) -> bool {
    TOKEN_REFUSED_CODES.contains(&code)
}

/// Asks Slack for WebSocket URLs, with the app-level token.
#[derive(Clone)]
pub struct ConnectionOpener {
    http: reqwest::Client,
    endpoint: Url,
    app_token: Secret,
}

#[derive(Deserialize)]
struct OpenResponse {
    ok: bool,
    url: Option<String>,
    error: Option<String>,
}

impl ConnectionOpener {
    /// An opener whose every call (and connect) is bounded by `request_timeout`.
    pub fn new(
        api_url: &Url,
        app_token: Secret,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        crate::slack::tls::install_crypto_provider();
        let endpoint = api_url.join("apps.connections.open")?;
        let http = reqwest::Client::builder()
            .connect_timeout(request_timeout)
            .timeout(request_timeout)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            endpoint,
            app_token,
        })
    }

    /// A fresh WebSocket URL. When Slack refuses the app-level token itself, the token is
    /// fetched again where it came from (at most once a minute) and, if it changed, the call is
    /// made once more with it.
    pub async fn open(&self) -> Result<Url, OpenError> {
        let seen = self.app_token.generation();
        match self.open_once().await {
            Err(OpenError::Fatal { code }) if is_token_refused(&code) => {
                if !self.app_token.refresh(seen).await.renewed() {
                    return Err(OpenError::Fatal { code });
                }
                tracing::info!(
                    code,
                    source = %self.app_token,
                    "Slack refused the app-level token; trying the value fetched again."
                );
                self.open_once().await
            }
            outcome => outcome,
        }
    }

    async fn open_once(&self) -> Result<Url, OpenError> {
        let transient = |e: anyhow::Error| OpenError::Transient(e);
        let response = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(self.app_token.current().expose())
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() {
                    "no answer within slack.request_timeout"
                } else {
                    "request did not complete"
                };
                transient(anyhow::Error::new(e).context(what))
            })?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(OpenError::RateLimited {
                retry_after: retry_after(response.headers()).unwrap_or(Duration::from_secs(1)),
            });
        }
        if !status.is_success() {
            return Err(transient(anyhow::anyhow!("HTTP {status}")));
        }
        let body: OpenResponse = response.json().await.map_err(|e| {
            let what = if e.is_timeout() {
                "no answer within slack.request_timeout"
            } else {
                "response is not the expected JSON"
            };
            transient(anyhow::Error::new(e).context(what))
        })?;
        match (body.ok, body.url, body.error) {
            (true, Some(url), _) => Url::parse(&url).map_err(|e| {
                transient(anyhow::Error::new(e).context("Slack returned an invalid URL"))
            }),
            (_, _, Some(code)) if code == "ratelimited" => Err(OpenError::RateLimited {
                retry_after: Duration::from_secs(1),
            }),
            (_, _, Some(code)) if FATAL_CODES.contains(&code.as_str()) => {
                Err(OpenError::Fatal { code })
            }
            (_, _, error) => Err(transient(anyhow::anyhow!(
                "Slack answered ok={} error={}",
                body.ok,
                error.as_deref().unwrap_or("none")
            ))),
        }
    }
}

/// `Retry-After` in seconds (Slack never sends the HTTP-date form).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

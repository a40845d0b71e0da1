//! One Confluence REST call as a loop of attempts: auth, JSON, 429/503 retried after
//! `Retry-After` (or a jittered, growing wait), a 401 retried once with the token fetched again
//! (a rotation), every attempt and wait inside one deadline.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, ACCEPT, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::time::Instant;

use super::error::{WikiAction, WikiError, WikiTarget};
use crate::secrets::Secret;

/// The longest piece of Confluence's own error message kept for a human line.
const MAX_MESSAGE_CHARS: usize = 300;

/// How throttled calls (429, 503) are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBackoff {
    /// The ceiling of the first wait when Confluence sends no `Retry-After`.
    pub first: Duration,
    /// That ceiling never grows past this.
    pub max: Duration,
    /// Most calls in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(8),
            max_attempts: 6,
        }
    }
}

impl RetryBackoff {
    /// The wait before retry number `retry` (from 1): `Retry-After` plus up to a tenth of it
    /// (so clients told the same second do not all return at once), else a random wait in
    /// `0..=ceiling`, the ceiling doubling with each retry.
    fn wait_before(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let mut random = rand::rng();
        match retry_after {
            Some(told) => {
                let spread = millis(told / 10).max(50);
                told + Duration::from_millis(random.random_range(0..=spread))
            }
            None => {
                let ceiling = self
                    .first
                    .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
                    .min(self.max);
                Duration::from_millis(random.random_range(0..=millis(ceiling)))
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How requests prove who they are.
pub(super) enum Auth {
    /// Cloud: the account's email and an API token.
    Basic { user: String, token: Secret },
    /// Data Center: a personal access token.
    Bearer(Secret),
}

impl Auth {
    fn secret(&self) -> &Secret {
        match self {
            Self::Basic { token, .. } | Self::Bearer(token) => token,
        }
    }
}

/// One request: method, path under the site root, query, JSON body, and what it is for.
pub(super) struct Call<'a> {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: Option<serde_json::Value>,
    pub(super) action: &'a WikiAction,
}

impl<'a> Call<'a> {
    pub(super) fn get(path: String, action: &'a WikiAction) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            action,
        }
    }

    pub(super) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub(super) fn send_json(mut self, method: Method, body: serde_json::Value) -> Self {
        self.method = method;
        self.body = Some(body);
        self
    }
}

/// What one attempt came back with.
enum Reply {
    Success(Vec<u8>),
    Failure {
        status: StatusCode,
        retry_after: Option<Duration>,
        message: String,
    },
}

/// The HTTP side shared by both flavours.
pub(super) struct Http {
    client: reqwest::Client,
    root: String,
    auth: Auth,
    pub(super) target: WikiTarget,
    pub(super) timeout: Duration,
    pub(super) backoff: RetryBackoff,
}

impl Http {
    pub(super) fn new(
        root: String,
        auth: Auth,
        target: WikiTarget,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .tcp_nodelay(true)
            .build()
            .context("building the Confluence HTTP client")?;
        Ok(Self {
            client,
            root,
            auth,
            target,
            timeout,
            backoff: RetryBackoff::default(),
        })
    }

    /// The site root, without a trailing slash.
    pub(super) fn root(&self) -> &str {
        &self.root
    }

    /// The deadline of an operation starting now.
    pub(super) fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// Runs `call` until a success (its JSON read as `T`), an error that is not throttling, the
    /// last attempt, or a wait that would end past `deadline`.
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<T, WikiError> {
        let mut attempt = 1;
        let mut renewed = false;
        loop {
            let seen = self.auth.secret().generation();
            let reply = match tokio::time::timeout_at(deadline, self.attempt(call)).await {
                Err(_) => {
                    return Err(WikiError::Timeout {
                        limit: self.timeout,
                    })
                }
                Ok(Err(error)) => {
                    return Err(WikiError::Transport {
                        site: self.root.clone(),
                        detail: cause_chain(&error),
                    })
                }
                Ok(Ok(reply)) => reply,
            };
            let (status, retry_after, message) = match reply {
                Reply::Success(body) => return read_json(&body),
                Reply::Failure {
                    status,
                    retry_after,
                    message,
                } => (status, retry_after, message),
            };
            if status == StatusCode::UNAUTHORIZED && !renewed && self.renew(seen, deadline).await {
                renewed = true;
                continue;
            }
            let throttled = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            if !throttled {
                return Err(WikiError::from_status(
                    status.as_u16(),
                    message,
                    call.action,
                    &self.target,
                ));
            }
            let wait = self.backoff.wait_before(attempt, retry_after);
            if attempt >= self.backoff.max_attempts || Instant::now() + wait >= deadline {
                return Err(gave_up(status, attempt, message));
            }
            tracing::info!(
                status = status.as_u16(),
                attempt,
                wait_ms = millis(wait),
                path = %call.path,
                "Confluence is throttling; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// After a 401: fetches the token again (at most once a minute); whether it changed.
    async fn renew(&self, seen: u64, deadline: Instant) -> bool {
        let secret = self.auth.secret();
        let renewed = tokio::time::timeout_at(deadline, secret.refresh(seen))
            .await
            .is_ok_and(|refreshed| refreshed.renewed());
        if renewed {
            tracing::info!(source = %secret, "Confluence refused the token; trying the value fetched again");
        }
        renewed
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Reply, reqwest::Error> {
        let url = format!("{}{}", self.root, call.path);
        let mut request = self
            .client
            .request(call.method.clone(), url)
            .header(ACCEPT, "application/json")
            .header(
                USER_AGENT,
                concat!("chatops-bot/", env!("CARGO_PKG_VERSION")),
            );
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        request = match &self.auth {
            Auth::Basic { user, token } => request.basic_auth(user, Some(token.current().expose())),
            Auth::Bearer(token) => request.bearer_auth(token.current().expose()),
        };
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await?;
        if status.is_success() {
            Ok(Reply::Success(body.to_vec()))
        } else {
            Ok(Reply::Failure {
                status,
                retry_after,
                message: error_message(&body),
            })
        }
    }
}

fn gave_up(status: StatusCode, attempts: u32, message: String) -> WikiError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        WikiError::Throttled {
            status: status.as_u16(),
            attempts,
        }
    } else {
        let said = if message.is_empty() {
            String::new()
        } else {
            format!(" ({message})")
        };
        WikiError::Server {
            status: status.as_u16(),
            detail: format!("still unavailable after {attempts} attempts{said}"),
        }
    }
}

/// `Retry-After` in seconds (the form Confluence sends).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn read_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, WikiError> {
    serde_json::from_slice(body).map_err(|error| WikiError::BadResponse {
        detail: error.to_string(),
    })
}

/// Confluence's own words from an error body: Cloud v2's `errors[].title` (and `detail`), Data
/// Center's `message`, else the start of the text. One line, at most 300 characters.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Entry>,
        message: Option<String>,
    }
    #[derive(Deserialize)]
    struct Entry {
        title: Option<String>,
        detail: Option<String>,
    }
    let text = match serde_json::from_slice::<Body>(body) {
        Ok(parsed) => {
            let mut parts: Vec<String> = parsed
                .errors
                .into_iter()
                .flat_map(|entry| [entry.title, entry.detail])
                .flatten()
                .collect();
            parts.extend(parsed.message);
            parts.retain(|part| !part.trim().is_empty());
            parts.join("; ")
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// `error` and its sources, joined with ": ".
fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_either_flavours_error_body() {
        let cloud = br#"{"errors":[{"status":400,"code":"BAD_REQUEST","title":"A page with this title already exists: A page already exists with the title X in the space with key OPS","detail":null}]}"#;
        assert_eq!(
            error_message(cloud),
            "A page with this title already exists: A page already exists with the title X in \
             the space with key OPS"
        );
        let datacenter = br#"{"statusCode":404,"data":{"authorized":false},"message":"No space with key : NOPE","reason":"Not Found"}"#;
        assert_eq!(error_message(datacenter), "No space with key : NOPE");
        assert_eq!(
            error_message(b"<html>\n  Bad\n gateway</html>"),
            "<html> Bad gateway</html>"
        );
        let long = "x".repeat(1000);
        assert_eq!(error_message(long.as_bytes()).chars().count(), 301);
    }

    #[test]
    fn waits_follow_retry_after_or_grow_with_jitter() {
        let backoff = RetryBackoff::default();
        for retry in 1..=5 {
            let told = backoff.wait_before(retry, Some(Duration::from_secs(2)));
            assert!(told >= Duration::from_secs(2) && told <= Duration::from_millis(2200));
            let own = backoff.wait_before(retry, None);
            assert!(own <= backoff.first * 2u32.pow(retry - 1) && own <= backoff.max);
        }
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}

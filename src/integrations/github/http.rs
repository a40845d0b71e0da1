//! One GitHub REST call as a loop of attempts inside one deadline: GitHub's headers and the
//! credentials on every attempt, rate limits waited out when the budget allows, 502/503/504 and
//! transport failures retried with jittered backoff (never for a call that may have landed), and
//! after a 401 an App's installation token minted again once, or a token fetched again once (a
//! rotation).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{ACCEPT, USER_AGENT};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::auth::{Auth, InstallationToken};
use super::error::{cause_chain, error_message, GitHubError};
use super::rate::RateSigns;
use super::wire;

/// GitHub's REST API version every request asks for.
const API_VERSION: &str = "2022-11-28";
/// Most rate-limit waits in one call (each also bounded by the call's budget).
const MAX_LIMIT_WAITS: u32 = 5;
/// Retries of a 502/503/504 or transport failure, after the first attempt.
const MAX_TRANSIENT_RETRIES: u32 = 4;
/// The ceiling of the first transient backoff; doubles each retry, capped at 8 s.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// The bearer of an attempt, being found (boxed, to break the mint → attempts → bearer cycle).
type Credential<'a> = Pin<Box<dyn Future<Output = Result<SecretString, GitHubError>> + Send + 'a>>;

/// One request: method, path under the API root, query, JSON body.
pub(super) struct Call {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: Option<Vec<u8>>,
    /// Sent at most once once its body may have reached GitHub (a dispatch).
    pub(super) once: bool,
    /// Sent with this bearer instead of the configured credentials (the App's JWT).
    jwt: Option<SecretString>,
}

impl Call {
    pub(super) fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            once: false,
            jwt: None,
        }
    }

    pub(super) fn post_once(path: String, body: Vec<u8>) -> Self {
        Self {
            method: Method::POST,
            body: Some(body),
            once: true,
            ..Self::get(path)
        }
    }

    pub(super) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }
}

/// A successful answer.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
    pub(super) token: TokenSigns,
}

/// What GitHub says about the credentials in its headers.
#[derive(Clone, Debug, Default)]
pub(super) struct TokenSigns {
    /// `github-authentication-token-expiration` (a token with an expiry date).
    pub(super) expiration: Option<String>,
    /// `x-oauth-scopes` (a classic personal access token).
    pub(super) oauth_scopes: Option<String>,
}

impl TokenSigns {
    fn read(headers: &reqwest::header::HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            expiration: text("github-authentication-token-expiration"),
            oauth_scopes: text("x-oauth-scopes"),
        }
    }
}

struct Reply {
    status: u16,
    signs: RateSigns,
    token: TokenSigns,
    body: Vec<u8>,
}

/// The HTTP side: client, API root, credentials, the call budget and the rate-limit gate.
pub(super) struct Http {
    client: reqwest::Client,
    pub(super) root: String,
    /// `owner/repo`, for messages.
    pub(super) repo: String,
    pub(super) auth: Auth,
    pub(super) timeout: Duration,
    /// Set when an answer said no requests are left: later calls wait until then.
    exhausted_until: Mutex<Option<Instant>>,
}

impl Http {
    pub(super) fn new(
        root: String,
        repo: String,
        auth: Auth,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .tcp_nodelay(true)
            .build()
            .context("building the GitHub HTTP client")?;
        Ok(Self {
            client,
            root,
            repo,
            auth,
            timeout,
            exhausted_until: Mutex::new(None),
        })
    }

    /// Runs `call` within `github.timeout` from now.
    pub(super) async fn send(&self, call: &Call) -> Result<Answer, GitHubError> {
        let deadline = Instant::now() + self.timeout;
        match tokio::time::timeout_at(deadline, self.attempts(call, deadline)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(GitHubError::Timeout {
                limit: self.timeout,
            }),
        }
    }

    async fn attempts(&self, call: &Call, deadline: Instant) -> Result<Answer, GitHubError> {
        let mut transient_retries = 0;
        let mut untold_waits = 0;
        let mut limit_waits = 0;
        let mut minted_again = false;
        let mut renewed = false;
        loop {
            self.wait_for_reset(deadline).await?;
            let seen = self.token_generation();
            let bearer = self.bearer(call, deadline).await?;
            let reply = match self.attempt(call, &bearer).await {
                Ok(reply) => reply,
                Err(error) => {
                    // A refused connection never carried the body, so even a dispatch may go again.
                    let may_retry = !call.once || error.is_connect();
                    if may_retry && transient_retries < MAX_TRANSIENT_RETRIES {
                        transient_retries += 1;
                        if self.pause(backoff(transient_retries), deadline).await {
                            continue;
                        }
                    }
                    return Err(GitHubError::Transport {
                        api: self.root.clone(),
                        detail: cause_chain(&error),
                    });
                }
            };
            let now = OffsetDateTime::now_utc();
            if let Some(left) = reply.signs.exhausted_for(now) {
                *lock(&self.exhausted_until) = Some(Instant::now() + left);
            }
            if (200..300).contains(&reply.status) {
                return Ok(Answer {
                    status: reply.status,
                    body: reply.body,
                    token: reply.token,
                });
            }
            let message = error_message(&reply.body);
            match reply.status {
                401 if call.jwt.is_none() && !minted_again && self.forget_token().await => {
                    minted_again = true;
                }
                401 if call.jwt.is_none() && !renewed && self.renew_token(seen).await => {
                    renewed = true;
                }
                401 => return Err(unauthorized(call, message)),
                403 | 429 => {
                    let Some(wait) =
                        reply
                            .signs
                            .limit_wait(reply.status, &message, now, untold_waits)
                    else {
                        return Err(GitHubError::Forbidden { message });
                    };
                    if reply.signs.retry_after.is_none() && reply.signs.remaining != Some(0) {
                        untold_waits += 1;
                    }
                    limit_waits += 1;
                    if Instant::now() + wait >= deadline || limit_waits > MAX_LIMIT_WAITS {
                        let wait = time::Duration::try_from(wait).unwrap_or(time::Duration::MAX);
                        return Err(GitHubError::RateLimited {
                            until: now.saturating_add(wait),
                        });
                    }
                    tracing::info!(status = reply.status, wait_ms = millis(wait), path = %call.path, "GitHub rate limit; waiting");
                    tokio::time::sleep(wait).await;
                }
                502..=504 if !call.once && transient_retries < MAX_TRANSIENT_RETRIES => {
                    transient_retries += 1;
                    if !self.pause(backoff(transient_retries), deadline).await {
                        return Err(server(reply.status, message));
                    }
                }
                404 if call.jwt.is_some() => {
                    return Err(GitHubError::Unauthorized {
                        detail: "the App has no such installation, check installation_id"
                            .to_owned(),
                    })
                }
                404 => {
                    return Err(GitHubError::RepoNotFound {
                        repo: self.repo.clone(),
                    })
                }
                400 | 422 => return Err(GitHubError::Unprocessable { message }),
                status => return Err(server(status, message)),
            }
        }
    }

    /// Sleeps `wait` unless it would end past `deadline`; says whether it slept.
    async fn pause(&self, wait: Duration, deadline: Instant) -> bool {
        if Instant::now() + wait >= deadline {
            return false;
        }
        tokio::time::sleep(wait).await;
        true
    }

    /// After an answer said no requests were left, waits for the reset (or gives up at once
    /// when the reset is past the deadline).
    async fn wait_for_reset(&self, deadline: Instant) -> Result<(), GitHubError> {
        let until = *lock(&self.exhausted_until);
        let Some(until) = until else {
            return Ok(());
        };
        let now = Instant::now();
        if until > now {
            if until >= deadline {
                let left = time::Duration::try_from(until - now).unwrap_or(time::Duration::MAX);
                return Err(GitHubError::RateLimited {
                    until: OffsetDateTime::now_utc().saturating_add(left),
                });
            }
            tracing::info!(
                wait_ms = millis(until - now),
                "GitHub rate limit used up; waiting for the reset"
            );
            tokio::time::sleep_until(until).await;
        }
        let mut gate = lock(&self.exhausted_until);
        if *gate == Some(until) {
            *gate = None;
        }
        Ok(())
    }

    /// The bearer for `call`: its JWT, the token, or the App's installation token (minted when
    /// none is fresh; concurrent calls wait for one mint).
    /// Boxed: minting calls `attempts`, which calls this.
    fn bearer<'a>(&'a self, call: &'a Call, deadline: Instant) -> Credential<'a> {
        Box::pin(async move {
            if let Some(jwt) = &call.jwt {
                return Ok(jwt.clone());
            }
            let app = match &self.auth {
                Auth::Token(token) => return Ok(SecretString::from(token.current().expose())),
                Auth::App(app) => app,
            };
            let mut kept = app.token.lock().await;
            if let Some(token) = kept.as_ref().filter(|token| token.is_fresh()) {
                return Ok(token.secret.clone());
            }
            // Minting twice is harmless, so the exchange is retried like a read.
            let exchange = Call {
                once: false,
                jwt: Some(app.jwt()?),
                ..Call::post_once(
                    format!("/app/installations/{}/access_tokens", app.installation_id),
                    b"{}".to_vec(),
                )
            };
            let answer = self.attempts(&exchange, deadline).await?;
            let minted: wire::InstallationToken = wire::read_json(&answer.body)?;
            let mut token =
                InstallationToken::new(SecretString::from(minted.token), minted.expires_at);
            token.permissions = minted.permissions;
            let secret = token.secret.clone();
            *kept = Some(token);
            tracing::debug!(
                installation_id = app.installation_id,
                "minted a GitHub installation token"
            );
            Ok(secret)
        })
    }

    /// The generation of the configured token (0 for an App, whose tokens are minted).
    fn token_generation(&self) -> u64 {
        match &self.auth {
            Auth::Token(token) => token.generation(),
            Auth::App(_) => 0,
        }
    }

    /// After a 401: fetches the configured token again (at most once a minute); whether it
    /// changed. An App mints instead.
    async fn renew_token(&self, seen: u64) -> bool {
        let Auth::Token(token) = &self.auth else {
            return false;
        };
        let renewed = token.refresh(seen).await.renewed();
        if renewed {
            tracing::info!(source = %token, "GitHub refused the token; trying the value fetched again");
        }
        renewed
    }

    /// The permissions of the App's installation token in use, if one was minted.
    pub(super) async fn installation_permissions(
        &self,
    ) -> Option<std::collections::BTreeMap<String, String>> {
        match &self.auth {
            Auth::Token(_) => None,
            Auth::App(app) => app
                .token
                .lock()
                .await
                .as_ref()
                .map(|token| token.permissions.clone()),
        }
    }

    /// Drops a kept installation token; says whether there was one to drop.
    async fn forget_token(&self) -> bool {
        match &self.auth {
            Auth::Token(_) => false,
            Auth::App(app) => app.token.lock().await.take().is_some(),
        }
    }

    async fn attempt(&self, call: &Call, bearer: &SecretString) -> Result<Reply, reqwest::Error> {
        let url = format!("{}{}", self.root, call.path);
        let mut request = self
            .client
            .request(call.method.clone(), url)
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(
                USER_AGENT,
                concat!("chatops-bot/", env!("CARGO_PKG_VERSION")),
            )
            .bearer_auth(bearer.expose_secret());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let signs = RateSigns::read(response.headers());
        let token = TokenSigns::read(response.headers());
        let body = response.bytes().await?.to_vec();
        tracing::debug!(
            method = %call.method,
            path = %call.path,
            status,
            rate_remaining = ?signs.remaining,
            auth = if call.jwt.is_some() { "jwt" } else { self.auth.kind() },
            "GitHub call"
        );
        Ok(Reply {
            status,
            signs,
            token,
            body,
        })
    }
}

fn unauthorized(call: &Call, message: String) -> GitHubError {
    let detail = if call.jwt.is_some() {
        format!("the App's JWT was refused, check app_id and private_key ({message})")
    } else {
        message
    };
    GitHubError::Unauthorized { detail }
}

fn server(status: u16, message: String) -> GitHubError {
    GitHubError::Server { status, message }
}

/// A random wait in `0..=ceiling`, the ceiling doubling each retry (full jitter).
fn backoff(retry: u32) -> Duration {
    let ceiling = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
        .min(MAX_BACKOFF);
    Duration::from_millis(rand::rng().random_range(0..=millis(ceiling)))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

//! The role commands run as: `StsRole` assumes `aws_commands.role_arn` with STS AssumeRole (on the bot's own credentials, through `egress`), one session per user, kept until 5 minutes before it expires.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use async_trait::async_trait;
use aws_config::timeout::TimeoutConfig;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use crate::config::ProxySettings;

/// Credentials are asked for again this long before they expire.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// How long a session lasts (AssumeRole's default, and the least a role allows as its maximum).
const SESSION_SECONDS: i32 = 3600;
const STS_TIMEOUT: Duration = Duration::from_secs(10);
/// Sessions kept at most (one per user); past it the cache starts over.
const MAX_SESSIONS: usize = 1000;

/// Temporary credentials of the assumed role. `Debug` shows only when they expire.
#[derive(Clone)]
pub struct TemporaryCredentials {
    pub access_key_id: SecretString,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expires: SystemTime,
}

impl TemporaryCredentials {
    /// Every secret part, for scrubbing output.
    pub fn parts(&self) -> [&str; 3] {
        [
            self.access_key_id.expose_secret(),
            self.secret_access_key.expose_secret(),
            self.session_token.expose_secret(),
        ]
    }
}

impl fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Gives the credentials a command runs with.
#[async_trait]
pub trait RoleCredentials: Send + Sync + 'static {
    /// Credentials for the STS session `session_name` (see [`session_name`]).
    async fn credentials(&self, session_name: &str) -> anyhow::Result<TemporaryCredentials>;
}

/// `chatops-bot-<user>`, within STS's `[\w+=,.@-]{2,64}`.
pub fn session_name(user: &str) -> String {
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))
        .collect();
    let mut name = format!("chatops-bot-{user}");
    name.truncate(64);
    name
}

/// AssumeRole on `role_arn`, with the bot's own credentials (the SDK's default chain).
pub struct StsRole {
    role_arn: String,
    region: String,
    endpoint: Option<Url>,
    proxy: ProxySettings,
    client: OnceCell<aws_sdk_sts::Client>,
    cache: Mutex<HashMap<String, TemporaryCredentials>>,
}

impl StsRole {
    /// The role at STS in `region` (or at `endpoint`), reached through `proxy`. Nothing is
    /// called before the first command.
    pub fn new(role_arn: &str, region: &str, endpoint: Option<Url>, proxy: ProxySettings) -> Self {
        Self {
            role_arn: role_arn.to_owned(),
            region: region.to_owned(),
            endpoint,
            proxy,
            client: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn client(&self) -> &aws_sdk_sts::Client {
        self.client
            .get_or_init(|| async {
                let timeouts = TimeoutConfig::builder()
                    .operation_timeout(STS_TIMEOUT)
                    .build();
                let mut loader = crate::egress::aws::aws_config_loader(&self.region, &self.proxy)
                    .timeout_config(timeouts);
                if let Some(endpoint) = &self.endpoint {
                    loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
                }
                aws_sdk_sts::Client::new(&loader.load().await)
            })
            .await
    }

    async fn assume(&self, session_name: &str) -> anyhow::Result<TemporaryCredentials> {
        let answer = self
            .client()
            .await
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(session_name)
            .duration_seconds(SESSION_SECONDS)
            .send()
            .await
            .map_err(aws_sdk_sts::Error::from)
            .with_context(|| format!("STS AssumeRole on {}", self.role_arn))?;
        let credentials = answer
            .credentials()
            .context("STS AssumeRole answered without credentials")?;
        let expires = SystemTime::try_from(*credentials.expiration())
            .context("STS AssumeRole answered an unreadable expiration")?;
        Ok(TemporaryCredentials {
            access_key_id: credentials.access_key_id().into(),
            secret_access_key: credentials.secret_access_key().into(),
            session_token: credentials.session_token().into(),
            expires,
        })
    }
}

#[async_trait]
impl RoleCredentials for StsRole {
    async fn credentials(&self, session_name: &str) -> anyhow::Result<TemporaryCredentials> {
        // One lock over the lookup and the call: two commands of one user share one AssumeRole.
        let mut cache = self.cache.lock().await;
        if let Some(credentials) = cache.get(session_name) {
            if still_fresh(credentials.expires, SystemTime::now()) {
                return Ok(credentials.clone());
            }
        }
        let credentials = self.assume(session_name).await?;
        if cache.len() >= MAX_SESSIONS {
            cache.clear();
        }
        cache.insert(session_name.to_owned(), credentials.clone());
        Ok(credentials)
    }
}

/// Whether credentials expiring at `expires` may still be handed out at `now`.
pub fn still_fresh(expires: SystemTime, now: SystemTime) -> bool {
    expires
        .duration_since(now)
        .is_ok_and(|left| left > REFRESH_BEFORE_EXPIRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_sanitized_and_short() {
        assert_eq!(session_name("U0ALICE"), "chatops-bot-U0ALICE");
        assert_eq!(session_name("U0 A;L$I`CE"), "chatops-bot-U0ALICE");
        assert_eq!(session_name(&"U".repeat(100)).len(), 64);
    }

    #[test]
    fn credentials_are_refreshed_five_minutes_before_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(still_fresh(now + Duration::from_secs(301), now));
        assert!(!still_fresh(now + Duration::from_secs(300), now));
        assert!(!still_fresh(now - Duration::from_secs(1), now));
    }

    #[test]
    fn debug_shows_no_secret() {
        let credentials = TemporaryCredentials {
            access_key_id: "ASIAEXAMPLEKEYID".into(),
            secret_access_key: "secret-access-key-value".into(),
            session_token: "session-token-value".into(),
            expires: SystemTime::UNIX_EPOCH,
        };
        let shown = format!("{credentials:?}");
        for part in credentials.parts() {
            assert!(!shown.contains(part), "{shown}");
        }
    }
}

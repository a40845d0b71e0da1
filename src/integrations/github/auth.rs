//! How requests prove who they are: a token as is, or a GitHub App's RS256 JWT traded for an
//! installation token that is kept until 5 minutes before it expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::error::GitHubError;
use crate::secrets::Secret;

/// How far in the past a JWT's `iat` is put, against clock drift (GitHub's advice).
const JWT_BACKDATE: Duration = Duration::from_secs(60);
/// How long a JWT lives (GitHub takes at most 10 minutes).
const JWT_LIFETIME: Duration = Duration::from_secs(9 * 60);
/// An installation token is replaced this long before GitHub says it expires.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The credentials of every call.
pub(super) enum Auth {
    /// A fine-grained personal access token, sent as is; fetched again once after a 401.
    Token(Secret),
    /// A GitHub App's installation.
    App(AppAuth),
}

impl Auth {
    /// "token" or "app", for `Debug` and logs.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::Token(_) => "token",
            Self::App(_) => "app",
        }
    }
}

/// An installation token and when to stop using it.
#[derive(Clone)]
pub(super) struct InstallationToken {
    pub(super) secret: SecretString,
    refresh_at: Instant,
    /// What GitHub said the token may do when it minted it (`contents` → `write`…).
    pub(super) permissions: std::collections::BTreeMap<String, String>,
}

impl InstallationToken {
    /// A token GitHub said expires at `expires_at`, kept until `TOKEN_REFRESH_MARGIN` before.
    pub(super) fn new(secret: SecretString, expires_at: OffsetDateTime) -> Self {
        let left = expires_at - OffsetDateTime::now_utc();
        let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
        Self {
            secret,
            refresh_at: Instant::now() + left.saturating_sub(TOKEN_REFRESH_MARGIN),
            permissions: std::collections::BTreeMap::new(),
        }
    }

    pub(super) fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

/// A GitHub App installation: the key that signs JWTs, and the installation token in use.
pub(super) struct AppAuth {
    app_id: String,
    key: EncodingKey,
    pub(super) installation_id: u64,
    /// Held while a token is minted, so concurrent calls wait for one mint.
    pub(super) token: tokio::sync::Mutex<Option<InstallationToken>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iat: u64,
    exp: u64,
    iss: &'a str,
}

impl AppAuth {
    /// Reads the PEM key (checked at config load; checked again here).
    pub(super) fn new(
        app_id: String,
        private_key: &Secret,
        installation_id: u64,
    ) -> anyhow::Result<Self> {
        let key = EncodingKey::from_rsa_pem(private_key.current().expose().as_bytes())
            .map_err(|_| anyhow::anyhow!("github.private_key is not an RSA private key (PEM)"))?;
        Ok(Self {
            app_id,
            key,
            installation_id,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// A fresh JWT: `iat` a minute ago, `exp` nine minutes ahead, `iss` the app.
    pub(super) fn jwt(&self) -> Result<SecretString, GitHubError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let claims = Claims {
            iat: now.saturating_sub(JWT_BACKDATE).as_secs(),
            exp: (now + JWT_LIFETIME).as_secs(),
            iss: &self.app_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(SecretString::from)
            .map_err(|error| GitHubError::Unauthorized {
                detail: format!("could not sign the App's JWT: {error}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_dropped_five_minutes_before_it_expires() {
        let secret = SecretString::from("ghs_x");
        let in_an_hour = OffsetDateTime::now_utc() + time::Duration::hours(1);
        assert!(InstallationToken::new(secret.clone(), in_an_hour).is_fresh());
        let in_four_minutes = OffsetDateTime::now_utc() + time::Duration::minutes(4);
        assert!(!InstallationToken::new(secret, in_four_minutes).is_fresh());
    }
}

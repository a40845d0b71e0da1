//! How the fake GitHub checks credentials: the configured token, installation tokens it minted
//! (until they expire), and App JWTs verified RS256 against the test App's public key with
//! GitHub's time rules (`exp` − `iat` at most 10 minutes, `iat` not in the future).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::github::keys::TEST_APP_PUBLIC_KEY;
use crate::github::record::AuthKind;
use crate::github::shared::State;

/// The longest JWT GitHub accepts: `exp` at most 10 minutes after `iat`.
const MAX_JWT_SECONDS: u64 = 10 * 60;
/// How far in the future an `iat` may be (clock drift).
const IAT_DRIFT_SECONDS: u64 = 60;

#[derive(Deserialize)]
struct Claims {
    iat: u64,
    exp: u64,
    iss: String,
}

/// What the request's `Authorization` header is, for the token or the JWT the fake honours.
pub(crate) fn check(state: &State, headers: &HeaderMap, now: Instant) -> AuthKind {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return AuthKind::Missing;
    };
    let Some(credential) = given
        .strip_prefix("Bearer ")
        .or_else(|| given.strip_prefix("token "))
    else {
        return AuthKind::Refused;
    };
    if credential == state.settings.token {
        return AuthKind::Token;
    }
    if let Some(expires) = state.tokens.get(credential) {
        return if now < *expires {
            AuthKind::Installation
        } else {
            AuthKind::Refused
        };
    }
    if is_valid_jwt(credential, &state.settings.app_id) {
        return AuthKind::Jwt;
    }
    AuthKind::Refused
}

fn is_valid_jwt(token: &str, app_id: &str) -> bool {
    let Ok(key) = DecodingKey::from_rsa_pem(TEST_APP_PUBLIC_KEY.as_bytes()) else {
        return false;
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    validation.set_issuer(&[app_id]);
    validation.leeway = 0;
    let Ok(data) = jsonwebtoken::decode::<Claims>(token, &key, &validation) else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default();
    let claims = data.claims;
    claims.iss == app_id
        && claims.exp > claims.iat
        && claims.exp - claims.iat <= MAX_JWT_SECONDS
        && claims.iat <= now + IAT_DRIFT_SECONDS
}

//! What the fake GitHub was asked (one `GitHubRequest` per HTTP request, in arrival order) and
//! the faults tests can queue for the next requests matching a method and path prefix.

use std::time::{Duration, Instant};

/// Which credentials a request carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// No `Authorization` header.
    Missing,
    /// The configured personal access token.
    Token,
    /// An installation token the fake minted and still honours.
    Installation,
    /// A valid App JWT (only `/app/…` routes take it).
    Jwt,
    /// Anything else: a wrong, expired or malformed credential.
    Refused,
}

/// One request as the fake received and answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubRequest {
    pub method: String,
    /// The path, e.g. `/repos/acme/app/dispatches`.
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    pub auth: AuthKind,
    /// The `X-GitHub-Api-Version` header, if sent.
    pub api_version: Option<String>,
    /// The `Accept` header, if sent.
    pub accept: Option<String>,
    /// The status answered; 0 when no answer was given (a hang, or a dropped connection).
    pub status: u16,
    pub at: Instant,
}

/// What a fault does instead of (or after) the work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// 404 `Not Found`.
    NotFound,
    /// 422 with this `message`.
    Unprocessable(String),
    /// 403 permission error with this `message`, and no rate-limit signs.
    Forbidden(String),
    /// 403 `API rate limit exceeded` with `x-ratelimit-remaining: 0` and a reset this far ahead
    /// (whole seconds, rounded up, as GitHub sends Unix seconds).
    RateLimitExhausted { reset_in: Duration },
    /// 403 secondary rate limit with `retry-after`.
    SecondaryLimit { retry_after_secs: u64 },
    /// 429 with `retry-after` when given.
    TooManyRequests { retry_after_secs: Option<u64> },
    /// This status (500, 502, …) with GitHub's error shape.
    Status(u16),
    /// Never answers (until the fake shuts down).
    Hang,
    /// Does the work (a dispatch lands), then drops the connection instead of answering.
    DropAfterWork,
}

/// A fault for the next `times` requests whose method is `method` and whose path starts with
/// `path_prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubFault {
    pub method: String,
    pub path_prefix: String,
    pub times: u32,
    pub kind: FaultKind,
}

impl GitHubFault {
    /// `kind` for the next `times` requests `METHOD path_prefix…`.
    pub fn new(method: &str, path_prefix: &str, times: u32, kind: FaultKind) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.to_owned(),
            times,
            kind,
        }
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0 && self.method == method && path.starts_with(&self.path_prefix)
    }
}

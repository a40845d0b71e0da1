//! What the fake Confluence was asked: one `WikiRequest` per HTTP request, in arrival order,
//! and the faults tests can queue for the next requests.

use std::time::Instant;

/// Which REST API a request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WikiFlavor {
    /// `/wiki/api/v2/…`, Basic auth.
    Cloud,
    /// `/wiki/rest/api/…`, Bearer personal access token.
    DataCenter,
}

/// One request as the fake received and answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WikiRequest {
    pub flavor: WikiFlavor,
    pub method: String,
    /// The path, e.g. `/wiki/api/v2/pages/65537`.
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The JSON body, as sent (empty for GET).
    pub body: String,
    /// Whether the credentials were the right ones for the flavour.
    pub authorized: bool,
    /// The status the fake answered.
    pub status: u16,
    pub at: Instant,
}

/// An answer the fake gives instead of doing the work, for the next `times` requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WikiFault {
    pub status: u16,
    /// `Retry-After` in seconds, if sent.
    pub retry_after: Option<u64>,
    pub times: u32,
}

impl WikiFault {
    /// 429 Too Many Requests with `Retry-After: seconds`, `times` times.
    pub fn throttled(times: u32, seconds: u64) -> Self {
        Self {
            status: 429,
            retry_after: Some(seconds),
            times,
        }
    }

    /// `status` (503, 500, …) without `Retry-After`, `times` times.
    pub fn status(status: u16, times: u32) -> Self {
        Self {
            status,
            retry_after: None,
            times,
        }
    }
}

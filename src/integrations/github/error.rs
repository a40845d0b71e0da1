//! `GitHubError`: why a GitHub call failed, in variants a caller branches on, each with one
//! short line for Slack that says what to check. Messages quote GitHub's own words; never a
//! token or a key.

use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

/// The longest piece of GitHub's own error message kept for a human line.
const MAX_MESSAGE_CHARS: usize = 300;

/// Why a GitHub call gave no result.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// 404 on the repository's routes: GitHub answers the same when the repository is missing
    /// and when the token may not see it.
    #[error("repository {repo} not found, or the token lacks Contents: write")]
    RepoNotFound { repo: String },
    /// 404 on one run: it is not (or no longer) in the repository.
    #[error("workflow run {run_id} not found in {repo}")]
    RunNotFound { repo: String, run_id: u64 },
    /// GitHub refused the request as invalid (422, or 400), with its own message.
    #[error("GitHub refused the request: {message}")]
    Unprocessable { message: String },
    /// The token or the App's key was refused (401).
    #[error(
        "GitHub rejected the bot's credentials (401: bad or expired token, or wrong App key){}",
        suffix(detail)
    )]
    Unauthorized { detail: String },
    /// A 403 that is not a rate limit: the credentials lack a permission.
    #[error("GitHub refused: the bot's token or App lacks a permission (403): {message}")]
    Forbidden { message: String },
    /// Rate limited, and waiting until `until` would pass the call's time budget.
    #[error("GitHub's rate limit is reached; try again after {}", show_time(*until))]
    RateLimited { until: OffsetDateTime },
    /// The call, retries and waits included, took longer than `github.timeout`.
    #[error("GitHub did not answer within {}", humantime::format_duration(*limit))]
    Timeout { limit: Duration },
    /// GitHub could not be reached (DNS, TCP, TLS, a dropped connection).
    #[error("could not reach GitHub at {api}: {detail}")]
    Transport { api: String, detail: String },
    /// GitHub failed (5xx after retries, or another unexpected status).
    #[error("GitHub failed ({status}){}", suffix(message))]
    Server { status: u16, message: String },
    /// A 2xx answer the bot cannot read.
    #[error("GitHub answered something the bot cannot read: {detail}")]
    Protocol { detail: String },
    /// The dispatch body would be over GitHub's size limit; nothing was sent.
    #[error("the deploy request is too large for GitHub ({bytes} bytes, the limit is {limit})")]
    PayloadTooLarge { bytes: usize, limit: usize },
    /// The repository_dispatch `event_type` is not 1 to 100 characters; nothing was sent.
    #[error("the dispatch event type must be 1 to {limit} characters, got {chars}")]
    InvalidEventType { chars: usize, limit: usize },
    /// More top-level `client_payload` keys or workflow inputs than GitHub takes; nothing was
    /// sent.
    #[error("the deploy request has {count} {what}, GitHub takes at most {limit}")]
    InvalidPayload {
        what: &'static str,
        count: usize,
        limit: usize,
    },
}

impl GitHubError {
    /// The one short, human line to show in Slack: what went wrong and what to check.
    pub fn human_message(&self) -> String {
        self.to_string()
    }

    /// Whether the request was certainly never acted on by GitHub (checked before sending, or
    /// refused), so sending it again cannot start a second deploy.
    pub fn never_sent(&self) -> bool {
        match self {
            Self::PayloadTooLarge { .. }
            | Self::InvalidEventType { .. }
            | Self::InvalidPayload { .. }
            | Self::RepoNotFound { .. }
            | Self::RunNotFound { .. }
            | Self::Unprocessable { .. }
            | Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::RateLimited { .. } => true,
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::Server { .. }
            | Self::Protocol { .. } => false,
        }
    }
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn show_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[hour]:[minute]:[second] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

/// GitHub's own words from an error body: `message`, and each `errors[]` entry's `message` or
/// `code`; else the start of the text. One line, at most 300 characters.
pub(super) fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    let text = match serde_json::from_slice::<Body>(body) {
        Ok(parsed) => {
            let mut parts: Vec<String> = parsed.message.into_iter().collect();
            for entry in parsed.errors {
                let said = entry
                    .get("message")
                    .or_else(|| entry.get("code"))
                    .and_then(|value| value.as_str())
                    .map(str::to_owned)
                    .or_else(|| entry.as_str().map(str::to_owned));
                parts.extend(said);
            }
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
pub(super) fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
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
    fn messages_say_what_to_check() {
        let missing = GitHubError::RepoNotFound {
            repo: "acme/app".to_owned(),
        };
        assert_eq!(
            missing.human_message(),
            "repository acme/app not found, or the token lacks Contents: write"
        );
        let limited = GitHubError::RateLimited {
            until: time::macros::datetime!(2026-12-07 04:05:06 UTC),
        };
        assert_eq!(
            limited.human_message(),
            "GitHub's rate limit is reached; try again after 04:05:06 UTC"
        );
        let refused = GitHubError::Unprocessable {
            message: "Unexpected inputs provided: [\"x\"]".to_owned(),
        };
        assert!(refused
            .human_message()
            .contains("Unexpected inputs provided"));
    }
}

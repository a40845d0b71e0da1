//! `WikiError`: why a Confluence call failed, in variants a caller branches on, each with one
//! short line that says what to check. Messages name the site, space, page and user, and quote
//! Confluence's own message; never the token.

use std::time::Duration;

/// Who and where a call went to, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WikiTarget {
    /// `base_url` without a trailing slash.
    pub site: String,
    pub space_key: String,
    /// The configured user; `None` on Data Center when the token alone names the user.
    pub user: Option<String>,
    /// Whether the token is a Data Center personal access token (else a Cloud API token).
    pub personal_access_token: bool,
}

impl WikiTarget {
    /// "user bot@example.com", or "the token's user" when no user is configured.
    pub fn who(&self) -> String {
        match &self.user {
            Some(user) => format!("user {user}"),
            None => "the token's user".to_owned(),
        }
    }

    fn token_name(&self) -> String {
        let kind = if self.personal_access_token {
            "personal access token"
        } else {
            "API token"
        };
        match &self.user {
            Some(user) => format!("the {kind} of {user}"),
            None => format!("the {kind}"),
        }
    }
}

/// What a call was doing, so a status code can be told in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WikiAction {
    /// Looking the space up (Cloud: its id).
    FindSpace,
    /// Looking a page up by title.
    FindPage { title: String },
    /// Reading one page.
    GetPage { id: String },
    /// Creating a page, under `parent` if given.
    CreatePage {
        title: String,
        parent: Option<String>,
    },
    /// Updating one page.
    UpdatePage { id: String },
}

impl WikiAction {
    fn verb(&self, target: &WikiTarget) -> String {
        let space = &target.space_key;
        match self {
            Self::FindSpace => format!("read space {space}"),
            Self::FindPage { .. } => format!("read pages in space {space}"),
            Self::GetPage { id } => format!("read page {id}"),
            Self::CreatePage { .. } => format!("add pages in space {space}"),
            Self::UpdatePage { id } => format!("edit page {id}"),
        }
    }
}

/// Why a Confluence call gave no result.
#[derive(Debug, thiserror::Error)]
pub enum WikiError {
    /// A page with this title already exists in the space (a create, or an update to a taken
    /// title). The caller may find it by title and decide.
    #[error("a page titled {title:?} already exists in space {space_key}")]
    TitleTaken { title: String, space_key: String },
    /// The space, the parent page or the page is not there, or the user may not see it
    /// (Confluence answers both with 404 or an empty result).
    #[error("{what} not found, or {who} may not read it")]
    NotFound { what: String, who: String },
    /// The credentials were refused (401).
    #[error("Confluence rejected {token} (401){}", detail_suffix(detail))]
    Unauthorized { token: String, detail: String },
    /// The user may not do this (403).
    #[error("{who} may not {action} (403){}", detail_suffix(detail))]
    Forbidden {
        who: String,
        action: String,
        detail: String,
    },
    /// The page kept changing under the update: still a version conflict after `attempts`
    /// reads and writes.
    #[error(
        "page {page_id} kept changing while the bot updated it (version conflict after {}); \
         try again",
        count(*attempts, "attempt")
    )]
    VersionConflict { page_id: String, attempts: u32 },
    /// Still 429 (or 503) after `attempts` tries, or the next wait would pass the timeout.
    #[error(
        "Confluence is throttling the bot ({status}, gave up after {}); try again in a minute",
        count(*attempts, "attempt")
    )]
    Throttled { status: u16, attempts: u32 },
    /// The operation, retries included, took longer than `confluence.timeout`.
    #[error("Confluence did not answer within {}", show(*limit))]
    Timeout { limit: Duration },
    /// The site could not be reached (DNS, TCP, TLS, a dropped connection).
    #[error("could not reach Confluence at {site}: {detail}")]
    Transport { site: String, detail: String },
    /// Confluence refused the request as invalid (400), with its own message.
    #[error("Confluence refused the request (400): {0}")]
    BadRequest(String),
    /// Confluence failed (5xx, or another unexpected status).
    #[error("Confluence failed ({status}){}", detail_suffix(detail))]
    Server { status: u16, detail: String },
    /// Confluence answered 2xx with a body the bot cannot read (not JSON, fields missing).
    #[error("Confluence answered something the bot cannot read: {detail}")]
    BadResponse { detail: String },
}

impl WikiError {
    /// The one short, human line to show in Slack: what went wrong and what to check.
    pub fn human_message(&self) -> String {
        self.to_string()
    }

    /// The error for an unsuccessful `status` (429 and 503 are retried before it comes to this)
    /// with Confluence's `message`, for `action` on `target`. A 409 on an update (or a 400 that
    /// says the version is stale) is a `VersionConflict` of one attempt; the update retries it.
    pub(super) fn from_status(
        status: u16,
        message: String,
        action: &WikiAction,
        target: &WikiTarget,
    ) -> Self {
        if matches!(status, 400 | 409) && says_title_taken(&message) {
            let title = match action {
                WikiAction::CreatePage { title, .. } | WikiAction::FindPage { title } => {
                    title.clone()
                }
                _ => String::new(),
            };
            return Self::TitleTaken {
                title,
                space_key: target.space_key.clone(),
            };
        }
        if let WikiAction::UpdatePage { id } = action {
            if status == 409 || (status == 400 && says_version_stale(&message)) {
                return Self::VersionConflict {
                    page_id: id.clone(),
                    attempts: 1,
                };
            }
        }
        match status {
            401 => Self::Unauthorized {
                token: target.token_name(),
                detail: message,
            },
            403 => Self::Forbidden {
                who: target.who(),
                action: action.verb(target),
                detail: message,
            },
            404 => Self::NotFound {
                what: missing_thing(action, target),
                who: target.who(),
            },
            400 => Self::BadRequest(if message.is_empty() {
                "no reason given".to_owned()
            } else {
                message
            }),
            _ => Self::Server {
                status,
                detail: message,
            },
        }
    }
}

/// What a 404 means for `action`.
fn missing_thing(action: &WikiAction, target: &WikiTarget) -> String {
    let space = format!("space {}", target.space_key);
    match action {
        WikiAction::FindSpace | WikiAction::FindPage { .. } => space,
        WikiAction::GetPage { id } | WikiAction::UpdatePage { id } => format!("page {id}"),
        WikiAction::CreatePage {
            parent: Some(parent),
            ..
        } => format!("{space} or parent page {parent}"),
        WikiAction::CreatePage { parent: None, .. } => space,
    }
}

/// Confluence's words for a duplicate title (Cloud and Data Center: "A page with this title
/// already exists: A page already exists with the title X in the space with key K").
fn says_title_taken(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("title already exists") || message.contains("already exists with the title")
}

/// Confluence's words for an update whose version number is not the next one ("Version must be
/// incremented on update. Current version is: N").
fn says_version_stale(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("version must be incremented")
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// "1 attempt", "4 attempts".
fn count(number: u32, noun: &str) -> String {
    if number == 1 {
        format!("1 {noun}")
    } else {
        format!("{number} {noun}s")
    }
}

fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud() -> WikiTarget {
        WikiTarget {
            site: "https://example.atlassian.net/wiki".into(),
            space_key: "OPS".into(),
            user: Some("bot@example.com".into()),
            personal_access_token: false,
        }
    }

    #[test]
    fn status_codes_become_lines_that_say_what_to_check() {
        let find = WikiAction::FindSpace;
        let line = |status, message: &str, action: &WikiAction, target: &WikiTarget| {
            WikiError::from_status(status, message.to_owned(), action, target).human_message()
        };
        assert_eq!(
            line(404, "", &find, &cloud()),
            "space OPS not found, or user bot@example.com may not read it"
        );
        assert_eq!(
            line(401, "", &find, &cloud()),
            "Confluence rejected the API token of bot@example.com (401)"
        );
        let datacenter = WikiTarget {
            user: None,
            personal_access_token: true,
            ..cloud()
        };
        assert_eq!(
            line(401, "", &find, &datacenter),
            "Confluence rejected the personal access token (401)"
        );
        let create = WikiAction::CreatePage {
            title: "T".into(),
            parent: Some("42".into()),
        };
        assert_eq!(
            line(403, "Not permitted", &create, &cloud()),
            "user bot@example.com may not add pages in space OPS (403): Not permitted"
        );
        assert_eq!(
            line(404, "", &create, &datacenter),
            "space OPS or parent page 42 not found, or the token's user may not read it"
        );
        assert_eq!(
            line(
                500,
                "boom",
                &WikiAction::UpdatePage { id: "7".into() },
                &cloud()
            ),
            "Confluence failed (500): boom"
        );
    }

    #[test]
    fn a_duplicate_title_is_told_apart_from_other_bad_requests() {
        let create = WikiAction::CreatePage {
            title: "[INCIDENT] x".into(),
            parent: None,
        };
        let taken = WikiError::from_status(
            400,
            "A page with this title already exists: A page already exists with the title \
             [INCIDENT] x in the space with key OPS"
                .into(),
            &create,
            &cloud(),
        );
        assert!(
            matches!(&taken, WikiError::TitleTaken { title, space_key }
                if title == "[INCIDENT] x" && space_key == "OPS"),
            "{taken:?}"
        );
        let other = WikiError::from_status(400, "Error parsing xhtml".into(), &create, &cloud());
        assert!(matches!(other, WikiError::BadRequest(_)), "{other:?}");
    }
}

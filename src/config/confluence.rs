//! The `[confluence]` section: where incident reports are written, and as whom. The section
//! absent means reporting is off.

use std::time::Duration;

use url::Url;

use super::aws::parse_endpoint_url;
use super::table::{show_duration, Table};
use crate::secrets::Secret;

/// Default of `confluence.timeout`.
pub const DEFAULT_CONFLUENCE_TIMEOUT: Duration = Duration::from_secs(20);
/// Shortest `confluence.timeout`.
const TIMEOUT_MIN: Duration = Duration::from_millis(100);
/// Longest `confluence.timeout`: a report held longer than this is better failed and retried.
const TIMEOUT_MAX: Duration = Duration::from_secs(10 * 60);
/// Longest space key Confluence accepts.
const SPACE_KEY_MAX_CHARS: usize = 255;
/// Most digits of a page id (a 64-bit number).
const PAGE_ID_MAX_DIGITS: usize = 20;

/// Which Confluence the bot talks to: the two speak different REST APIs and authenticate
/// differently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfluenceFlavor {
    /// Confluence Cloud (`*.atlassian.net/wiki`): REST v2, Basic auth with email and API token.
    #[default]
    Cloud,
    /// Confluence Data Center or Server: REST v1 (`/rest/api/content`), Bearer personal access
    /// token.
    DataCenter,
}

impl ConfluenceFlavor {
    /// The word used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::DataCenter => "datacenter",
        }
    }
}

/// `[confluence]`, once read: every default filled in. `Debug` never shows the token.
#[derive(Clone, Debug)]
pub struct ConfluenceConfig {
    /// `confluence.base_url` (the team's secret calls it `wiki_url`): the site's root, such as
    /// `https://example.atlassian.net/wiki`; http or https, no query, no credentials. A trailing
    /// slash is tolerated: use [`ConfluenceConfig::api_root`] to build request URLs.
    pub base_url: Url,
    /// `confluence.user` (the secret's `wiki_user`): the account's email. Required for Cloud
    /// (Basic auth); on Data Center the token names the user, and this only appears in messages.
    pub user: Option<String>,
    /// `confluence.api_token` (the secret's `wiki_api_key`): a Cloud API token, or a Data Center
    /// personal access token. Never in logs, `Debug` or messages.
    pub api_token: Secret,
    /// `confluence.space_key`: the space reports are written in, such as `OPS`.
    pub space_key: String,
    /// `confluence.parent_id`: the page reports are created under; the space's root otherwise.
    pub parent_id: Option<String>,
    /// `confluence.flavor`: `cloud` (the default) or `datacenter`.
    pub flavor: ConfluenceFlavor,
    /// `confluence.timeout`: the longest one operation (find, get, create, update) may take,
    /// retries and their waits included.
    pub timeout: Duration,
}

impl ConfluenceConfig {
    /// `base_url` without a trailing slash: `https://example.atlassian.net/wiki`.
    pub fn api_root(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }

    /// Reads a present `[confluence]` table.
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let base_url = table.string("base_url", check_base_url).optional();
        let user = table.string("user", check_user).optional();
        let api_token = table.secret("api_token", check_token).optional();
        let space_key = table.string("space_key", check_space_key).optional();
        let parent_id = table.string("parent_id", check_page_id).optional();
        let flavor = table
            .string("flavor", check_flavor)
            .or(ConfluenceFlavor::default());
        let timeout = table
            .duration("timeout", check_timeout)
            .or(DEFAULT_CONFLUENCE_TIMEOUT);
        let required = "is required when [confluence] is set";
        let base_url = require(table, "base_url", base_url, required);
        let api_token = require(table, "api_token", api_token, required);
        let space_key = require(table, "space_key", space_key, required);
        let mut cross_check_failed = false;
        if let (Some(ConfluenceFlavor::Cloud), Some(None)) = (flavor, &user) {
            table.report(
                "user",
                "is required when confluence.flavor is \"cloud\": the Atlassian account's email \
                 that the API token belongs to",
            );
            cross_check_failed = true;
        }
        if let (Some(ConfluenceFlavor::Cloud), Some(Some(user))) = (flavor, &user) {
            if !user.contains('@') {
                table.report(
                    "user",
                    format!(
                        "must be the Atlassian account's email when confluence.flavor is \
                         \"cloud\" (API tokens sign in with the email), got {user:?}"
                    ),
                );
                cross_check_failed = true;
            }
        }
        if let (Some(ConfluenceFlavor::Cloud), Some(Some(url))) = (flavor, &base_url) {
            if let Some(problem) = cloud_url_problem(url) {
                table.report("base_url", problem);
                cross_check_failed = true;
            }
        }
        if cross_check_failed {
            return None;
        }
        Some(Self {
            base_url: base_url??,
            user: user?,
            api_token: api_token??,
            space_key: space_key??,
            parent_id: parent_id?,
            flavor: flavor?,
            timeout: timeout?,
        })
    }
}

/// Reports a required key that is absent; passes the lookup on otherwise.
fn require<T>(
    table: &mut Table,
    key: &str,
    value: Option<Option<T>>,
    message: &str,
) -> Option<Option<T>> {
    if matches!(value, Some(None)) {
        table.report(key, message);
    }
    value
}

/// Checked for credentials first, so no message ever quotes a URL that carries a password.
fn check_base_url(raw: String) -> Result<Url, String> {
    let carries_credentials = Url::parse(raw.trim())
        .is_ok_and(|url| !url.username().is_empty() || url.password().is_some());
    if carries_credentials {
        return Err("must not carry credentials: put them in user and api_token".to_owned());
    }
    let url = parse_endpoint_url(raw.clone())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("must name a host, got {raw:?}"));
    }
    Ok(url)
}

/// Cloud serves Confluence under `/wiki`; without it every call is a 404.
fn cloud_url_problem(url: &Url) -> Option<String> {
    let on_atlassian = url
        .host_str()
        .is_some_and(|host| host.ends_with(".atlassian.net"));
    let path = url.path().trim_end_matches('/');
    if on_atlassian && path != "/wiki" {
        let host = url.host_str().unwrap_or_default();
        Some(format!(
            "must be the site's Confluence root, https://{host}/wiki, got {:?}",
            url.as_str()
        ))
    } else {
        None
    }
}

fn check_user(user: String) -> Result<String, String> {
    let user = user.trim().to_owned();
    if user.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "must not contain spaces or control characters, got {user:?}"
        ));
    }
    Ok(user)
}

fn check_token(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters (a stray newline?)".to_owned());
    }
    Ok(())
}

/// A space key: letters and digits, or a personal space's `~` followed by its account id.
fn check_space_key(key: String) -> Result<String, String> {
    let (personal, rest) = match key.strip_prefix('~') {
        Some(rest) => (true, rest),
        None => (false, key.as_str()),
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || (personal && matches!(c, ':' | '-' | '_'));
    let ok =
        !rest.is_empty() && key.chars().count() <= SPACE_KEY_MAX_CHARS && rest.chars().all(allowed);
    if ok {
        Ok(key)
    } else {
        Err(format!(
            "must be a space key such as \"OPS\" (letters and digits, as in the space's URL), \
             got {key:?}"
        ))
    }
}

fn check_page_id(id: String) -> Result<String, String> {
    let id = id.trim().to_owned();
    if !id.is_empty() && id.len() <= PAGE_ID_MAX_DIGITS && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(format!(
            "must be a page id (digits, as in the page's URL …/pages/123456), got {id:?}"
        ))
    }
}

fn check_flavor(flavor: String) -> Result<ConfluenceFlavor, String> {
    match flavor.as_str() {
        "cloud" => Ok(ConfluenceFlavor::Cloud),
        "datacenter" => Ok(ConfluenceFlavor::DataCenter),
        _ => Err(format!(
            "must be \"cloud\" or \"datacenter\", got {flavor:?}"
        )),
    }
}

fn check_timeout(timeout: Duration) -> Result<Duration, String> {
    if (TIMEOUT_MIN..=TIMEOUT_MAX).contains(&timeout) {
        Ok(timeout)
    } else {
        Err(format!(
            "must be between {} and {}, got {}",
            show_duration(TIMEOUT_MIN),
            show_duration(TIMEOUT_MAX),
            show_duration(timeout)
        ))
    }
}

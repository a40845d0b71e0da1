//! The `[github]` section: which repository deploys run in, and how the bot signs in to GitHub
//! (a fine-grained token or a GitHub App). The section absent means deploys are off.

use std::time::Duration;

use url::Url;

use super::aws::parse_endpoint_url;
use super::table::{show_duration, within, Table};
use crate::secrets::Secret;

/// Default of `github.api_url`.
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
/// Default of `github.timeout`.
pub const DEFAULT_GITHUB_TIMEOUT: Duration = Duration::from_secs(30);
/// Shortest `github.timeout`.
const TIMEOUT_MIN: Duration = Duration::from_millis(100);
/// Longest `github.timeout`.
const TIMEOUT_MAX: Duration = Duration::from_secs(10 * 60);
/// Longest account or organisation name GitHub accepts.
const OWNER_MAX_CHARS: usize = 39;
/// Longest repository name GitHub accepts.
const REPO_MAX_CHARS: usize = 100;

/// How the bot proves who it is to GitHub. `Debug` never shows the token or the key.
#[derive(Clone, Debug)]
pub enum GitHubAuth {
    /// `github.token`: a fine-grained personal access token (the old Lambda's
    /// `GITHUB_PERSONAL_ACCESS_TOKEN`), sent as `Authorization: Bearer`. It needs Actions: read,
    /// Contents: read & write, Deployments: read and Metadata: read on the repository.
    Token(Secret),
    /// A GitHub App installed on the repository: the bot signs a JWT with the app's key and
    /// trades it for short-lived installation tokens.
    App {
        /// `github.app_id`: the app's client id (preferred) or numeric app id, as text.
        app_id: String,
        /// `github.private_key`: the app's RSA private key, PEM text. Checked at load time.
        private_key: Secret,
        /// `github.installation_id`: the app's installation on the repository's owner.
        installation_id: u64,
    },
}

/// `[github]`, once read: every default filled in. `Debug` never shows the token or the key.
#[derive(Clone, Debug)]
pub struct GitHubConfig {
    /// `github.api_url`: GitHub's REST root, `https://api.github.com` unless GitHub Enterprise
    /// Server (`https://ghe.example.com/api/v3`); http is accepted for local fakes.
    pub api_url: Url,
    /// `github.owner` (the old Lambda's `GITHUB_ID`): the user or organisation that owns the
    /// repository.
    pub owner: String,
    /// `github.repo` (the old Lambda's `GITHUB_REPO`): the repository whose workflow deploys.
    pub repo: String,
    /// `github.token`, or `github.app_id` + `github.private_key` + `github.installation_id`.
    pub auth: GitHubAuth,
    /// `github.timeout`: the longest one client call may take, retries and rate-limit waits
    /// included.
    pub timeout: Duration,
}

impl GitHubConfig {
    /// `api_url` without a trailing slash.
    pub fn api_root(&self) -> &str {
        self.api_url.as_str().trim_end_matches('/')
    }

    /// Reads a present `[github]` table.
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let api_url = table
            .string("api_url", check_api_url)
            .optional()
            .map(|url| url.unwrap_or_else(default_api_url));
        let owner = table.string("owner", check_owner).optional();
        let repo = table.string("repo", check_repo).optional();
        let token = table.secret("token", check_token).optional();
        let app_id = table.string("app_id", check_app_id).optional();
        let private_key = table.secret("private_key", check_private_key).optional();
        let installation_id = table
            .integer("installation_id", within(1..=i64::MAX))
            .optional();
        let timeout = table
            .duration("timeout", check_timeout)
            .or(DEFAULT_GITHUB_TIMEOUT);
        let required = "is required when [github] is set";
        let owner = require(table, "owner", owner, required);
        let repo = require(table, "repo", repo, required);
        let auth = read_auth(table, token, app_id, private_key, installation_id);
        Some(Self {
            api_url: api_url?,
            owner: owner??,
            repo: repo??,
            auth: auth?,
            timeout: timeout?,
        })
    }
}

fn default_api_url() -> Url {
    Url::parse(DEFAULT_GITHUB_API_URL).expect("the default GitHub API URL parses")
}

/// Exactly one way to sign in: the token, or all three App keys.
fn read_auth(
    table: &mut Table,
    token: Option<Option<Secret>>,
    app_id: Option<Option<String>>,
    private_key: Option<Option<Secret>>,
    installation_id: Option<Option<u64>>,
) -> Option<GitHubAuth> {
    let token_given = matches!(token, None | Some(Some(_)));
    let app_given = [
        matches!(app_id, None | Some(Some(_))),
        matches!(private_key, None | Some(Some(_))),
        matches!(installation_id, None | Some(Some(_))),
    ];
    let any_app = app_given.iter().any(|given| *given);
    if token_given && any_app {
        table.report_table(
            "sign in one way: set token, or app_id, private_key and installation_id, not both",
        );
        return None;
    }
    if !token_given && !any_app {
        table.report_table(
            "needs a way to sign in: token (a fine-grained personal access token), or app_id, \
             private_key and installation_id (a GitHub App)",
        );
        return None;
    }
    if token_given {
        return Some(GitHubAuth::Token(token??));
    }
    let app_required = "is required to sign in as a GitHub App (with app_id, private_key and \
                        installation_id)";
    let app_id = require(table, "app_id", app_id, app_required);
    let private_key = require(table, "private_key", private_key, app_required);
    let installation_id = require(table, "installation_id", installation_id, app_required);
    Some(GitHubAuth::App {
        app_id: app_id??,
        private_key: private_key??,
        installation_id: installation_id??,
    })
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
fn check_api_url(raw: String) -> Result<Url, String> {
    let carries_credentials = Url::parse(raw.trim())
        .is_ok_and(|url| !url.username().is_empty() || url.password().is_some());
    if carries_credentials {
        return Err("must not carry credentials: put them in token or the app keys".to_owned());
    }
    let url = parse_endpoint_url(raw.clone())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("must name a host, got {raw:?}"));
    }
    Ok(url)
}

/// GitHub's rule for account names: 1–39 letters, digits or hyphens.
fn check_owner(owner: String) -> Result<String, String> {
    let ok = (1..=OWNER_MAX_CHARS).contains(&owner.len())
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(owner)
    } else {
        Err(format!(
            "must be a GitHub user or organisation name (1 to {OWNER_MAX_CHARS} letters, digits \
             or hyphens), got {owner:?}"
        ))
    }
}

/// GitHub's rule for repository names: 1–100 letters, digits, `.`, `_` or `-`.
fn check_repo(repo: String) -> Result<String, String> {
    let ok = (1..=REPO_MAX_CHARS).contains(&repo.len())
        && repo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && repo != "."
        && repo != "..";
    if ok {
        Ok(repo)
    } else {
        Err(format!(
            "must be a repository name (1 to {REPO_MAX_CHARS} letters, digits, '.', '_' or '-'), \
             without the owner, got {repo:?}"
        ))
    }
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

fn check_app_id(app_id: String) -> Result<String, String> {
    let app_id = app_id.trim().to_owned();
    if !app_id.is_empty() && app_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(app_id)
    } else {
        Err(format!(
            "must be the app's client id (such as \"Iv23liABCDEF\") or numeric app id, got \
             {app_id:?}"
        ))
    }
}

/// The key must sign: it is parsed as an RSA private key (PKCS#1 or PKCS#8 PEM) and used once.
/// Messages never quote it.
fn check_private_key(key: &str) -> Result<(), String> {
    // The message names the PEM header without writing it out: CI scans every log for PEM headers.
    let unusable = |why: &str| {
        Err(format!(
            "must be the app's RSA private key in PEM form (the .pem file GitHub gave, which \
             starts with a BEGIN RSA PRIVATE KEY line): {why}"
        ))
    };
    let encoding = match jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes()) {
        Ok(encoding) => encoding,
        Err(_) => return unusable("it does not parse as an RSA private key"),
    };
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    let claims = serde_json::json!({"iss": "config-check"});
    if jsonwebtoken::encode(&header, &claims, &encoding).is_err() {
        return unusable(
            "it parses, but cannot sign (RS256 needs an RSA key of 2048 bits or more)",
        );
    }
    Ok(())
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

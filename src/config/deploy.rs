//! The `[deploy]` section: deploys through GitHub Actions from Slack. The section absent means
//! deploys are off.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;
use url::Url;

use super::deploy_environment::{is_environment_name, EnvironmentConfig};
use super::table::{show_duration, Table};

/// Default of `deploy.event_type`.
pub const DEFAULT_EVENT_TYPE: &str = "dev_deploy";
/// Default of `deploy.ref`.
pub const DEFAULT_WORKFLOW_REF: &str = "main";
/// Default of `deploy.approval_timeout` and `deploy.suspect_window`.
pub const DEFAULT_DEPLOY_WINDOW: Duration = Duration::from_secs(30 * 60);
/// How often a running workflow is looked at by default: two GitHub calls (the run, its jobs)
/// each time, so a 3-minute deploy costs about 30 calls in all.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// Default of `deploy.version_pattern`: semver with an optional `v` (and an optional
/// `-pre`/`+build`), `latest`, or a 7 to 40 character commit sha.
pub const DEFAULT_VERSION_PATTERN: &str = r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?|latest|[0-9a-fA-F]{7,40}";
/// GitHub's longest `event_type`.
const EVENT_TYPE_MAX_CHARS: usize = 100;
/// Words the deploy commands give a meaning of their own, so no environment may be named so.
pub const RESERVED_WORDS: [&str; 4] = ["audit", "help", "latest", "to"];
const REF_MAX_CHARS: usize = 255;
const APPROVAL_TIMEOUT_MIN: Duration = Duration::from_secs(60);
const WINDOW_MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// `deploy.version_pattern`, compiled once and anchored at both ends. Equal when written alike.
#[derive(Clone)]
pub struct VersionPattern {
    source: String,
    regex: Regex,
}

impl VersionPattern {
    /// Compiles `source` as a whole-text match (`^(?:source)$`).
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let regex = Regex::new(&format!("^(?:{source})$"))?;
        Ok(Self {
            source: source.to_owned(),
            regex,
        })
    }

    /// Whether the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The pattern as written, unanchored.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl Default for VersionPattern {
    fn default() -> Self {
        Self::new(DEFAULT_VERSION_PATTERN).expect("the default version pattern compiles")
    }
}

impl fmt::Debug for VersionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionPattern({:?})", self.source)
    }
}

impl PartialEq for VersionPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for VersionPattern {}

/// `deploy.workflow` and `deploy.ref`: start that workflow with `workflow_dispatch` instead of a
/// `repository_dispatch` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowDispatch {
    /// `workflow`: the workflow's file name in `.github/workflows/`, such as `deploy.yml`.
    pub file: String,
    /// `ref`: the branch or tag the workflow runs on; `main` by default.
    pub git_ref: String,
}

/// `[deploy.gifs]`: optional pictures on the deploy cards (https only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeployGifs {
    pub deploying: Option<Url>,
    pub success: Option<Url>,
    pub failure: Option<Url>,
}

/// `[deploy]`, once read: every default filled in, every environment checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployConfig {
    /// `event_type`: the `repository_dispatch` event type, 1 to 100 characters of letters,
    /// digits, `.`, `_` and `-`; `dev_deploy` by default.
    pub event_type: String,
    /// `workflow` (with `ref`): use `workflow_dispatch` on that file instead.
    pub workflow: Option<WorkflowDispatch>,
    /// `default_environment`: where a deploy without an environment goes. Required with two or
    /// more environments; with one it is that one.
    pub default_environment: String,
    /// `version_pattern`: what a version may look like.
    pub version_pattern: VersionPattern,
    /// `approval_timeout`: a request not approved within this long expires; 1m..=24h.
    pub approval_timeout: Duration,
    /// `allow_self_approval`: whether a requester's own click counts as an approval.
    pub allow_self_approval: bool,
    /// `suspect_window`: an alarm this soon after a deploy points at it; 0s..=24h.
    pub suspect_window: Duration,
    /// `poll_interval`: how often a running workflow run is looked at; 100ms..=5m, 15s by default.
    pub poll_interval: Duration,
    /// `[deploy.gifs]`.
    pub gifs: DeployGifs,
    /// `[deploy.environments.<name>]`, by name; never empty.
    pub environments: BTreeMap<String, EnvironmentConfig>,
}

impl DeployConfig {
    /// Reads a present `[deploy]` table.
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let event_type = table
            .string("event_type", check_event_type)
            .or(DEFAULT_EVENT_TYPE.to_owned());
        let workflow = table.string("workflow", check_workflow_file).optional();
        let git_ref = table.string("ref", check_git_ref).optional();
        let default_environment = table
            .string("default_environment", Ok::<String, String>)
            .optional();
        let version_pattern = table
            .string("version_pattern", check_version_pattern)
            .or(VersionPattern::default());
        let approval_timeout = table
            .duration("approval_timeout", check_approval_timeout)
            .or(DEFAULT_DEPLOY_WINDOW);
        let allow_self_approval = table.boolean("allow_self_approval").or(false);
        let suspect_window = table
            .duration("suspect_window", check_suspect_window)
            .or(DEFAULT_DEPLOY_WINDOW);
        let poll_interval = table
            .duration("poll_interval", check_poll_interval)
            .or(DEFAULT_POLL_INTERVAL);
        let gifs = table.section("gifs", read_gifs);
        let environments = read_environments(table);
        let workflow = match (workflow, git_ref) {
            (Some(Some(file)), Some(git_ref)) => Some(Some(WorkflowDispatch {
                file,
                git_ref: git_ref.unwrap_or_else(|| DEFAULT_WORKFLOW_REF.to_owned()),
            })),
            (Some(None), Some(Some(_))) => {
                table.report(
                    "ref",
                    "is only used with deploy.workflow (workflow_dispatch); a repository_dispatch \
                     event always runs on the default branch",
                );
                None
            }
            (Some(None), Some(None)) => Some(None),
            (None, _) | (_, None) => None,
        };
        let default_environment =
            settle_default(table, default_environment?, environments.as_ref());
        Some(Self {
            event_type: event_type?,
            workflow: workflow?,
            default_environment: default_environment?,
            version_pattern: version_pattern?,
            approval_timeout: approval_timeout?,
            allow_self_approval: allow_self_approval?,
            suspect_window: suspect_window?,
            poll_interval: poll_interval?,
            gifs: gifs?,
            environments: environments?,
        })
    }
}

/// Every environment, named well and read without problems; at least one.
fn read_environments(table: &mut Table) -> Option<BTreeMap<String, EnvironmentConfig>> {
    let read = table
        .named_tables("environments", |child, _| EnvironmentConfig::read(child))
        .optional()?;
    let read = read.unwrap_or_default();
    if read.is_empty() {
        table.report(
            "environments",
            "at least one environment is required, such as [deploy.environments.staging]",
        );
        return None;
    }
    let mut valid = true;
    let mut environments = BTreeMap::new();
    for (name, environment) in read {
        if !is_environment_name(&name) {
            let message = format!(
                "{name:?} is not a usable environment name: 1 to 32 characters of a-z, 0-9, \
                 \"_\" and \"-\", starting with a letter or digit"
            );
            table.report(&format!("environments.{name}"), message);
            valid = false;
        } else if RESERVED_WORDS.contains(&name.as_str()) {
            let message = format!(
                "{name:?} is a word of the deploy commands ({}), so it cannot name an environment",
                RESERVED_WORDS.join(", ")
            );
            table.report(&format!("environments.{name}"), message);
            valid = false;
        }
        match environment {
            Some(environment) => {
                environments.insert(name, environment);
            }
            None => valid = false,
        }
    }
    valid.then_some(environments)
}

/// `default_environment` must name an environment; with exactly one it defaults to it.
fn settle_default(
    table: &mut Table,
    given: Option<String>,
    environments: Option<&BTreeMap<String, EnvironmentConfig>>,
) -> Option<String> {
    let environments = environments?;
    match given {
        Some(name) if environments.contains_key(&name) => Some(name),
        Some(name) => {
            let known: Vec<&str> = environments.keys().map(String::as_str).collect();
            let message = format!(
                "must name one of the environments ({}), got {name:?}",
                known.join(", ")
            );
            table.report("default_environment", message);
            None
        }
        None if environments.len() == 1 => environments.keys().next().cloned(),
        None => {
            table.report(
                "default_environment",
                "is required when there are two or more environments: where a deploy without \
                 an environment goes",
            );
            None
        }
    }
}

fn read_gifs(table: &mut Table) -> Option<DeployGifs> {
    let deploying = table.string("deploying", check_gif_url).optional();
    let success = table.string("success", check_gif_url).optional();
    let failure = table.string("failure", check_gif_url).optional();
    Some(DeployGifs {
        deploying: deploying?,
        success: success?,
        failure: failure?,
    })
}

fn check_gif_url(raw: String) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("not a URL ({error}): {raw:?}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("must be an https URL, got {raw:?}"));
    }
    Ok(url)
}

fn check_event_type(event_type: String) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let length = event_type.chars().count();
    if (1..=EVENT_TYPE_MAX_CHARS).contains(&length) && event_type.chars().all(allowed) {
        Ok(event_type)
    } else {
        Err(format!(
            "must be 1 to {EVENT_TYPE_MAX_CHARS} characters of letters, digits, \".\", \"_\" \
             and \"-\", got {event_type:?}"
        ))
    }
}

fn check_workflow_file(file: String) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let stem = file
        .strip_suffix(".yml")
        .or_else(|| file.strip_suffix(".yaml"));
    match stem {
        Some(stem) if !stem.is_empty() && file.chars().all(allowed) => Ok(file),
        _ => Err(format!(
            "must be a workflow file name such as \"deploy.yml\" (.yml or .yaml, no \
             directories), got {file:?}"
        )),
    }
}

fn check_git_ref(git_ref: String) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    let well_formed = (1..=REF_MAX_CHARS).contains(&git_ref.len())
        && git_ref.chars().all(allowed)
        && !git_ref.starts_with(['/', '-', '.'])
        && !git_ref.ends_with(['/', '.'])
        && !git_ref.contains("..")
        && !git_ref.contains("//");
    if well_formed {
        Ok(git_ref)
    } else {
        Err(format!(
            "must be a branch or tag name such as \"main\" or \"release/1.2\", got {git_ref:?}"
        ))
    }
}

fn check_version_pattern(source: String) -> Result<VersionPattern, String> {
    if source.trim().is_empty() {
        return Err("must not be empty; leave it out for the default".to_owned());
    }
    VersionPattern::new(&source).map_err(|error| {
        let shown = error.to_string();
        let last_line = shown.lines().last().unwrap_or_default().trim();
        let reason = last_line.strip_prefix("error: ").unwrap_or(last_line);
        format!("is not a valid regular expression ({reason}): {source:?}")
    })
}

fn check_approval_timeout(timeout: Duration) -> Result<Duration, String> {
    if (APPROVAL_TIMEOUT_MIN..=WINDOW_MAX).contains(&timeout) {
        Ok(timeout)
    } else {
        Err(format!(
            "must be between {} and {}, got {}",
            show_duration(APPROVAL_TIMEOUT_MIN),
            show_duration(WINDOW_MAX),
            show_duration(timeout)
        ))
    }
}

fn check_poll_interval(interval: Duration) -> Result<Duration, String> {
    let (min, max) = (Duration::from_millis(100), Duration::from_secs(300));
    if (min..=max).contains(&interval) {
        Ok(interval)
    } else {
        Err(format!(
            "must be between 100ms and 5m, got {}",
            show_duration(interval)
        ))
    }
}

fn check_suspect_window(window: Duration) -> Result<Duration, String> {
    if window <= WINDOW_MAX {
        Ok(window)
    } else {
        Err(format!(
            "must be at most {} (\"0s\" turns it off), got {}",
            show_duration(WINDOW_MAX),
            show_duration(window)
        ))
    }
}

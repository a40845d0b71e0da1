//! Typed, validated configuration: a TOML file, overridden by environment variables.
//!
//! Layers (later wins): the TOML file; `SLACK_APP_TOKEN` / `SLACK_BOT_TOKEN`; any
//! `CHATOPS_<SECTION>__<KEY>` variable (`CHATOPS_SLACK__SOCKET__PING_INTERVAL` sets
//! `slack.socket.ping_interval`). Loading reports every problem at once, each with its full key
//! path; unknown keys are problems too. Tokens never appear in `Debug`, `Display` or errors.
//! Arrays of tables (`[[alarms.route]]`) can only come from the file. Cross-section checks
//! (`aws.region` against `alarms.queue_url`) run once both sections are read.
//!
//! Adding a section: a new file with a struct, its `Default` and a `read(&mut Table)`, plus one
//! field and one `root.section(…)` line in [`Config::from_tree`].

mod alarms;
mod aws;
mod bedrock;
mod confluence;
mod errors;
mod github;
mod load;
mod log;
mod reach;
mod route;
mod runbook;
mod slack;
mod socket;
mod store;
mod table;
mod vocabulary;

use std::path::Path;

use ::config::{Map, Value};

pub use alarms::{AlarmsConfig, MAX_VISIBILITY_TIMEOUT, MIN_VISIBILITY_TIMEOUT};
pub use aws::{region_of_queue_url, AwsConfig};
pub use bedrock::{
    BedrockConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENT, DEFAULT_PER_CHANNEL_PER_HOUR,
    DEFAULT_PER_USER_PER_HOUR, DEFAULT_TIMEOUT, MAX_AGENT_ID_LEN,
};
pub use confluence::{ConfluenceConfig, ConfluenceFlavor, DEFAULT_CONFLUENCE_TIMEOUT};
pub use errors::{ConfigErrors, ConfigProblem};
pub use github::{GitHubAuth, GitHubConfig, DEFAULT_GITHUB_API_URL, DEFAULT_GITHUB_TIMEOUT};
pub use log::{LogConfig, LogFormat};
pub use reach::unreachable_routes;
pub(crate) use route::glob_problem;
pub use route::{RouteConfig, RouteMatch, MAX_ROUTE_CHANNELS};
pub use runbook::{Placeholder, RunbookTemplate};
pub use slack::{CommandNames, SlackConfig, SlashCommandSpec};
pub use socket::SocketConfig;
pub use store::StoreConfig;
pub(crate) use vocabulary::compile_glob;
pub use vocabulary::{
    alarm_state_name, looks_like_region_code, NotificationKind, UnknownNotificationKind,
};

use table::Table;

/// The whole configuration of the bot.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub slack: SlackConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub aws: AwsConfig,
    pub alarms: AlarmsConfig,
    /// `[bedrock]`; `None` (the section absent) turns the Bedrock agent off.
    pub bedrock: Option<BedrockConfig>,
    /// `[confluence]`; `None` (the section absent) turns incident reports off.
    pub confluence: Option<ConfluenceConfig>,
    /// `[github]`; `None` (the section absent) turns deploys off.
    pub github: Option<GitHubConfig>,
}

/// What the configuration is loaded for; decides which keys are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Running the bot: both Slack tokens are required.
    Run,
    /// Printing the app manifest, which comes before there are tokens: tokens are optional,
    /// but any given is still checked.
    Manifest,
}

impl Config {
    /// Loads `path`, overridden by the process environment.
    pub fn load(path: impl AsRef<Path>, purpose: Purpose) -> Result<Self, ConfigErrors> {
        Self::load_with_env(path, load::process_env(), purpose)
    }

    /// Loads `path`, overridden by `env` instead of the process environment.
    pub fn load_with_env(
        path: impl AsRef<Path>,
        env: impl IntoIterator<Item = (String, String)>,
        purpose: Purpose,
    ) -> Result<Self, ConfigErrors> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = load::read_file(path).map_err(|problem| ConfigErrors {
            file: file.clone(),
            problems: vec![problem],
        })?;
        Self::load_from_str(&file, &text, env, purpose)
    }

    /// Loads TOML `text` (named `file` in errors), overridden by `env`.
    pub fn load_from_str(
        file: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        purpose: Purpose,
    ) -> Result<Self, ConfigErrors> {
        let errors = |problems| ConfigErrors {
            file: file.to_owned(),
            problems,
        };
        let tree = load::merge(text, env).map_err(|problem| errors(vec![problem]))?;
        Self::from_tree(tree, purpose).map_err(errors)
    }

    fn from_tree(tree: Map<String, Value>, purpose: Purpose) -> Result<Self, Vec<ConfigProblem>> {
        let mut root = Table::root(tree);
        let slack = root.section("slack", |table| SlackConfig::read(table, purpose));
        let store = root.section("store", StoreConfig::read);
        let log = root.section("log", LogConfig::read);
        let mut aws = root.section("aws", AwsConfig::read);
        let alarms = root.section("alarms", AlarmsConfig::read);
        if let (Some(aws), Some(alarms)) = (aws.as_mut(), alarms.as_ref()) {
            aws.settle_region(alarms, &mut root);
        }
        let bedrock =
            root.optional_section("bedrock", |table| BedrockConfig::read(table, aws.as_ref()));
        let confluence = root.optional_section("confluence", ConfluenceConfig::read);
        let github = root.optional_section("github", GitHubConfig::read);
        let problems = root.finish();
        let sections = (slack, store, log, aws, alarms, bedrock, confluence, github);
        match sections {
            (
                Some(slack),
                Some(store),
                Some(log),
                Some(aws),
                Some(alarms),
                Some(bedrock),
                Some(confluence),
                Some(github),
            ) if problems.is_empty() => Ok(Self {
                slack,
                store,
                log,
                aws,
                alarms,
                bedrock,
                confluence,
                github,
            }),
            _ => Err(problems),
        }
    }
}

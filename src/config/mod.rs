//! Typed, validated configuration: a TOML file, overridden by environment variables.
//!
//! Layers (later wins): the TOML file; `SLACK_APP_TOKEN` / `SLACK_BOT_TOKEN`; any
//! `CHATOPS_<SECTION>__<KEY>` variable (`CHATOPS_SLACK__SOCKET__PING_INTERVAL` sets
//! `slack.socket.ping_interval`). Then any string value may be a reference (`env:NAME`,
//! `file:PATH`, `credential:NAME`, `aws-secretsmanager:ID#key`; `literal:` escapes one),
//! resolved before the typed readers (`resolving.rs`). Loading reports every problem at once,
//! each with its full key path; unknown keys are problems too. Tokens are `Secret`s and never
//! appear in `Debug`, `Display` or errors.
//! Arrays of tables (`[[alarms.route]]`) can only come from the file. Cross-section checks
//! (`aws.region` against `alarms.queue_url`) run once both sections are read. The proxy
//! variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) are read from the same
//! environment into [`Config::proxy`]; a problem with one is keyed by the variable's name.
//!
//! Adding a section: a new file with a struct, its `Default` and a `read(&mut Table)`, plus one
//! field and one `root.section(…)` line in [`Config::from_tree`].

mod action_template;
mod actions;
mod alarms;
mod aws;
mod aws_commands;
mod bedrock;
mod confluence;
mod deploy;
mod deploy_environment;
mod errors;
mod github;
mod load;
mod log;
mod metrics;
mod no_proxy;
mod proxy;
mod reach;
mod references;
mod resolving;
mod route;
mod runbook;
mod slack;
mod socket;
mod sources;
mod store;
mod table;
mod vocabulary;

use std::collections::BTreeMap;
use std::path::Path;

use ::config::{Map, Value};

pub use action_template::{is_variable_name, ArgTemplate, Piece, TemplateVar};
pub use actions::{
    is_action_name, ActionConfig, VariableConfig, DEFAULT_ACTION_APPROVAL_TIMEOUT,
    MAX_ACTION_NAME_CHARS,
};
pub use alarms::{AlarmsConfig, MAX_VISIBILITY_TIMEOUT, MIN_VISIBILITY_TIMEOUT};
pub use aws::{region_of_queue_url, AwsConfig, AwsService};
pub use aws_commands::{
    wildcard, AwsChannel, AwsCommandsConfig, OperationGlob, DEFAULT_ALLOW, DEFAULT_CLI_TIMEOUT,
};
pub use bedrock::{
    BedrockConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENT, DEFAULT_PER_CHANNEL_PER_HOUR,
    DEFAULT_PER_USER_PER_HOUR, DEFAULT_TIMEOUT, MAX_AGENT_ID_LEN,
};
pub use confluence::{ConfluenceConfig, ConfluenceFlavor, DEFAULT_CONFLUENCE_TIMEOUT};
pub use deploy::{
    DeployConfig, DeployGifs, VersionPattern, WorkflowDispatch, DEFAULT_DEPLOY_WINDOW,
    DEFAULT_EVENT_TYPE, DEFAULT_VERSION_PATTERN, DEFAULT_WORKFLOW_REF, RESERVED_WORDS,
};
pub use deploy_environment::{
    is_environment_name, EnvironmentConfig, SlackPrincipal, MAX_APPROVALS,
    MAX_ENVIRONMENT_NAME_CHARS,
};
pub use errors::{ConfigErrors, ConfigProblem};
pub use github::{GitHubAuth, GitHubConfig, DEFAULT_GITHUB_API_URL, DEFAULT_GITHUB_TIMEOUT};
pub(crate) use load::process_env;
pub use log::{LogConfig, LogFormat};
pub use metrics::{MetricsConfig, DEFAULT_METRICS_LISTEN};
pub use no_proxy::NoProxy;
pub use proxy::{Direct, ProxyServer, ProxySettings, Route};
pub use reach::unreachable_routes;
pub(crate) use route::glob_problem;
pub use route::{RouteConfig, RouteMatch, MAX_ROUTE_CHANNELS};
pub use runbook::{Placeholder, RunbookTemplate};
pub use slack::{CommandNames, SlackConfig, SlashCommandSpec};
pub use socket::SocketConfig;
pub use sources::ValueSource;
pub use store::StoreConfig;
pub(crate) use vocabulary::compile_glob;
pub use vocabulary::{
    alarm_state_name, looks_like_region_code, NotificationKind, UnknownNotificationKind,
};

use crate::secrets::Reference;
use resolving::Pending;
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
    /// `[deploy]`; `None` (the section absent) turns deploys off. Deploys need `[github]` too.
    pub deploy: Option<DeployConfig>,
    /// `[github]`: the repository whose workflow deploys; without `[deploy]` it is unused.
    pub github: Option<GitHubConfig>,
    /// `[metrics]`; `None` (the section absent) means no listener: no `/metrics`, no `/healthz`.
    pub metrics: Option<MetricsConfig>,
    /// `[aws_commands]`; `None` (the section absent) turns `@bot aws …` off.
    pub aws_commands: Option<AwsCommandsConfig>,
    /// `[[actions]]`: custom actions (AWS CLI commands with approvals); empty means none.
    pub actions: Vec<ActionConfig>,
    /// The keys whose value was written as a reference, and the reference (never the value).
    pub references: BTreeMap<String, Reference>,
    /// The outbound proxies, from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` in the
    /// environment (not the file). Every HTTP, WebSocket and AWS client takes it.
    pub proxy: ProxySettings,
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

/// The file's name as messages show it, and its text (a read failure is its one problem).
fn read_text(path: &Path) -> Result<(String, String), ConfigErrors> {
    let file = path.display().to_string();
    let text = load::read_file(path).map_err(|problem| ConfigErrors {
        file: file.clone(),
        problems: vec![problem],
    })?;
    Ok((file, text))
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
        let (file, text) = read_text(path.as_ref())?;
        Self::load_from_str(&file, &text, env, purpose)
    }

    /// Loads TOML `text` (named `file` in errors), overridden by `env`. `env:`, `file:` and
    /// `credential:` references are resolved; an `aws-secretsmanager:` one is a problem here
    /// (use [`Config::resolve_from_str`], which fetches it).
    pub fn load_from_str(
        file: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        purpose: Purpose,
    ) -> Result<Self, ConfigErrors> {
        let mut pending = Pending::new(file, text, env.into_iter().collect())?;
        pending.refuse_remote(
            "Secrets Manager is read only when the bot runs (chatops-bot run, check, manifest)",
        );
        pending.finish(purpose)
    }

    /// Every slash command the bot registers, in manifest order: `/<prefix>-help`,
    /// `/<prefix>-stats` and `/<prefix>-echo`, then the three deploy commands when `[deploy]` is set (a loaded config
    /// with `[deploy]` has `[github]` too, so deploys are on).
    pub fn slash_commands(&self) -> Vec<SlashCommandSpec> {
        let mut commands = vec![
            self.slack.help_command(),
            self.slack.stats_command(),
            self.slack.echo_command(),
        ];
        if self.deploy.is_some() {
            commands.extend(self.slack.deploy_commands());
        }
        commands.extend(self.actions.iter().filter(|a| a.slash).map(|action| {
            SlashCommandSpec::new(
                format!("/{}-{}", self.slack.command_prefix, action.name),
                &action.description,
                &action
                    .args
                    .iter()
                    .map(|a| format!("[{a}]"))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        }));
        commands
    }

    fn from_tree(
        tree: Map<String, Value>,
        purpose: Purpose,
        file: &str,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut root = Table::root(tree, file);
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
        let deploy = root.optional_section("deploy", DeployConfig::read);
        if let (Some(Some(deploy)), Some(alarms)) = (&deploy, &alarms) {
            root.report_all(unknown_alarm_routes(deploy, alarms));
        }
        let github = root.optional_section("github", GitHubConfig::read);
        root.report_all(deploys_without_github(&deploy, &github));
        let metrics = root.optional_section("metrics", MetricsConfig::read);
        let aws_commands = root.optional_section("aws_commands", |table| {
            AwsCommandsConfig::read(table, aws.as_ref())
        });
        let actions = read_actions(&mut root, slack.as_ref(), alarms.as_ref());
        if let (Some(actions), Some(None)) = (&actions, &aws_commands) {
            if !actions.is_empty() {
                root.report(
                    "actions",
                    "custom actions run through the AWS CLI as the role of [aws_commands], \
                     which is not set: add [aws_commands] with role_arn",
                );
            }
        }
        let problems = root.finish();
        let sections = (
            slack,
            store,
            log,
            aws,
            alarms,
            bedrock,
            confluence,
            deploy,
            github,
            metrics,
            aws_commands,
        );
        match sections {
            (
                Some(slack),
                Some(store),
                Some(log),
                Some(aws),
                Some(alarms),
                Some(bedrock),
                Some(confluence),
                Some(deploy),
                Some(github),
                Some(metrics),
                Some(aws_commands),
            ) if problems.is_empty() && actions.is_some() => Ok(Self {
                slack,
                store,
                log,
                aws,
                alarms,
                bedrock,
                confluence,
                deploy,
                github,
                metrics,
                aws_commands,
                actions: actions.unwrap_or_default(),
                references: BTreeMap::new(),
                proxy: ProxySettings::default(),
            }),
            _ => Err(problems),
        }
    }
}

/// `[[actions]]`, each read, then checked against the routes and the bot's slash commands.
fn read_actions(
    root: &mut Table,
    slack: Option<&SlackConfig>,
    alarms: Option<&AlarmsConfig>,
) -> Option<Vec<ActionConfig>> {
    let read = root
        .tables("actions", |table, _| ActionConfig::read(table))
        .or(Vec::new())?;
    let read_well: Vec<(usize, &ActionConfig)> = read
        .iter()
        .enumerate()
        .filter_map(|(index, action)| action.as_ref().map(|a| (index, a)))
        .collect();
    let routes: Vec<String> = alarms
        .map(|a| a.routes.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default();
    let (builtin, prefix) = match slack {
        Some(slack) => {
            let mut builtin = vec![
                slack.help_command().name,
                slack.stats_command().name,
                slack.echo_command().name,
            ];
            builtin.extend(slack.deploy_commands().map(|c| c.name));
            (builtin, slack.command_prefix.clone())
        }
        None => (Vec::new(), String::new()),
    };
    let problems = actions::cross_checks(&read_well, &routes, &builtin, &prefix);
    let valid = problems.is_empty() && read_well.len() == read.len();
    root.report_all(problems);
    valid.then(|| read.into_iter().flatten().collect())
}

/// Every `deploy.environments.<env>.alarm_routes[i]` that names no `[[alarms.route]]`.
/// `[deploy]` without `[github]`: deploys would have nowhere to go. (A section that failed to
/// read has its own problems already, so only `[github]` absent outright is named here;
/// `[github]` alone is harmless and leaves deploys off.)
fn deploys_without_github<D, G>(
    deploy: &Option<Option<D>>,
    github: &Option<Option<G>>,
) -> Vec<ConfigProblem> {
    match (deploy, github) {
        (Some(Some(_)), Some(None)) => vec![ConfigProblem::new(
            "github",
            "[deploy] is set but [github] is missing: deploys need the repository whose workflow they start",
        )],
        _ => vec![],
    }
}

fn unknown_alarm_routes(deploy: &DeployConfig, alarms: &AlarmsConfig) -> Vec<ConfigProblem> {
    let known: Vec<&str> = alarms
        .routes
        .iter()
        .map(|route| route.name.as_str())
        .collect();
    let mut problems = Vec::new();
    for (name, environment) in &deploy.environments {
        for (index, route) in environment.alarm_routes.iter().enumerate() {
            if known.contains(&route.as_str()) {
                continue;
            }
            let message = if known.is_empty() {
                format!("{route:?} names no [[alarms.route]]: there are none")
            } else {
                format!(
                    "{route:?} names no [[alarms.route]] (known: {})",
                    known.join(", ")
                )
            };
            let key = format!("deploy.environments.{name}.alarm_routes[{index}]");
            problems.push(ConfigProblem::new(key, message));
        }
    }
    problems
}

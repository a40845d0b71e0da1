//! The `[slack]` section: tokens, Web API address, Socket Mode connections and app identity.

use std::time::Duration;

use url::Url;

use super::socket::SocketConfig;
use super::table::{show_duration, within, Table};
use super::Purpose;
use crate::secrets::Secret;

const DEFAULT_API_URL: &str = "https://slack.com/api/";
const APP_NAME_MAX_CHARS: usize = 35;
const COMMAND_PREFIX_MAX_CHARS: usize = 20;
/// Longest `slack.channel_interval`: slower than this is a stalled channel, not pacing.
const CHANNEL_INTERVAL_MAX: Duration = Duration::from_secs(60);
/// Shortest `slack.request_timeout`: below this, a healthy but distant Slack would time out.
const REQUEST_TIMEOUT_MIN: Duration = Duration::from_millis(100);
/// Longest `slack.request_timeout`: a call held longer than this stalls the pipeline behind it.
const REQUEST_TIMEOUT_MAX: Duration = Duration::from_secs(120);

/// `[slack]`: how the bot reaches Slack and how it presents itself.
#[derive(Clone, Debug)]
pub struct SlackConfig {
    /// `slack.app_token`: app-level token (`xapp-…`, scope `connections:write`) for Socket Mode.
    pub app_token: Option<Secret>,
    /// `slack.bot_token`: bot token (`xoxb-…`) for the Web API.
    pub bot_token: Option<Secret>,
    /// `slack.api_url`: Web API base, http or https, always ending in `/`.
    pub api_url: Url,
    /// `slack.connections`: Socket Mode connections held open at once, 1..=10.
    pub connections: u8,
    /// `slack.app_name`: the app's display name in the manifest, 1..=35 characters.
    pub app_name: String,
    /// `slack.command_prefix`: slash commands are `/<prefix>-help` and so on.
    pub command_prefix: String,
    /// `slack.channel_interval`: least time between messages the bot posts or updates in one
    /// channel once its burst is spent, at most 60s. Zero turns per-channel pacing off.
    pub channel_interval: Duration,
    /// `slack.channel_burst`: messages one channel may get back to back after a quiet spell, 1..=50.
    pub channel_burst: u32,
    /// `slack.request_timeout`: the longest one HTTP attempt to Slack (Web API, `response_url`,
    /// `apps.connections.open`) may take, connecting included; 100ms..=2m. A timed-out attempt
    /// fails like a 5xx and is retried.
    pub request_timeout: Duration,
    /// `[slack.socket]`: Socket Mode timing and limits.
    pub socket: SocketConfig,
}

/// One slash command as the manifest declares it and the router answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlashCommandSpec {
    /// With the leading slash, e.g. `/platform-help`.
    pub name: String,
    pub description: String,
    pub usage_hint: String,
}

impl SlashCommandSpec {
    pub(crate) fn new(name: String, description: &str, usage_hint: &str) -> Self {
        Self {
            name,
            description: description.to_owned(),
            usage_hint: usage_hint.to_owned(),
        }
    }
}

impl SlackConfig {
    /// `/<prefix>-help`, always registered.
    pub fn help_command(&self) -> SlashCommandSpec {
        SlashCommandSpec::new(
            self.command_names().help,
            "Show what this bot can do and how to ask it",
            "[command]",
        )
    }

    /// `/<prefix>-stats`, always registered.
    pub fn stats_command(&self) -> SlashCommandSpec {
        SlashCommandSpec::new(
            self.command_names().stats,
            "Show how fast the bot delivers alarms, acks Slack and answers (p50-p99)",
            "",
        )
    }

    /// `/<prefix>-echo`, always registered.
    pub fn echo_command(&self) -> SlashCommandSpec {
        SlashCommandSpec::new(
            self.command_names().echo,
            "Check the bot is alive: your text back, its version, uptime and connections",
            "[text]",
        )
    }

    /// `/<prefix>-deploy`, `/<prefix>-status` and `/<prefix>-rollback`, in manifest order:
    /// registered when `[deploy]` is set (see [`Config::slash_commands`](super::Config::slash_commands)).
    pub fn deploy_commands(&self) -> [SlashCommandSpec; 3] {
        let names = self.command_names();
        [
            SlashCommandSpec::new(
                names.deploy,
                "Deploy a version to an environment through GitHub Actions",
                "[version] [to <env>]",
            ),
            SlashCommandSpec::new(
                names.status,
                "Show each environment's version, runs, approvals and alarms, or the audit trail",
                "[env] | audit [n]",
            ),
            SlashCommandSpec::new(
                names.rollback,
                "Roll an environment back to its previous version, or to the one given",
                "[env] [to <version>]",
            ),
        ]
    }

    /// The slash command names the router matches, from `command_prefix`.
    pub fn command_names(&self) -> CommandNames {
        CommandNames::new(&self.command_prefix)
    }

    pub(crate) fn read(table: &mut Table, purpose: Purpose) -> Option<Self> {
        let defaults = Self::default();
        let app_token = TokenKind::App.read(table, purpose);
        let bot_token = TokenKind::Bot.read(table, purpose);
        let api_url = table.string("api_url", parse_api_url).or(defaults.api_url);
        let connections = table
            .integer("connections", within(1..=10))
            .or(defaults.connections);
        let app_name = table
            .string("app_name", check_app_name)
            .or(defaults.app_name);
        let command_prefix = table
            .string("command_prefix", check_command_prefix)
            .or(defaults.command_prefix);
        let channel_interval = table
            .duration("channel_interval", check_channel_interval)
            .or(defaults.channel_interval);
        let channel_burst = table
            .integer("channel_burst", within(1..=50))
            .or(defaults.channel_burst);
        let request_timeout = table
            .duration("request_timeout", check_request_timeout)
            .or(defaults.request_timeout);
        let socket = table.section("socket", SocketConfig::read);
        Some(Self {
            app_token: app_token?,
            bot_token: bot_token?,
            api_url: api_url?,
            connections: connections?,
            app_name: app_name?,
            command_prefix: command_prefix?,
            channel_interval: channel_interval?,
            channel_burst: channel_burst?,
            request_timeout: request_timeout?,
            socket: socket?,
        })
    }
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            app_token: None,
            bot_token: None,
            api_url: Url::parse(DEFAULT_API_URL).expect("the default Slack API URL is valid"),
            connections: 2,
            app_name: "ChatOps Bot".to_owned(),
            command_prefix: "platform".to_owned(),
            channel_interval: Duration::from_secs(1),
            channel_burst: 4,
            request_timeout: Duration::from_secs(10),
            socket: SocketConfig::default(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    App,
    Bot,
}

impl TokenKind {
    fn key(self) -> &'static str {
        match self {
            Self::App => "app_token",
            Self::Bot => "bot_token",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::App => "xapp-",
            Self::Bot => "xoxb-",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::App => "an app-level token with the connections:write scope",
            Self::Bot => "a bot token, from the app's OAuth & Permissions page",
        }
    }

    fn variable(self) -> &'static str {
        match self {
            Self::App => "SLACK_APP_TOKEN",
            Self::Bot => "SLACK_BOT_TOKEN",
        }
    }

    fn missing_message(self) -> String {
        format!(
            "is required to run the bot: set {} (or slack.{}) to {}",
            self.variable(),
            self.key(),
            self.what()
        )
    }

    /// Reads this token; `Purpose::Run` requires it.
    fn read(self, table: &mut Table, purpose: Purpose) -> Option<Option<Secret>> {
        let token = table.secret(self.key(), |raw| self.check(raw)).optional();
        if purpose == Purpose::Run && matches!(token, Some(None)) {
            table.report(self.key(), self.missing_message());
        }
        token
    }

    /// Accepts `raw` as this kind of token. Messages quote at most its first five characters.
    fn check(self, text: &str) -> Result<(), String> {
        let prefix = self.prefix();
        if !text.starts_with(prefix) {
            return Err(format!(
                "must start with {prefix:?} ({}), got {}",
                self.what(),
                self.describe_wrong_prefix(text)
            ));
        }
        if text.len() == prefix.len() {
            return Err(format!("is incomplete: nothing follows {prefix:?}"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains whitespace or control characters (a stray newline?)".to_owned());
        }
        Ok(())
    }

    fn describe_wrong_prefix(self, text: &str) -> String {
        let head = text.get(..5).filter(|head| looks_like_token_prefix(head));
        let Some(head) = head else {
            return if text.is_empty() {
                "an empty string".to_owned()
            } else {
                "a value that does not look like a Slack token".to_owned()
            };
        };
        let hint = match (self, head) {
            (Self::App, "xoxb-") => " (a bot token: it belongs in slack.bot_token)",
            (Self::Bot, "xapp-") => " (an app-level token: it belongs in slack.app_token)",
            (_, "xoxp-") => " (a user token: the bot needs its own tokens)",
            _ => "",
        };
        format!("\"{head}…\"{hint}")
    }
}

/// Four lower-case letters and a dash, like every Slack token prefix.
fn looks_like_token_prefix(head: &str) -> bool {
    let bytes = head.as_bytes();
    bytes.len() == 5 && bytes[..4].iter().all(u8::is_ascii_lowercase) && bytes[4] == b'-'
}

fn parse_api_url(raw: String) -> Result<Url, String> {
    let mut url =
        Url::parse(raw.trim()).map_err(|error| format!("not a URL ({error}): {raw:?}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must be an http or https URL, got {raw:?}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("must not have a query or fragment, got {raw:?}"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn check_app_name(name: String) -> Result<String, String> {
    let length = name.chars().count();
    if name.trim().is_empty() {
        return Err("must not be blank".to_owned());
    }
    if length > APP_NAME_MAX_CHARS {
        return Err(format!(
            "must be at most {APP_NAME_MAX_CHARS} characters (Slack's limit for an app name), got {length}"
        ));
    }
    Ok(name)
}

fn check_channel_interval(interval: Duration) -> Result<Duration, String> {
    if interval > CHANNEL_INTERVAL_MAX {
        return Err(format!(
            "must be at most {} (\"0s\" turns pacing off), got {}",
            show_duration(CHANNEL_INTERVAL_MAX),
            show_duration(interval)
        ));
    }
    Ok(interval)
}

fn check_request_timeout(timeout: Duration) -> Result<Duration, String> {
    if !(REQUEST_TIMEOUT_MIN..=REQUEST_TIMEOUT_MAX).contains(&timeout) {
        return Err(format!(
            "must be between {} and {}, got {}",
            show_duration(REQUEST_TIMEOUT_MIN),
            show_duration(REQUEST_TIMEOUT_MAX),
            show_duration(timeout)
        ));
    }
    Ok(timeout)
}

fn check_command_prefix(prefix: String) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let length = prefix.chars().count();
    if (1..=COMMAND_PREFIX_MAX_CHARS).contains(&length) && prefix.chars().all(allowed) {
        Ok(prefix)
    } else {
        Err(format!(
            "must be 1 to {COMMAND_PREFIX_MAX_CHARS} characters of a-z, 0-9 and \"-\", got {prefix:?}"
        ))
    }
}

/// The slash commands this deployment registers, derived from `slack.command_prefix`.
#[derive(Clone, Debug)]
pub struct CommandNames {
    pub prefix: String,
    pub help: String,
    /// `/<prefix>-deploy [version] [to] [env]`.
    pub deploy: String,
    /// `/<prefix>-status [env]`, `/<prefix>-status audit [n]`.
    pub status: String,
    /// `/<prefix>-rollback [env] [to version]`.
    pub rollback: String,
    /// `/<prefix>-stats`: latency percentiles.
    pub stats: String,
    /// `/<prefix>-echo [text]`: a liveness probe.
    pub echo: String,
}

impl CommandNames {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            help: format!("/{prefix}-help"),
            deploy: format!("/{prefix}-deploy"),
            status: format!("/{prefix}-status"),
            rollback: format!("/{prefix}-rollback"),
            stats: format!("/{prefix}-stats"),
            echo: format!("/{prefix}-echo"),
        }
    }
}

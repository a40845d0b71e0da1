//! The deploy slash commands' grammar: text → [`DeployCommand`], pure and fixture-tested.
//!
//! - `/<prefix>-deploy [version] [to] [env]`: `v1.2.3`, `v1.2.3 to prod`, `v1.2.3 prod`,
//!   `to prod`, `prod`, or nothing (`latest` to `deploy.default_environment`). A bare word is a
//!   version when `deploy.version_pattern` accepts it, else an environment when one is so
//!   named, else an error; `to <env>` is never ambiguous. (No environment may be named like a
//!   word of the grammar: `config::RESERVED_WORDS`.)
//! - `/<prefix>-rollback [env] [to version]`: `prod`, `prod to v1.2.2`, `to v1.2.2`, or nothing.
//! - `/<prefix>-status [env]`, `/<prefix>-status audit [n]` (n from 1 to 100, 10 by default).
//! - `help` after any of them.
//!
//! Words are split on any whitespace; keywords ignore case. Text longer than
//! [`MAX_COMMAND_CHARS`], text with anything but printable ASCII in its words, and text that
//! Slack formatted (`<mailto:…>`, `<http…|…>`, `<@U…>`, `&amp;`) is refused whole, never mended.

use thiserror::Error;

use crate::config::{CommandNames, DeployConfig};

/// Longest text a deploy command may carry, in characters.
pub const MAX_COMMAND_CHARS: usize = 200;
/// Longest version, whatever `deploy.version_pattern` accepts.
pub const MAX_VERSION_CHARS: usize = 128;
/// Audit entries `/<prefix>-status audit` shows without a count.
pub const DEFAULT_AUDIT_ENTRIES: u16 = 10;
/// Most audit entries one `/<prefix>-status audit n` shows.
pub const MAX_AUDIT_ENTRIES: u16 = 100;
/// Longest piece of the user's text quoted back in an error.
const MAX_ECHO_CHARS: usize = 40;
const LATEST: &str = "latest";
/// No command takes more words than `v1.2.3 to prod`.
const MAX_WORDS: usize = 3;

/// A version that passed `deploy.version_pattern` and is at most [`MAX_VERSION_CHARS`] of
/// `A-Z a-z 0-9 . _ + -`. Only [`Version::parse`] and [`Version::latest`] make one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// Checks `text` (from Slack, or read back from the store) against the configuration.
    pub fn parse(text: &str, config: &DeployConfig) -> Result<Self, CommandProblem> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-');
        let plain =
            !text.is_empty() && text.len() <= MAX_VERSION_CHARS && text.chars().all(allowed);
        if plain && config.version_pattern.is_match(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(CommandProblem::NotAVersion { given: echo(text) })
        }
    }

    /// `latest`, the version of a deploy that names none, when the pattern accepts it.
    pub fn latest(config: &DeployConfig) -> Result<Self, CommandProblem> {
        Self::parse(LATEST, config).map_err(|_| CommandProblem::VersionRequired)
    }

    /// Whether this is `latest` rather than a fixed version.
    pub fn is_latest(&self) -> bool {
        self.0 == LATEST
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of a configured `[deploy.environments.<name>]`. Only [`EnvName::parse`] and
/// [`EnvName::default_of`] make one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvName(String);

impl EnvName {
    /// The configured environment `text` names, ignoring ASCII case.
    pub fn parse(text: &str, config: &DeployConfig) -> Result<Self, CommandProblem> {
        let lower = text.to_ascii_lowercase();
        if config.environments.contains_key(&lower) {
            Ok(Self(lower))
        } else {
            Err(CommandProblem::UnknownEnvironment {
                given: echo(text),
                known: config.environments.keys().cloned().collect(),
            })
        }
    }

    /// `deploy.default_environment`.
    pub fn default_of(config: &DeployConfig) -> Self {
        Self(config.default_environment.clone())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a deploy slash command asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeployCommand {
    /// Deploy `version` (perhaps `latest`) to `environment`.
    Deploy {
        version: Version,
        environment: EnvName,
    },
    /// Go back to `to`, or by default to the last successful deployment before the current one.
    Rollback {
        environment: EnvName,
        to: Option<Version>,
    },
    /// The state of one environment, or of all.
    Status { environment: Option<EnvName> },
    /// The last `entries` audit entries (approvers only).
    Audit { entries: u16 },
    /// The grammar, explained.
    Help,
}

/// Why a command's text was refused. Messages quote at most 40 characters of the text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CommandProblem {
    #[error("That is too long: at most {max} characters.")]
    TooLong { max: usize },
    #[error("Please type plain text: letters, digits and . _ + - only.")]
    NotPlainText,
    #[error("Slack turned part of that into a link or a mention; type versions and environments as plain words.")]
    SlackFormatting,
    #[error("`{given}` is not an environment here (environments: {}).", known.join(", "))]
    UnknownEnvironment { given: String, known: Vec<String> },
    #[error("`{given}` is not a version: versions look like v1.2.3, latest, or a commit sha.")]
    NotAVersion { given: String },
    #[error("`{given}` is neither a version nor an environment.")]
    NeitherVersionNorEnvironment { given: String },
    #[error("`to` must be followed by {expected}.")]
    NothingAfterTo { expected: &'static str },
    #[error("I did not expect `{given}` there.")]
    UnexpectedWord { given: String },
    #[error("Please name the version to deploy: `latest` is not allowed here.")]
    VersionRequired,
    #[error("A rollback goes to a fixed version, not `latest`.")]
    RollbackToLatest,
    #[error("`{given}` is not a number of audit entries (1 to {MAX_AUDIT_ENTRIES}).")]
    BadAuditCount { given: String },
}

/// A refused command: what was wrong, and the command's grammar to show with it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{problem}\n{usage}")]
pub struct CommandError {
    pub problem: CommandProblem,
    /// The usage line of the command that was refused, with its configured name.
    pub usage: String,
}

/// Which of the three commands a text was given to.
#[derive(Clone, Copy)]
enum Which {
    Deploy,
    Rollback,
    Status,
}

/// `/<prefix>-deploy [version] [to] [env]`.
pub fn parse_deploy(
    text: &str,
    config: &DeployConfig,
    names: &CommandNames,
) -> Result<DeployCommand, CommandError> {
    parse_with(text, Which::Deploy, names, |words| deploy(words, config))
}

/// `/<prefix>-rollback [env] [to version]`.
pub fn parse_rollback(
    text: &str,
    config: &DeployConfig,
    names: &CommandNames,
) -> Result<DeployCommand, CommandError> {
    parse_with(text, Which::Rollback, names, |words| {
        rollback(words, config)
    })
}

/// `/<prefix>-status [env]` and `/<prefix>-status audit [n]`.
pub fn parse_status(
    text: &str,
    config: &DeployConfig,
    names: &CommandNames,
) -> Result<DeployCommand, CommandError> {
    parse_with(text, Which::Status, names, |words| status(words, config))
}

fn parse_with(
    text: &str,
    which: Which,
    names: &CommandNames,
    parse: impl FnOnce(&[&str]) -> Result<DeployCommand, CommandProblem>,
) -> Result<DeployCommand, CommandError> {
    let error = |problem| CommandError {
        problem,
        usage: usage_of(which, names),
    };
    let words = words(text).map_err(error)?;
    if let [word] = words.as_slice() {
        if matches!(
            word.to_ascii_lowercase().as_str(),
            "help" | "-h" | "--help" | "?"
        ) {
            return Ok(DeployCommand::Help);
        }
    }
    if let Some(extra) = words.get(MAX_WORDS) {
        return Err(error(unexpected_word(extra)));
    }
    parse(&words).map_err(error)
}

/// The words of `text`, or why the text is refused as a whole.
fn words(text: &str) -> Result<Vec<&str>, CommandProblem> {
    if text.chars().count() > MAX_COMMAND_CHARS {
        return Err(CommandProblem::TooLong {
            max: MAX_COMMAND_CHARS,
        });
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    // Checked before plain text: `<http://x|x>` is Slack's doing, not the user's typing.
    if words.iter().any(|word| word.contains(['<', '>', '&'])) {
        return Err(CommandProblem::SlackFormatting);
    }
    if words
        .iter()
        .any(|word| !word.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(CommandProblem::NotPlainText);
    }
    Ok(words)
}

fn is_to(word: &str) -> bool {
    word.eq_ignore_ascii_case("to")
}

fn deploy(words: &[&str], config: &DeployConfig) -> Result<DeployCommand, CommandProblem> {
    let (version, environment) = match words {
        [] => (Version::latest(config)?, EnvName::default_of(config)),
        [to] if is_to(to) => {
            return Err(CommandProblem::NothingAfterTo {
                expected: "an environment",
            })
        }
        [to, env] if is_to(to) => (Version::latest(config)?, EnvName::parse(env, config)?),
        [word] => bare_word(word, config)?,
        [version, to] if is_to(to) => {
            Version::parse(version, config)?;
            return Err(CommandProblem::NothingAfterTo {
                expected: "an environment",
            });
        }
        [version, env] => (
            Version::parse(version, config)?,
            EnvName::parse(env, config)?,
        ),
        [version, to, env] if is_to(to) => (
            Version::parse(version, config)?,
            EnvName::parse(env, config)?,
        ),
        [_, unexpected, ..] => return Err(unexpected_word(unexpected)),
    };
    Ok(DeployCommand::Deploy {
        version,
        environment,
    })
}

/// A version if the pattern accepts it, else an environment if one is so named.
fn bare_word(word: &str, config: &DeployConfig) -> Result<(Version, EnvName), CommandProblem> {
    if let Ok(version) = Version::parse(word, config) {
        return Ok((version, EnvName::default_of(config)));
    }
    match EnvName::parse(word, config) {
        Ok(environment) => Ok((Version::latest(config)?, environment)),
        Err(_) => Err(CommandProblem::NeitherVersionNorEnvironment { given: echo(word) }),
    }
}

fn rollback(words: &[&str], config: &DeployConfig) -> Result<DeployCommand, CommandProblem> {
    let (environment, to) = match words {
        [] => (EnvName::default_of(config), None),
        [to] | [_, to] if is_to(to) => {
            return Err(CommandProblem::NothingAfterTo {
                expected: "a version",
            })
        }
        [to, version] if is_to(to) => (EnvName::default_of(config), Some(version)),
        [env] => (EnvName::parse(env, config)?, None),
        [env, version] => (EnvName::parse(env, config)?, Some(version)),
        [env, to, version] if is_to(to) => (EnvName::parse(env, config)?, Some(version)),
        [_, unexpected, ..] => return Err(unexpected_word(unexpected)),
    };
    let to = match to {
        Some(version) if version.eq_ignore_ascii_case(LATEST) => {
            return Err(CommandProblem::RollbackToLatest)
        }
        Some(version) => Some(Version::parse(version, config)?),
        None => None,
    };
    Ok(DeployCommand::Rollback { environment, to })
}

fn status(words: &[&str], config: &DeployConfig) -> Result<DeployCommand, CommandProblem> {
    let is_audit = |word: &str| word.eq_ignore_ascii_case("audit");
    match words {
        [] => Ok(DeployCommand::Status { environment: None }),
        [audit] if is_audit(audit) => Ok(DeployCommand::Audit {
            entries: DEFAULT_AUDIT_ENTRIES,
        }),
        [audit, count] if is_audit(audit) => match count.parse::<u16>() {
            Ok(entries) if (1..=MAX_AUDIT_ENTRIES).contains(&entries) => {
                Ok(DeployCommand::Audit { entries })
            }
            _ => Err(CommandProblem::BadAuditCount { given: echo(count) }),
        },
        [env] => Ok(DeployCommand::Status {
            environment: Some(EnvName::parse(env, config)?),
        }),
        [_, unexpected, ..] => Err(unexpected_word(unexpected)),
    }
}

fn unexpected_word(word: &str) -> CommandProblem {
    CommandProblem::UnexpectedWord { given: echo(word) }
}

/// At most [`MAX_ECHO_CHARS`] of `text`, marked when cut. Callers have already refused
/// anything but printable ASCII without Slack's markup; the message is still escaped where it
/// is shown.
fn echo(text: &str) -> String {
    if text.chars().count() <= MAX_ECHO_CHARS {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_ECHO_CHARS).collect();
        format!("{head}…")
    }
}

fn usage_of(which: Which, names: &CommandNames) -> String {
    let line = match which {
        Which::Deploy => format!("{} [version] [to] [env]", names.deploy),
        Which::Rollback => format!("{} [env] [to version]", names.rollback),
        Which::Status => format!("{} [env]  or  {} audit [n]", names.status, names.status),
    };
    let help = match which {
        Which::Deploy => &names.deploy,
        Which::Rollback => &names.rollback,
        Which::Status => &names.status,
    };
    format!("Usage: `{line}` (`{help} help` explains more).")
}

/// The usage lines of all three commands, one a line.
pub fn usage(names: &CommandNames) -> String {
    [Which::Deploy, Which::Rollback, Which::Status]
        .into_iter()
        .map(|which| usage_of(which, names))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The grammar explained, with this deployment's names, environments and defaults (mrkdwn
/// built only from the configuration, which is trusted).
pub fn help_text(names: &CommandNames, config: &DeployConfig) -> String {
    let environments: Vec<&str> = config.environments.keys().map(String::as_str).collect();
    let (deploy, rollback, status) = (&names.deploy, &names.rollback, &names.status);
    [
        format!("• `{deploy} [version] [to] [env]`: deploy a version (`latest` when none is given) to an environment (`{}` when none is given). Examples: `{deploy} v1.2.3 to prod`, `{deploy} v1.2.3 prod`, `{deploy} to staging`, `{deploy}`.", config.default_environment),
        "  A single word is a version when it looks like one (v1.2.3, latest, a commit sha), else an environment: `to <env>` is never ambiguous.".to_owned(),
        format!("• `{rollback} [env] [to version]`: go back to the given version, or to the last successful deployment before the current one. Examples: `{rollback} prod`, `{rollback} prod to v1.2.2`, `{rollback} to v1.2.2`."),
        format!("• `{status} [env]`: the current version, any run in progress, pending approvals and firing alarms. `{status} audit [n]`: the last n audit entries (1 to {MAX_AUDIT_ENTRIES}, {DEFAULT_AUDIT_ENTRIES} by default; approvers only)."),
        format!("Environments: {}.", environments.join(", ")),
    ]
    .join("\n")
}

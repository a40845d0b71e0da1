//! Layers the TOML file, the Bolt token variables and `CHATOPS_*` overrides into one tree.
//!
//! Order, later wins: the file, then `SLACK_APP_TOKEN` / `SLACK_BOT_TOKEN`, then
//! `CHATOPS_<SECTION>__<KEY>` (`CHATOPS_SLACK__SOCKET__PING_INTERVAL` is
//! `slack.socket.ping_interval`). Variables whose name has no `__` after the prefix are not
//! configuration keys (the command line may use such names, e.g. `CHATOPS_CONFIG`) and are
//! left alone. Empty variables count as unset. Environment values stay strings here; the
//! typed readers parse numbers from them, so `007` stays `007` where a string is wanted.

use std::fmt;
use std::io;
use std::path::Path;

use ::config::{ConfigError, Environment, File, FileFormat, Map, Source, Value, ValueKind};

use super::errors::ConfigProblem;

const OVERRIDE_PREFIX: &str = "CHATOPS";
const OVERRIDE_SEPARATOR: &str = "__";
/// Tags the origin of every value that came from an environment variable.
const ENV_ORIGIN_TAG: &str = "env:";
/// Tags the origin of every value a reference resolved to: `ref:aws-secretsmanager:…`.
const REFERENCE_ORIGIN_TAG: &str = "ref:";
/// The origin of a reference that could not be resolved (its problem is already recorded).
const UNRESOLVED_ORIGIN: &str = "unresolved-reference";
/// Bolt's variable names for the two tokens, and the keys they set.
const TOKEN_VARIABLES: [(&str, &str); 2] = [
    ("SLACK_APP_TOKEN", "slack.app_token"),
    ("SLACK_BOT_TOKEN", "slack.bot_token"),
];

/// The process environment, skipping variables that are not valid Unicode.
pub(crate) fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// The name of the environment variable `value` came from, if it came from one.
pub(crate) fn env_var_of(value: &Value) -> Option<&str> {
    value.origin()?.strip_prefix(ENV_ORIGIN_TAG)
}

/// The reference `value` was resolved from (`aws-secretsmanager:…#key`), if it was.
pub(crate) fn reference_of(value: &Value) -> Option<&str> {
    value.origin()?.strip_prefix(REFERENCE_ORIGIN_TAG)
}

/// Whether `value` stands for a reference that could not be resolved.
pub(crate) fn is_unresolved(value: &Value) -> bool {
    value.origin() == Some(UNRESOLVED_ORIGIN)
}

/// What `reference` resolved to, tagged with it.
pub(crate) fn resolved_value(reference: &str, text: String) -> Value {
    let origin = format!("{REFERENCE_ORIGIN_TAG}{reference}");
    Value::new(Some(&origin), ValueKind::String(text))
}

/// Stands for a reference that could not be resolved: the typed readers skip it quietly.
pub(crate) fn unresolved_value() -> Value {
    Value::new(Some(&UNRESOLVED_ORIGIN.to_owned()), ValueKind::Nil)
}

/// Reads the configuration file as text.
pub(crate) fn read_file(path: &Path) -> Result<String, ConfigProblem> {
    std::fs::read_to_string(path).map_err(|error| {
        ConfigProblem::whole_file(match error.kind() {
            io::ErrorKind::NotFound => "file not found".to_owned(),
            io::ErrorKind::InvalidData => "cannot read the file: it is not UTF-8 text".to_owned(),
            _ => format!("cannot read the file: {error}"),
        })
    })
}

/// Merges `toml_text` with the environment into one tree of raw values.
pub(crate) fn merge(
    toml_text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Map<String, Value>, ConfigProblem> {
    let mut tokens = EnvLayer::default();
    let mut overrides = EnvLayer::default();
    for (name, value) in env {
        if value.is_empty() {
            continue;
        }
        if let Some((_, key)) = TOKEN_VARIABLES.iter().find(|(var, _)| *var == name) {
            tokens.push(key, &name, value);
        } else if is_override(&name) {
            for (key, value) in split_override(&name, value)? {
                overrides.push(&key, &name, value);
            }
        }
    }
    let merged = ::config::Config::builder()
        .add_source(File::from_str(toml_text, FileFormat::Toml))
        .add_source(tokens)
        .add_source(overrides)
        .build()
        .map_err(describe_build_error)?;
    match merged.cache.kind {
        ValueKind::Table(entries) => Ok(entries),
        _ => Ok(Map::new()),
    }
}

fn is_override(name: &str) -> bool {
    name.strip_prefix(OVERRIDE_PREFIX)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| rest.contains(OVERRIDE_SEPARATOR))
}

/// Lets the `config` crate turn one `CHATOPS_…` variable into its dotted key.
fn split_override(name: &str, value: String) -> Result<Vec<(String, String)>, ConfigProblem> {
    let single: Map<String, String> = std::iter::once((name.to_owned(), value)).collect();
    let keys = Environment::with_prefix(OVERRIDE_PREFIX)
        .prefix_separator("_")
        .separator(OVERRIDE_SEPARATOR)
        .source(Some(single))
        .collect()
        .map_err(|error| ConfigProblem::whole_file(format!("cannot read {name}: {error}")))?;
    Ok(keys
        .into_iter()
        .filter_map(|(key, value)| match value.kind {
            ValueKind::String(text) => Some((key, text)),
            _ => None,
        })
        .collect())
}

fn describe_build_error(error: ConfigError) -> ConfigProblem {
    match error {
        ConfigError::FileParse { cause, .. } => ConfigProblem::whole_file(format!(
            "not valid TOML: {}",
            without_snippet(&cause.to_string())
        )),
        other => ConfigProblem::whole_file(format!("cannot merge the configuration: {other}")),
    }
}

/// A TOML parse error without the quoted source line, which may hold a token.
fn without_snippet(message: &str) -> String {
    let kept: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_snippet_line(line))
        .collect();
    match kept.split_first() {
        Some((first, [])) => (*first).to_owned(),
        Some((first, rest)) => format!("{first}: {}", rest.join("; ")),
        None => "unreadable".to_owned(),
    }
}

/// `|`, `3 | bot_token = "…`, `|     ^`: the parts of a parse error that quote the file.
fn is_snippet_line(line: &str) -> bool {
    if line.starts_with('|') {
        return true;
    }
    line.split_once(" |")
        .is_some_and(|(gutter, _)| !gutter.is_empty() && gutter.bytes().all(|b| b.is_ascii_digit()))
}

/// Values from environment variables, each tagged with the variable it came from.
#[derive(Clone, Default)]
struct EnvLayer {
    entries: Vec<(String, Value)>,
}

impl EnvLayer {
    fn push(&mut self, key: &str, variable: &str, value: String) {
        let origin = format!("{ENV_ORIGIN_TAG}{variable}");
        self.entries
            .push((key.to_owned(), Value::new(Some(&origin), value)));
    }
}

/// Shows which keys are set, never their values: the token layer holds secrets.
impl fmt::Debug for EnvLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(key, _)| key))
            .finish()
    }
}

impl Source for EnvLayer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.entries.iter().cloned().collect())
    }
}

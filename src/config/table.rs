//! A cursor over one table of the merged configuration tree: reads typed keys, records problems.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use ::config::{Map, Value, ValueKind};

use super::errors::ConfigProblem;
use super::load::{env_var_of, is_unresolved, reference_of};
use crate::secrets::{self, Secret, Source};

mod collections;

/// What reading one key produced. A problem has already been recorded for `Invalid`.
#[derive(Debug)]
pub(crate) enum Lookup<T> {
    Absent,
    Found(T),
    Invalid,
}

impl<T> Lookup<T> {
    /// The value, or `default` when the key is absent; `None` when it was invalid.
    pub(crate) fn or(self, default: T) -> Option<T> {
        match self {
            Self::Absent => Some(default),
            Self::Found(value) => Some(value),
            Self::Invalid => None,
        }
    }

    /// `Some(None)` when absent, `Some(Some(value))` when found, `None` when invalid.
    pub(crate) fn optional(self) -> Option<Option<T>> {
        match self {
            Self::Absent => Some(None),
            Self::Found(value) => Some(Some(value)),
            Self::Invalid => None,
        }
    }
}

/// Whether a value may be quoted back in a problem message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Echo {
    Value,
    TypeOnly,
}

/// One table (`slack`, `slack.socket`, …) being read. Keys are removed as they are read, so
/// whatever is left at [`Table::finish`] is unknown.
pub(crate) struct Table {
    path: String,
    /// The configuration file's name, for secrets written in it.
    file: String,
    entries: BTreeMap<String, Value>,
    known: Vec<String>,
    problems: Vec<ConfigProblem>,
}

impl Table {
    /// The top of the merged tree of the configuration file named `file`.
    pub(crate) fn root(entries: Map<String, Value>, file: &str) -> Self {
        Self::at(String::new(), file.to_owned(), entries)
    }

    fn at(path: String, file: String, entries: Map<String, Value>) -> Self {
        Self {
            path,
            file,
            entries: entries.into_iter().collect(),
            known: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Full dotted path of `key` in this table.
    pub(crate) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Records a problem with `key` that is not about its type (e.g. two keys that disagree).
    pub(crate) fn report(&mut self, key: &str, message: impl Into<String>) {
        let key = self.key_path(key);
        self.problems.push(ConfigProblem::new(key, message));
    }

    /// Records a problem with this table as a whole (e.g. two keys that exclude each other).
    pub(crate) fn report_table(&mut self, message: impl Into<String>) {
        self.problems
            .push(ConfigProblem::new(self.path.clone(), message));
    }

    fn report_from(&mut self, key: &str, env_var: Option<&str>, message: String) {
        match env_var {
            Some(name) => self.report(key, format!("{message} (set by {name})")),
            None => self.report(key, message),
        }
    }

    /// Reads the sub-table `key` with `read`; a missing sub-table reads as empty, so every key
    /// takes its default. Returns `None` when anything in it was invalid.
    pub(crate) fn section<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(&mut Table) -> Option<T>,
    ) -> Option<T> {
        self.known.push(key.to_owned());
        let entries = match self.entries.remove(key) {
            None => Map::new(),
            Some(value) => {
                let env_var = first_env_var(&value).map(str::to_owned);
                match value.kind {
                    ValueKind::Table(entries) => entries,
                    other => {
                        let got = describe(&other, Echo::TypeOnly);
                        self.report_from(
                            key,
                            env_var.as_deref(),
                            format!("expected a table, got {got}"),
                        );
                        return None;
                    }
                }
            }
        };
        let mut child = Table::at(self.key_path(key), self.file.clone(), entries);
        let value = read(&mut child);
        self.problems.extend(child.finish());
        value
    }

    /// Like [`Table::section`], but an absent sub-table reads as `Some(None)`: the feature it
    /// configures is off. `None` when anything in a present one was invalid.
    pub(crate) fn optional_section<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(&mut Table) -> Option<T>,
    ) -> Option<Option<T>> {
        if self.entries.contains_key(key) {
            self.section(key, read).map(Some)
        } else {
            self.known.push(key.to_owned());
            Some(None)
        }
    }

    /// A string, passed through `check`.
    pub(crate) fn string<T>(
        &mut self,
        key: &str,
        check: impl FnOnce(String) -> Result<T, String>,
    ) -> Lookup<T> {
        self.leaf(key, Echo::Value, "a string", expect_string, check)
    }

    /// A secret (a token, a key): a string never quoted back, passed through `check`, kept as a
    /// [`Secret`] that remembers where it came from (the file, a variable, a reference).
    pub(crate) fn secret(
        &mut self,
        key: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Lookup<Secret> {
        let source = match self.entries.get(key) {
            Some(value) => self.source_of(value),
            None => Source::Given,
        };
        self.leaf(key, Echo::TypeOnly, "a string", expect_string, |raw| {
            check(&raw)?;
            Ok(Secret::new(raw, source))
        })
    }

    /// Where a value came from: a reference, a variable, or the file itself.
    fn source_of(&self, value: &Value) -> Source {
        let reference = reference_of(value).and_then(|text| match secrets::parse(text) {
            secrets::Parsed::Reference(reference) => Some(reference),
            _ => None,
        });
        match (reference, env_var_of(value)) {
            (Some(reference), _) => Source::Reference(reference),
            (None, Some(variable)) => {
                Source::Reference(secrets::Reference::Env(variable.to_owned()))
            }
            (None, None) => Source::Literal {
                file: self.file.clone(),
            },
        }
    }

    /// An integer (a TOML integer, or an environment variable that parses as one).
    pub(crate) fn integer<T>(
        &mut self,
        key: &str,
        check: impl FnOnce(i64) -> Result<T, String>,
    ) -> Lookup<T> {
        self.leaf(key, Echo::Value, "an integer", expect_integer, check)
    }

    /// A number (a TOML float or integer, or an environment variable that parses as one).
    pub(crate) fn float<T>(
        &mut self,
        key: &str,
        check: impl FnOnce(f64) -> Result<T, String>,
    ) -> Lookup<T> {
        self.leaf(key, Echo::Value, "a number", expect_float, check)
    }

    /// Whether `key` is written in this table (read or not yet).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Reports `key` as not belonging here (`message` says why) and takes it out, so it is not
    /// also reported as unknown.
    pub(crate) fn reject(&mut self, key: &str, message: impl Into<String>) {
        if self.entries.remove(key).is_some() {
            self.known.push(key.to_owned());
            self.report(key, message);
        }
    }

    /// A boolean (a TOML boolean, or an environment variable `true` / `false`).
    pub(crate) fn boolean(&mut self, key: &str) -> Lookup<bool> {
        self.leaf(key, Echo::Value, "true or false", expect_boolean, Ok)
    }

    /// A duration written the humantime way: "10s", "500ms", "1m 30s".
    pub(crate) fn duration(
        &mut self,
        key: &str,
        check: impl FnOnce(Duration) -> Result<Duration, String>,
    ) -> Lookup<Duration> {
        self.leaf(key, Echo::Value, DURATION_EXPECTED, expect_duration, check)
    }

    fn leaf<R, T>(
        &mut self,
        key: &str,
        echo: Echo,
        expected: &str,
        extract: impl FnOnce(ValueKind, bool) -> Option<Result<R, String>>,
        check: impl FnOnce(R) -> Result<T, String>,
    ) -> Lookup<T> {
        self.known.push(key.to_owned());
        let Some(value) = self.entries.remove(key) else {
            return Lookup::Absent;
        };
        if is_unresolved(&value) {
            return Lookup::Invalid;
        }
        let env_var = env_var_of(&value).map(str::to_owned);
        let reference = reference_of(&value).map(str::to_owned);
        let resolved_text = match (&reference, &value.kind) {
            (Some(_), ValueKind::String(text)) => Some(text.clone()),
            _ => None,
        };
        // A value from a reference is never quoted: a wrong `#key` could name a secret.
        let echo = if reference.is_some() {
            Echo::TypeOnly
        } else {
            echo
        };
        let got = describe(&value.kind, echo);
        let outcome = match extract(value.kind, env_var.is_some() || reference.is_some()) {
            None => Err(format!("expected {expected}, got {got}")),
            Some(raw) => raw.and_then(check),
        };
        match (outcome, reference) {
            (Ok(value), _) => Lookup::Found(value),
            (Err(message), Some(reference)) => {
                let message = redact(message, resolved_text.as_deref(), &reference);
                self.report(key, message);
                Lookup::Invalid
            }
            (Err(message), None) => {
                self.report_from(key, env_var.as_deref(), message);
                Lookup::Invalid
            }
        }
    }

    /// Reports every key nobody asked for and hands back all problems of this table.
    pub(crate) fn finish(mut self) -> Vec<ConfigProblem> {
        for (key, value) in std::mem::take(&mut self.entries) {
            let message = match closest_known(&key, &self.known) {
                Some(known) => format!("unknown key (did you mean {known}?)"),
                None => "unknown key".to_owned(),
            };
            self.report_from(&key, first_env_var(&value), message);
        }
        self.problems
    }
}

/// `message` about a value `reference` resolved to, with the value itself taken out and the
/// reference named.
fn redact(message: String, value: Option<&str>, reference: &str) -> String {
    let stand_in = format!("the value of {reference}");
    let message = match value {
        Some(value) if !value.is_empty() => {
            let quoted = format!("{value:?}");
            let message = message.replace(&quoted, &stand_in);
            if value.chars().count() >= 4 {
                message.replace(value, "…")
            } else {
                message
            }
        }
        _ => message,
    };
    if message.contains(reference) {
        message
    } else {
        format!("{message} (from {reference})")
    }
}

const DURATION_EXPECTED: &str = "a duration such as \"10s\" or \"500ms\"";

/// `None` means "wrong type"; `Some(Err)` means the right type with an unusable value.
fn expect_string(kind: ValueKind, _from_env: bool) -> Option<Result<String, String>> {
    match kind {
        ValueKind::String(text) => Some(Ok(text)),
        _ => None,
    }
}

fn expect_integer(kind: ValueKind, from_env: bool) -> Option<Result<i64, String>> {
    match kind {
        ValueKind::I64(number) => Some(Ok(number)),
        ValueKind::String(text) if from_env => Some(
            text.trim()
                .parse()
                .map_err(|_| format!("expected an integer, got {text:?}")),
        ),
        _ => None,
    }
}

fn expect_float(kind: ValueKind, from_env: bool) -> Option<Result<f64, String>> {
    match kind {
        ValueKind::Float(number) => Some(Ok(number)),
        ValueKind::I64(number) => Some(Ok(number as f64)),
        ValueKind::String(text) if from_env => Some(
            text.trim()
                .parse()
                .map_err(|_| format!("expected a number, got {text:?}")),
        ),
        _ => None,
    }
}

fn expect_boolean(kind: ValueKind, from_env: bool) -> Option<Result<bool, String>> {
    match kind {
        ValueKind::Boolean(value) => Some(Ok(value)),
        ValueKind::String(text) if from_env => Some(match text.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("expected true or false, got {text:?}")),
        }),
        _ => None,
    }
}

fn expect_duration(kind: ValueKind, _from_env: bool) -> Option<Result<Duration, String>> {
    match kind {
        ValueKind::String(text) => Some(
            humantime::parse_duration(text.trim())
                .map_err(|error| format!("expected {DURATION_EXPECTED}, got {text:?} ({error})")),
        ),
        _ => None,
    }
}

fn describe(kind: &ValueKind, echo: Echo) -> String {
    let (type_name, shown) = match kind {
        ValueKind::Nil => return "nothing".to_owned(),
        ValueKind::Boolean(value) => ("a boolean", value.to_string()),
        ValueKind::I64(value) => ("an integer", value.to_string()),
        ValueKind::I128(value) => ("an integer", value.to_string()),
        ValueKind::U64(value) => ("an integer", value.to_string()),
        ValueKind::U128(value) => ("an integer", value.to_string()),
        ValueKind::Float(value) => ("a float", value.to_string()),
        ValueKind::String(value) => ("a string", format!("{value:?}")),
        ValueKind::Table(_) => return "a table".to_owned(),
        ValueKind::Array(_) => return "an array".to_owned(),
    };
    match echo {
        Echo::Value if matches!(kind, ValueKind::String(_)) => shown,
        Echo::Value => format!("{type_name} {shown}"),
        Echo::TypeOnly => type_name.to_owned(),
    }
}

/// The environment variable behind `value`, or behind the first such value inside it.
fn first_env_var(value: &Value) -> Option<&str> {
    if let Some(name) = env_var_of(value) {
        return Some(name);
    }
    match &value.kind {
        ValueKind::Table(entries) => entries.values().find_map(first_env_var),
        ValueKind::Array(items) => items.iter().find_map(first_env_var),
        _ => None,
    }
}

/// A known key that `unknown` is probably a misspelling of.
fn closest_known<'k>(unknown: &str, known: &'k [String]) -> Option<&'k str> {
    let normalized = unknown.to_lowercase().replace('-', "_");
    known
        .iter()
        .map(|candidate| (edit_distance(&normalized, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 1 || (*distance <= 2 && candidate.len() >= 8))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, left_char) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != *right_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[right.len()]
}

/// Check: an integer in `range`, converted to `T`.
pub(crate) fn within<T: TryFrom<i64>>(
    range: RangeInclusive<i64>,
) -> impl FnOnce(i64) -> Result<T, String> {
    move |number| {
        let out_of_range = || {
            format!(
                "must be between {} and {}, got {number}",
                range.start(),
                range.end()
            )
        };
        if !range.contains(&number) {
            return Err(out_of_range());
        }
        T::try_from(number).map_err(|_| out_of_range())
    }
}

/// Check: a duration longer than zero.
pub(crate) fn nonzero(duration: Duration) -> Result<Duration, String> {
    if duration.is_zero() {
        Err("must be longer than zero".to_owned())
    } else {
        Ok(duration)
    }
}

/// Check: any duration, zero included.
pub(crate) fn any_duration(duration: Duration) -> Result<Duration, String> {
    Ok(duration)
}

/// A duration as people write it in the config file.
pub(crate) fn show_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

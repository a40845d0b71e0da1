//! Filling an action's argv template: the user's arguments and the alarm's fields, each value
//! checked (its variable's pattern, the guardrails' characters) before anything can run.
//! Pure; substitution is per argv element, never a joined string split again.

use std::collections::BTreeMap;

use super::guard::{value_problem, Action};
use crate::config::TemplateVar;

/// Longest value taken from an alarm.
const MAX_ALARM_VALUE_CHARS: usize = 1024;

/// The alarm an action was asked from (its card, or the thread of its card).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlarmValues {
    pub name: String,
    pub region: Option<String>,
    pub account: Option<String>,
    pub dimensions: BTreeMap<String, String>,
}

/// Why an action was refused before it ran; the text is for the person who asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueRefusal {
    #[error("{action} needs a value for {name}: {usage}")]
    MissingArg {
        action: String,
        name: String,
        usage: String,
    },
    #[error("{action} takes {expected} argument(s), got {got}: {usage}")]
    TooManyArgs {
        action: String,
        expected: usize,
        got: usize,
        usage: String,
    },
    #[error("{action} takes its values from an alarm: use its button on the alarm card, or `run` in the card's thread")]
    NoAlarm { action: String },
    #[error("the alarm has no {var} for {action}")]
    MissingAlarmField { action: String, var: String },
    #[error("{{{var}}} = {shown} does not match its pattern {pattern}")]
    Pattern {
        var: String,
        shown: String,
        pattern: String,
    },
    #[error("{{{var}}} = {shown} is refused: {reason}")]
    Refused {
        var: String,
        shown: String,
        reason: String,
    },
}

/// `@bot run <name> <a> <b>` as the action's usage line.
pub fn usage(action: &Action) -> String {
    let mut text = format!("run {}", action.config.name);
    for arg in &action.config.args {
        let optional = action
            .config
            .variables
            .get(arg)
            .is_some_and(|v| v.default.is_some());
        text.push_str(&if optional {
            format!(" [{arg}]")
        } else {
            format!(" <{arg}>")
        });
    }
    text
}

/// The argv after `aws`, every variable replaced and checked; nothing is run here.
pub fn fill(
    action: &Action,
    alarm: Option<&AlarmValues>,
    typed: &[String],
) -> Result<Vec<String>, ValueRefusal> {
    let config = &action.config;
    if typed.len() > config.args.len() {
        return Err(ValueRefusal::TooManyArgs {
            action: config.name.clone(),
            expected: config.args.len(),
            got: typed.len(),
            usage: usage(action),
        });
    }
    let mut args = BTreeMap::new();
    for (index, name) in config.args.iter().enumerate() {
        let variable = &config.variables[name];
        let value = match (typed.get(index), &variable.default) {
            (Some(value), _) => value.clone(),
            (None, Some(default)) => default.clone(),
            (None, None) => {
                return Err(ValueRefusal::MissingArg {
                    action: config.name.clone(),
                    name: name.clone(),
                    usage: usage(action),
                })
            }
        };
        let var = format!("args.{name}");
        if let Some(reason) = value_problem(&value) {
            return Err(refused(&var, &value, reason.to_string()));
        }
        if !variable.pattern.is_match(&value) {
            return Err(ValueRefusal::Pattern {
                var,
                shown: shown(&value),
                pattern: variable.pattern.as_str().to_owned(),
            });
        }
        args.insert(name.clone(), value);
    }
    if config.needs_alarm() && alarm.is_none() {
        return Err(ValueRefusal::NoAlarm {
            action: config.name.clone(),
        });
    }
    let value_of = |var: &TemplateVar| -> Result<String, ValueRefusal> {
        let value = match var {
            TemplateVar::Arg(name) => return Ok(args[name].clone()),
            TemplateVar::AlarmName => alarm.map(|a| a.name.clone()),
            TemplateVar::AlarmRegion => alarm.and_then(|a| a.region.clone()),
            TemplateVar::AlarmAccount => alarm.and_then(|a| a.account.clone()),
            TemplateVar::AlarmDimension(name) => {
                alarm.and_then(|a| a.dimensions.get(name).cloned())
            }
        };
        let value =
            value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ValueRefusal::MissingAlarmField {
                    action: config.name.clone(),
                    var: var.to_string(),
                })?;
        if value.chars().count() > MAX_ALARM_VALUE_CHARS {
            return Err(refused(
                &var.to_string(),
                &value,
                "longer than 1024 characters".into(),
            ));
        }
        match value_problem(&value) {
            Some(reason) => Err(refused(&var.to_string(), &value, reason.to_string())),
            None => Ok(value),
        }
    };
    config.command[1..]
        .iter()
        .map(|element| element.fill(value_of))
        .collect()
}

fn refused(var: &str, value: &str, reason: String) -> ValueRefusal {
    ValueRefusal::Refused {
        var: var.to_owned(),
        shown: shown(value),
        reason,
    }
}

/// A value as a refusal quotes it: Rust-escaped (control characters visible), at most 60 chars.
fn shown(value: &str) -> String {
    let cut: String = value.chars().take(60).collect();
    let more = if value.chars().count() > 60 {
        "…"
    } else {
        ""
    };
    format!("{cut:?}{more}")
}

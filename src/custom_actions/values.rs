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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Purpose};

    fn action(toml: &str) -> Action {
        let text = format!(
            "[slack]\napp_token = \"xapp-1-x\"\nbot_token = \"xoxb-x\"\n[aws_commands]\n\
             role_arn = \"arn:aws:iam::123456789012:role/r\"\nregion = \"eu-west-1\"\n\
             [[actions]]\nname = \"a\"\ndescription = \"d\"\napprovals = 0\n{toml}"
        );
        let config = Config::load_from_str(
            "t.toml",
            &text,
            Vec::<(String, String)>::new(),
            Purpose::Run,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Action {
            config: config.actions[0].clone(),
            approvals: 0,
        }
    }

    fn words(text: &[&str]) -> Vec<String> {
        text.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn values_go_into_their_own_element_after_their_checks() {
        let scale = action(
            "command = [\"aws\", \"ecs\", \"update-service\", \"--service\", \"svc-{args.name}\", \"--desired-count\", \"{args.count}\"]\n\
             args = [\"name\", \"count\"]\n\
             [actions.variables.name]\npattern = \"[a-z ]+\"\n\
             [actions.variables.count]\npattern = \"[0-9]\"\ndefault = \"2\"",
        );
        assert_eq!(
            fill(&scale, None, &words(&["web api"])),
            Ok(words(&[
                "ecs",
                "update-service",
                "--service",
                "svc-web api",
                "--desired-count",
                "2"
            ])),
            "a value with a space stays one element; the default fills the rest"
        );
        let refused = |typed: &[&str]| fill(&scale, None, &words(typed)).unwrap_err();
        assert!(
            matches!(refused(&["web", "12"]), ValueRefusal::Pattern { ref var, .. } if var == "args.count")
        );
        assert!(
            matches!(refused(&["web;rm"]), ValueRefusal::Refused { ref var, .. } if var == "args.name")
        );
        assert!(matches!(refused(&["a\nb"]), ValueRefusal::Refused { .. }));
        assert!(matches!(
            refused(&["web", "1", "x"]),
            ValueRefusal::TooManyArgs { got: 3, .. }
        ));
        assert!(
            matches!(refused(&[]), ValueRefusal::MissingArg { ref name, .. } if name == "name")
        );
        assert_eq!(usage(&scale), "run a <name> [count]");
    }

    #[test]
    fn alarm_fields_come_from_the_alarm_and_are_checked_too() {
        let reboot = action(
            "command = [\"aws\", \"ec2\", \"reboot-instances\", \"--instance-ids\", \"{alarm.dimensions.InstanceId}\"]",
        );
        assert!(matches!(
            fill(&reboot, None, &[]),
            Err(ValueRefusal::NoAlarm { .. })
        ));
        let mut alarm = AlarmValues {
            name: "web-cpu".into(),
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into()),
            dimensions: [("InstanceId".to_owned(), "i-0abc".to_owned())].into(),
        };
        assert_eq!(
            fill(&reboot, Some(&alarm), &[]),
            Ok(words(&[
                "ec2",
                "reboot-instances",
                "--instance-ids",
                "i-0abc"
            ]))
        );
        alarm
            .dimensions
            .insert("InstanceId".into(), "i-0abc`id`".into());
        assert!(matches!(
            fill(&reboot, Some(&alarm), &[]),
            Err(ValueRefusal::Refused { .. })
        ));
        alarm.dimensions.clear();
        assert!(matches!(
            fill(&reboot, Some(&alarm), &[]),
            Err(ValueRefusal::MissingAlarmField { ref var, .. }) if var == "alarm.dimensions.InstanceId"
        ));
    }
}

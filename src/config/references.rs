//! References in the merged tree, before the typed readers: found and `literal:` escapes dropped (pure), then replaced by what they resolved to, each tagged with its reference.

use std::collections::HashMap;

use ::config::{Map, Value, ValueKind};

use super::errors::ConfigProblem;
use super::load::{resolved_value, unresolved_value};
use crate::secrets::{parse, Parsed, Reference, Resolution};

/// One string in the tree that is a reference, with its dotted key path
/// (`slack.bot_token`, `alarms.route[0].channels[1]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) key: String,
    pub(crate) reference: Reference,
}

/// What to do with one string.
enum Action {
    Keep,
    Unescape(String),
    Refer(Reference),
    Refuse(String),
}

/// Every reference in `tree`, in key order. `literal:` escapes are dropped in place; a
/// malformed reference becomes a problem at its key and reads as unresolved.
pub(crate) fn find(tree: &mut Map<String, Value>) -> (Vec<Found>, Vec<ConfigProblem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    visit_table(tree, "", &mut |key, value| {
        let action = match &value.kind {
            ValueKind::String(text) => match parse(text) {
                Parsed::Plain => Action::Keep,
                Parsed::Escaped(rest) => Action::Unescape(rest.to_owned()),
                Parsed::Reference(reference) => Action::Refer(reference),
                Parsed::Malformed(message) => Action::Refuse(message),
            },
            _ => Action::Keep,
        };
        match action {
            Action::Keep => {}
            Action::Unescape(rest) => value.kind = ValueKind::String(rest),
            Action::Refer(reference) => found.push(Found {
                key: key.to_owned(),
                reference,
            }),
            Action::Refuse(message) => {
                problems.push(ConfigProblem::new(key, message));
                *value = unresolved_value();
            }
        }
    });
    (found, problems)
}

/// Puts each reference's outcome in its place: the value, tagged with the reference, or (for a
/// failure) a problem at its key and a value the typed readers skip.
pub(crate) fn apply(
    tree: &mut Map<String, Value>,
    outcomes: impl IntoIterator<Item = (Found, Resolution)>,
) -> Vec<ConfigProblem> {
    let mut by_key: HashMap<String, (Reference, Resolution)> = outcomes
        .into_iter()
        .map(|(found, outcome)| (found.key, (found.reference, outcome)))
        .collect();
    let mut problems = Vec::new();
    visit_table(tree, "", &mut |key, value| {
        let Some((reference, outcome)) = by_key.remove(key) else {
            return;
        };
        match outcome {
            Ok(text) => *value = resolved_value(&reference.to_string(), text),
            Err(message) => {
                problems.push(ConfigProblem::new(key, message));
                *value = unresolved_value();
            }
        }
    });
    problems
}

/// The string at `path` (`aws.region`), if there is one.
pub(crate) fn string_at<'t>(tree: &'t Map<String, Value>, path: &str) -> Option<&'t str> {
    let mut table = tree;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let value = table.get(part)?;
        match (&value.kind, parts.peek()) {
            (ValueKind::String(text), None) => return Some(text),
            (ValueKind::Table(entries), Some(_)) => table = entries,
            _ => return None,
        }
    }
    None
}

fn visit_table<F: FnMut(&str, &mut Value)>(
    table: &mut Map<String, Value>,
    prefix: &str,
    f: &mut F,
) {
    let mut keys: Vec<String> = table.keys().cloned().collect();
    keys.sort_unstable();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if let Some(value) = table.get_mut(&key) {
            visit_value(value, &path, f);
        }
    }
}

fn visit_value<F: FnMut(&str, &mut Value)>(value: &mut Value, path: &str, f: &mut F) {
    match &mut value.kind {
        ValueKind::Table(entries) => visit_table(entries, path, f),
        ValueKind::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                visit_value(item, &format!("{path}[{index}]"), f);
            }
        }
        _ => f(path, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{is_unresolved, merge, reference_of};

    const TOML: &str = r#"
[slack]
bot_token = "aws-secretsmanager:wn/chatops/secret#slack_token"
app_token = "credential:slack_app_token"
app_name = "literal:env:prod"

[confluence]
base_url = "aws-secretsmanager:wn/chatops/secret#wiki_url"
api_token = "env:"

[[alarms.route]]
name = "r"
channels = ["C1", "env:ALERTS_CHANNEL"]
"#;

    fn tree() -> Map<String, Value> {
        merge(TOML, [("SLACK_APP_TOKEN".into(), "file:/run/token".into())]).unwrap()
    }

    #[test]
    fn references_are_found_in_key_order_including_arrays_and_env_layers() {
        let mut tree = tree();
        let (found, problems) = find(&mut tree);
        let keys: Vec<String> = found
            .iter()
            .map(|f| format!("{} = {}", f.key, f.reference))
            .collect();
        assert_eq!(
            keys,
            [
                "alarms.route[0].channels[1] = env:ALERTS_CHANNEL",
                "confluence.base_url = aws-secretsmanager:wn/chatops/secret#wiki_url",
                "slack.app_token = file:/run/token",
                "slack.bot_token = aws-secretsmanager:wn/chatops/secret#slack_token",
            ]
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "confluence.api_token");
        assert_eq!(
            string_at(&tree, "slack.app_name"),
            Some("env:prod"),
            "escape dropped"
        );
        assert!(is_unresolved(
            &tree["confluence"].clone().into_table().unwrap()["api_token"]
        ));
    }

    #[test]
    fn outcomes_replace_values_with_their_reference_or_a_problem() {
        let mut tree = tree();
        let (found, _) = find(&mut tree);
        let outcomes = found.into_iter().map(|found| {
            let outcome = if found.key == "slack.bot_token" {
                Err("aws-secretsmanager:wn/chatops/secret has no key \"slack_token\"".to_owned())
            } else {
                Ok(format!("value of {}", found.key))
            };
            (found, outcome)
        });
        let problems = apply(&mut tree, outcomes);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "slack.bot_token");
        let slack = tree["slack"].clone().into_table().unwrap();
        assert!(is_unresolved(&slack["bot_token"]));
        assert_eq!(reference_of(&slack["app_token"]), Some("file:/run/token"));
        assert_eq!(
            string_at(&tree, "confluence.base_url"),
            Some("value of confluence.base_url")
        );
    }
}

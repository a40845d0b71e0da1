//! `[[actions]]`: custom actions, AWS CLI commands with `{variables}` run from Slack (`@bot run`,
//! an optional slash command, a button on matching alarm cards), with approvals and a preview.
//! What the AWS CLI guardrails say of a command is checked above config (`custom_actions`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::action_template::{is_variable_name, ArgTemplate, TemplateVar};
use super::deploy::VersionPattern;
use super::deploy_environment::{check_approvals, check_approver, SlackPrincipal, MAX_APPROVALS};
use super::route::RouteMatch;
use super::table::{show_duration, within, Table};

/// Default of `actions[i].approval_timeout`.
pub const DEFAULT_ACTION_APPROVAL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Longest action name (it may become a slash command, `/<prefix>-<name>`, at most 32 chars).
pub const MAX_ACTION_NAME_CHARS: usize = 24;
/// Most elements in an action's `command`.
const MAX_COMMAND_ELEMENTS: usize = 64;
const MAX_DESCRIPTION_CHARS: usize = 200;
const MAX_ARGS: usize = 8;

/// `[actions.variables.<name>]`: what a user's argument may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableConfig {
    /// `pattern`: a regular expression the whole value must match.
    pub pattern: VersionPattern,
    /// `default`: the value when the user gives none (it must match `pattern`).
    pub default: Option<String>,
}

/// One `[[actions]]`, once read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionConfig {
    /// `name`: 1 to 24 characters of a-z, 0-9 and `-`; unique.
    pub name: String,
    /// `description`: one line, shown in `@bot run` and on the approval card.
    pub description: String,
    /// `command`: `["aws", service, operation, …]`; service and operation are literal.
    pub command: Vec<ArgTemplate>,
    /// `args`: the user's arguments in the order they are typed (`@bot run <name> a b`).
    pub args: Vec<String>,
    /// `[actions.variables.<name>]`, one per entry of `args`.
    pub variables: BTreeMap<String, VariableConfig>,
    /// `approvals`: 0..=10. Absent: 0 for an operation the default allowlist calls read-only,
    /// else 1 (decided with the guardrails, see `custom_actions::Catalog`).
    pub approvals: Option<u8>,
    /// `approvers`: users and user groups whose approvals count.
    pub approvers: Vec<SlackPrincipal>,
    /// `allow_self_approval`: whether the requester's own approval counts; false by default.
    pub allow_self_approval: bool,
    /// `approval_timeout`: a request not approved within this long expires; 1m..=24h.
    pub approval_timeout: Duration,
    /// `[actions.match]`: alarm cards whose notification matches show the button.
    pub criteria: Option<RouteMatch>,
    /// `routes`: alarm cards routed by these `[[alarms.route]]` show the button.
    pub routes: Vec<String>,
    /// `slash`: also register `/<prefix>-<name>`.
    pub slash: bool,
    /// `region`: where the command runs; absent: the alarm's region, else `aws.region`.
    pub region: Option<String>,
}

impl ActionConfig {
    /// The service (`ec2`) and operation (`start-instances`) of the command.
    pub fn service_operation(&self) -> (&str, &str) {
        let literal = |i: usize| {
            self.command
                .get(i)
                .and_then(ArgTemplate::as_literal)
                .unwrap_or("")
        };
        (literal(1), literal(2))
    }

    /// Whether any element takes a value from the alarm.
    pub fn needs_alarm(&self) -> bool {
        self.command
            .iter()
            .flat_map(ArgTemplate::vars)
            .any(TemplateVar::is_alarm_field)
    }

    /// Whether alarm cards may show it.
    pub fn on_cards(&self) -> bool {
        self.criteria.is_some() || !self.routes.is_empty()
    }

    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let name = table.string("name", check_name).optional();
        let description = table.string("description", check_description).optional();
        let command = table.string_list("command", |text| ArgTemplate::parse(&text));
        let args = table.string_list("args", check_arg_name).or(Vec::new());
        let variables = table
            .named_tables("variables", |child, _| read_variable(child))
            .or(BTreeMap::new());
        let approvals = table
            .integer("approvals", within(0..=i64::from(MAX_APPROVALS)))
            .optional();
        let approvers = table
            .string_list("approvers", check_approver)
            .or(Vec::new());
        let allow_self_approval = table.boolean("allow_self_approval").or(false);
        let approval_timeout = table
            .duration("approval_timeout", check_timeout)
            .or(DEFAULT_ACTION_APPROVAL_TIMEOUT);
        let criteria = table.optional_section("match", RouteMatch::read);
        let routes = table.string_list("routes", check_route).or(Vec::new());
        let slash = table.boolean("slash").or(false);
        let region = table.string("region", check_region).optional();
        let name = required(table, "name", name, "a slug such as \"scale-web\"");
        let description = required(table, "description", description, "one line");
        let command = match command.optional() {
            Some(Some(command)) => check_command(table, command),
            Some(None) => {
                table.report(
                    "command",
                    "is required: the argv, such as [\"aws\", \"ec2\", \"describe-instances\"]",
                );
                None
            }
            None => None,
        };
        // One invalid variable (already reported) makes the whole table invalid.
        let variables: Option<BTreeMap<String, VariableConfig>> = variables.and_then(|read| {
            read.into_iter()
                .map(|(name, v)| v.map(|v| (name, v)))
                .collect()
        });
        if let (Some(approvers), Some(Some(approvals))) = (&approvers, approvals) {
            if !check_approvals(table, approvers, approvals) {
                return None;
            }
        }
        let action = Self {
            name: name?,
            description: description?,
            command: command?,
            args: args?,
            variables: variables?,
            approvals: approvals?,
            approvers: approvers?,
            allow_self_approval: allow_self_approval?,
            approval_timeout: approval_timeout?,
            criteria: criteria?,
            routes: routes?,
            slash: slash?,
            region: region?,
        };
        check_variables(table, &action).then_some(action)
    }
}

fn required<T>(table: &mut Table, key: &str, read: Option<Option<T>>, what: &str) -> Option<T> {
    match read? {
        Some(value) => Some(value),
        None => {
            table.report(key, format!("is required: {what}"));
            None
        }
    }
}

fn read_variable(table: &mut Table) -> Option<VariableConfig> {
    let pattern = table.string("pattern", check_pattern).optional();
    let default = table.string("default", Ok::<String, String>).optional();
    let pattern = required(
        table,
        "pattern",
        pattern,
        "the regular expression a value must match as a whole, such as \"[0-9]{1,2}\"",
    )?;
    let default = default?;
    if let Some(default) = &default {
        if !pattern.is_match(default) {
            let message = format!(
                "{default:?} does not match this variable's pattern {:?}",
                pattern.as_str()
            );
            table.report("default", message);
            return None;
        }
    }
    Some(VariableConfig { pattern, default })
}

/// Every `{args.x}` declared in `args` and `[actions.variables.x]`, every declaration used.
fn check_variables(table: &mut Table, action: &ActionConfig) -> bool {
    let mut valid = true;
    let used: BTreeSet<&str> = action
        .command
        .iter()
        .flat_map(ArgTemplate::vars)
        .filter_map(|var| match var {
            TemplateVar::Arg(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    for (index, element) in action.command.iter().enumerate() {
        for var in element.vars() {
            let TemplateVar::Arg(name) = var else {
                continue;
            };
            if !action.args.contains(name) {
                let message = format!(
                    "{{{var}}} is not declared: add {name:?} to args (and \
                     [actions.variables.{name}] with its pattern)"
                );
                table.report(&format!("command[{index}]"), message);
                valid = false;
            }
        }
    }
    for (index, name) in action.args.iter().enumerate() {
        if action.args[..index].contains(name) {
            table.report(
                &format!("args[{index}]"),
                format!("{name:?} is listed twice"),
            );
            valid = false;
        } else if !action.variables.contains_key(name) {
            let message = format!("{name:?} needs [actions.variables.{name}] with its pattern");
            table.report(&format!("args[{index}]"), message);
            valid = false;
        } else if !used.contains(name.as_str()) {
            let message = format!("{name:?} is not used in command (no {{args.{name}}})");
            table.report(&format!("args[{index}]"), message);
            valid = false;
        }
    }
    if action.args.len() > MAX_ARGS {
        table.report("args", format!("at most {MAX_ARGS} arguments"));
        valid = false;
    }
    for name in action.variables.keys() {
        if !action.args.contains(name) {
            let message = format!("{name:?} is not in args, so no value can reach it");
            table.report(&format!("variables.{name}"), message);
            valid = false;
        }
    }
    valid
}

fn check_command(table: &mut Table, command: Vec<ArgTemplate>) -> Option<Vec<ArgTemplate>> {
    if command.len() < 3 || command.len() > MAX_COMMAND_ELEMENTS {
        let message = format!(
            "must be [\"aws\", \"<service>\", \"<operation>\", …] (3 to {MAX_COMMAND_ELEMENTS} \
             elements), got {} element(s)",
            command.len()
        );
        table.report("command", message);
        return None;
    }
    if command[0].as_literal() != Some("aws") {
        table.report(
            "command[0]",
            format!(
                "must be \"aws\" (only the AWS CLI runs), got {:?}",
                command[0].to_string()
            ),
        );
        return None;
    }
    let mut valid = true;
    for index in [1, 2] {
        let word = command[index].as_literal().unwrap_or_default();
        let well_formed = !word.is_empty()
            && word.len() <= 64
            && word.starts_with(|c: char| c.is_ascii_lowercase())
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !well_formed {
            let what = if index == 1 { "service" } else { "operation" };
            let message = format!(
                "must be the {what} as the AWS CLI spells it (lower-case, no variables), got {:?}",
                command[index].to_string()
            );
            table.report(&format!("command[{index}]"), message);
            valid = false;
        }
    }
    valid.then_some(command)
}

/// Check: `[a-z0-9][a-z0-9-]*`, at most 24 characters.
pub fn is_action_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.len() <= MAX_ACTION_NAME_CHARS
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check_name(name: String) -> Result<String, String> {
    if is_action_name(&name) {
        Ok(name)
    } else {
        Err(format!(
            "must be 1 to {MAX_ACTION_NAME_CHARS} characters of a-z, 0-9 and \"-\", starting \
             with a letter or digit, got {name:?}"
        ))
    }
}

fn check_description(text: String) -> Result<String, String> {
    let length = text.chars().count();
    if text.trim().is_empty() || length > MAX_DESCRIPTION_CHARS || text.contains('\n') {
        Err(format!(
            "must be one line of 1 to {MAX_DESCRIPTION_CHARS} characters"
        ))
    } else {
        Ok(text)
    }
}

fn check_arg_name(name: String) -> Result<String, String> {
    if is_variable_name(&name) {
        Ok(name)
    } else {
        Err(format!(
            "must be 1 to 32 characters of a-z, 0-9 and \"_\", starting with a letter, got {name:?}"
        ))
    }
}

fn check_pattern(source: String) -> Result<VersionPattern, String> {
    if source.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    VersionPattern::new(&source).map_err(|error| {
        let shown = error.to_string();
        let last = shown.lines().last().unwrap_or_default().trim().to_owned();
        format!("is not a valid regular expression ({last}): {source:?}")
    })
}

fn check_timeout(timeout: Duration) -> Result<Duration, String> {
    let (min, max) = (Duration::from_secs(60), Duration::from_secs(24 * 60 * 60));
    if (min..=max).contains(&timeout) {
        Ok(timeout)
    } else {
        Err(format!(
            "must be between 1m and 24h, got {}",
            show_duration(timeout)
        ))
    }
}

fn check_route(name: String) -> Result<String, String> {
    if name.trim().is_empty() {
        Err("must name an [[alarms.route]] (its name), got an empty string".to_owned())
    } else {
        Ok(name)
    }
}

fn check_region(region: String) -> Result<String, String> {
    if super::vocabulary::looks_like_region_code(&region) {
        Ok(region)
    } else {
        Err(format!(
            "must be a region code such as \"eu-west-1\", got {region:?}"
        ))
    }
}

/// Problems across `[[actions]]` and the sections they name: repeated names, routes that do
/// not exist, slash commands that clash with the bot's own.
pub(crate) fn cross_checks(
    actions: &[(usize, &ActionConfig)],
    routes: &[String],
    builtin_slash: &[String],
    prefix: &str,
) -> Vec<super::ConfigProblem> {
    let mut problems = Vec::new();
    for (position, (index, action)) in actions.iter().enumerate() {
        let key = |rest: &str| format!("actions[{index}].{rest}");
        if let Some((first, _)) = actions[..position]
            .iter()
            .find(|(_, a)| a.name == action.name)
        {
            let message = format!("{:?} is already the name of actions[{first}]", action.name);
            problems.push(super::ConfigProblem::new(key("name"), message));
        }
        for (i, route) in action.routes.iter().enumerate() {
            if !routes.contains(route) {
                let message = format!("{route:?} names no [[alarms.route]]");
                problems.push(super::ConfigProblem::new(
                    key(&format!("routes[{i}]")),
                    message,
                ));
            }
        }
        let slash = format!("/{prefix}-{}", action.name);
        if action.slash && builtin_slash.contains(&slash) {
            let message = format!("{slash} is already one of the bot's own slash commands");
            problems.push(super::ConfigProblem::new(key("slash"), message));
        }
    }
    problems
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;

//! What the AWS CLI guardrails say of an action, asked through one trait (the guardrails live
//! with `@bot aws`, above this module), and the catalog of actions checked against them once.

use std::sync::Arc;

use crate::config::{ActionConfig, ArgTemplate, ConfigProblem, Piece};

/// The guardrails' answers, for actions. Custom actions may write (the default allowlist does
/// not apply to them), but the rejected flags, the bad characters and the denylist do.
pub trait Guardrails: Send + Sync + 'static {
    /// Why `value` may not be one argv element (shell or control characters, too long).
    fn value_problem(&self, value: &str) -> Option<String>;
    /// Why the argv after `aws` may never run (a rejected flag, a denylisted operation).
    fn command_problem(&self, args: &[String]) -> Option<String>;
    /// Whether the default allowlist takes `service operation` for read-only.
    fn is_read_only(&self, service: &str, operation: &str) -> bool;
}

/// One action, ready to run: its config and the approvals it needs.
#[derive(Clone, Debug)]
pub struct Action {
    pub config: ActionConfig,
    /// `approvals`, or its default: 0 read-only, 1 otherwise.
    pub approvals: u8,
}

/// Every `[[actions]]`, checked against the guardrails.
#[derive(Clone)]
pub struct Catalog {
    actions: Vec<Action>,
    pub guardrails: Arc<dyn Guardrails>,
}

impl Catalog {
    /// The actions of the config; every one that breaks a guardrail is a problem at its key.
    pub fn new(
        configs: &[ActionConfig],
        guardrails: Arc<dyn Guardrails>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut actions = Vec::new();
        for (index, config) in configs.iter().enumerate() {
            problems.extend(action_problems(index, config, &*guardrails));
            let (service, operation) = config.service_operation();
            let default = u8::from(!guardrails.is_read_only(service, operation));
            let approvals = config.approvals.unwrap_or(default);
            if approvals > 0 && config.approvers.is_empty() {
                let message = if config.approvals.is_none() {
                    format!(
                        "{service} {operation} is not read-only, so it needs 1 approval by \
                         default, but no approvers are listed: add approvers, or set approvals = 0"
                    )
                } else {
                    format!("{approvals} approval(s) asked but no approvers are listed")
                };
                problems.push(ConfigProblem::new(format!("actions[{index}].approvers"), message));
            }
            actions.push(Action {
                config: config.clone(),
                approvals,
            });
        }
        if problems.is_empty() {
            Ok(Self {
                actions,
                guardrails,
            })
        } else {
            Err(problems)
        }
    }

    pub fn get(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.config.name == name)
    }

    pub fn all(&self) -> &[Action] {
        &self.actions
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// The guardrails' problems with one action: each literal piece's characters, then the
/// command as a whole (variables stand in as `x`, which no rule refuses).
fn action_problems(index: usize, config: &ActionConfig, guard: &dyn Guardrails) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (i, element) in config.command.iter().enumerate().skip(1) {
        for piece in &element.pieces {
            if let Piece::Text(text) = piece {
                if let Some(problem) = guard.value_problem(text) {
                    let key = format!("actions[{index}].command[{i}]");
                    problems.push(ConfigProblem::new(key, problem));
                }
            }
        }
    }
    let stand_in: Vec<String> = config
        .command
        .iter()
        .skip(1)
        .map(|element: &ArgTemplate| element.fill(|_| Ok::<_, ()>("x".to_owned())).unwrap_or_default())
        .collect();
    if let Some(problem) = guard.command_problem(&stand_in) {
        // The first element whose addition breaks a rule is the one to point at.
        let culprit = (2..stand_in.len())
            .find(|&end| guard.command_problem(&stand_in[..=end]).is_some())
            .filter(|&end| guard.command_problem(&stand_in[..end]).is_none())
            .map_or(String::new(), |end| format!("[{}]", end + 1));
        let key = format!("actions[{index}].command{culprit}");
        problems.push(ConfigProblem::new(key, problem));
    }
    problems
}

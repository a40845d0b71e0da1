//! The `Catalog`: every `[[actions]]` checked once against the AWS CLI guardrails
//! (`integrations::aws_cli`): custom actions may write (the default allowlist does not bind
//! them), but the rejected flags, the bad characters and the denylist do.

use crate::config::{ActionConfig, ConfigProblem};
use crate::integrations::aws_cli::command::check_characters;
use crate::integrations::aws_cli::guardrails::{default_allowlist, denial};
use crate::integrations::aws_cli::{AwsCommand, Refusal};

/// One action, ready to run: its config and the approvals it needs.
#[derive(Clone, Debug)]
pub struct Action {
    pub config: ActionConfig,
    /// `approvals`, or its default: 0 read-only, 1 otherwise.
    pub approvals: u8,
}

/// Every `[[actions]]`, checked against the guardrails.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    actions: Vec<Action>,
}

/// Why the argv after `aws` may never run: a rejected flag, a character, the denylist.
pub fn command_problem(args: &[String]) -> Result<AwsCommand, Refusal> {
    let command = AwsCommand::from_words(args.to_vec())?;
    match denial(&command) {
        Some(entry) => Err(Refusal::Denied {
            service: command.service().to_owned(),
            operation: command.operation().to_owned(),
            why: entry.why,
        }),
        None => Ok(command),
    }
}

/// Why `value` may not be one argv element (shell or control characters, `file://`, length).
pub fn value_problem(value: &str) -> Option<Refusal> {
    if value.len() > crate::integrations::aws_cli::command::MAX_ARGUMENT_BYTES {
        return Some(Refusal::TooLong {
            position: 0,
            length: value.len(),
            max: crate::integrations::aws_cli::command::MAX_ARGUMENT_BYTES,
        });
    }
    check_characters(value, false).err()
}

/// Whether the default allowlist takes `service operation` for read-only.
pub fn is_read_only(service: &str, operation: &str) -> bool {
    default_allowlist()
        .iter()
        .any(|glob| glob.matches(service, operation))
}

impl Catalog {
    /// The actions of the config; every one that breaks a guardrail is a problem at its key.
    pub fn new(configs: &[ActionConfig]) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut actions = Vec::new();
        for (index, config) in configs.iter().enumerate() {
            problems.extend(action_problems(index, config));
            let (service, operation) = config.service_operation();
            let default = u8::from(!is_read_only(service, operation));
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
                let key = format!("actions[{index}].approvers");
                problems.push(ConfigProblem::new(key, message));
            }
            actions.push(Action {
                config: config.clone(),
                approvals,
            });
        }
        if problems.is_empty() {
            Ok(Self { actions })
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

/// The guardrails' problems with one action: the command as a whole, its literal text checked
/// as `@bot aws` checks typed words (variables stand in as `x`, which no rule refuses),
/// pointing at the first element that breaks a rule.
fn action_problems(index: usize, config: &ActionConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let stand_in: Vec<String> = config.command[1..]
        .iter()
        .map(|element| {
            element
                .fill(|_| Ok::<_, ()>("x".to_owned()))
                .unwrap_or_default()
        })
        .collect();
    if let Err(problem) = command_problem(&stand_in) {
        let culprit = (2..stand_in.len())
            .find(|&end| command_problem(&stand_in[..=end]).is_err())
            .filter(|&end| command_problem(&stand_in[..end]).is_ok())
            .map_or(String::new(), |end| format!("[{}]", end + 1));
        let key = format!("actions[{index}].command{culprit}");
        problems.push(ConfigProblem::new(key, problem.to_string()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(command: &[&str], approvers: &[&str], approvals: Option<u8>) -> ActionConfig {
        let text = format!(
            "[slack]\napp_token = \"xapp-1-x\"\nbot_token = \"xoxb-x\"\n\n[aws_commands]\n\
             role_arn = \"arn:aws:iam::123456789012:role/chatops\"\nregion = \"eu-west-1\"\n\n\
             [[actions]]\nname = \"a\"\n\
             description = \"d\"\ncommand = {command:?}\napprovers = {approvers:?}\n{}",
            approvals.map_or(String::new(), |n| format!("approvals = {n}\n"))
        );
        let config = crate::config::Config::load_from_str(
            "t.toml",
            &text,
            Vec::<(String, String)>::new(),
            crate::config::Purpose::Run,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        config.actions[0].clone()
    }

    #[test]
    fn the_denylist_and_rejected_flags_bind_actions_and_writes_need_approvers() {
        let bad = [
            (
                vec![
                    "aws",
                    "secretsmanager",
                    "get-secret-value",
                    "--secret-id",
                    "x",
                ],
                "actions[0].command",
            ),
            (
                vec![
                    "aws",
                    "ec2",
                    "describe-instances",
                    "--endpoint-url",
                    "http://x",
                ],
                "actions[0].command[3]",
            ),
            (
                vec![
                    "aws",
                    "ssm",
                    "get-parameter",
                    "--name",
                    "p",
                    "--with-decryption",
                ],
                "actions[0].command[5]",
            ),
            (
                vec!["aws", "s3api", "put-object", "--body", "file:///etc/passwd"],
                "actions[0].command[4]",
            ),
            (
                vec!["aws", "ec2", "describe-instances", "--filters", "a;b"],
                "actions[0].command[4]",
            ),
        ];
        for (command, key) in bad {
            let problems = Catalog::new(&[action(&command, &["U0BOB00001"], None)]).unwrap_err();
            assert_eq!(problems[0].key, key, "{command:?}: {problems:?}");
        }
        let write = action(&["aws", "autoscaling", "set-desired-capacity"], &[], None);
        let problems = Catalog::new(&[write]).unwrap_err();
        assert_eq!(problems[0].key, "actions[0].approvers", "{problems:?}");
        let read =
            Catalog::new(&[action(&["aws", "ec2", "describe-instances"], &[], None)]).unwrap();
        assert_eq!(read.all()[0].approvals, 0);
        let write = action(&["aws", "ec2", "reboot-instances"], &["U0BOB00001"], None);
        assert_eq!(Catalog::new(&[write]).unwrap().all()[0].approvals, 1);
    }
}

//! The dry run shown on an approval card before anyone approves: EC2's own `--dry-run`, else
//! `iam simulate-principal-policy` for the role the CLI assumes. Pure: what to run, and what
//! its output means.

use serde::Deserialize;

use super::iam::iam_action;
use crate::integrations::aws_cli::CliOutput;

/// How an action's dry run is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DryRun {
    /// The same argv with `--dry-run` (EC2): `DryRunOperation` means it would succeed.
    Ec2(Vec<String>),
    /// `iam simulate-principal-policy` for the assumed role and the command's IAM action.
    Simulate { args: Vec<String>, action: String },
    /// None can be made; the reason is shown.
    Unavailable(String),
}

/// What the dry run said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    WouldSucceed(String),
    WouldFail(String),
    Unknown(String),
}

/// The dry run for `args` (the argv after `aws`), with the role the CLI assumes if known.
pub fn plan(args: &[String], role_arn: Option<&str>) -> DryRun {
    let (Some(service), Some(operation)) = (args.first(), args.get(1)) else {
        return DryRun::Unavailable("no operation".into());
    };
    if service == "ec2" {
        let mut dry = args.to_vec();
        if !dry.iter().any(|a| a == "--dry-run") {
            dry.push("--dry-run".into());
        }
        return DryRun::Ec2(dry);
    }
    let Some(role) = role_arn else {
        return DryRun::Unavailable(
            "no dry run: the role the AWS CLI assumes is not known (aws_commands.role_arn)".into(),
        );
    };
    let action = iam_action(service, operation);
    DryRun::Simulate {
        args: [
            "iam",
            "simulate-principal-policy",
            "--policy-source-arn",
            role,
            "--action-names",
            &action,
        ]
        .map(str::to_owned)
        .to_vec(),
        action,
    }
}

/// What an EC2 `--dry-run` answered: it always exits non-zero, and its error code tells.
pub fn read_ec2(output: &CliOutput) -> Verdict {
    if output.stderr.contains("DryRunOperation") {
        return Verdict::WouldSucceed(
            "EC2 dry run: DryRunOperation (the request would have succeeded)".into(),
        );
    }
    if output.stderr.contains("UnauthorizedOperation") {
        return Verdict::WouldFail(
            "EC2 dry run: UnauthorizedOperation (the role may not do this)".into(),
        );
    }
    Verdict::Unknown(format!("EC2 dry run: {}", last_line(output)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Simulation {
    #[serde(default)]
    evaluation_results: Vec<Evaluation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Evaluation {
    eval_action_name: String,
    eval_decision: String,
}

/// What `iam simulate-principal-policy` decided for `action`.
pub fn read_simulation(output: &CliOutput, action: &str) -> Verdict {
    if output.exit_code != Some(0) {
        return Verdict::Unknown(format!("policy simulation failed: {}", last_line(output)));
    }
    let Ok(simulation) = serde_json::from_slice::<Simulation>(&output.stdout) else {
        return Verdict::Unknown("policy simulation: unreadable answer".into());
    };
    match simulation
        .evaluation_results
        .iter()
        .find(|e| e.eval_action_name.eq_ignore_ascii_case(action))
    {
        Some(e) if e.eval_decision == "allowed" => Verdict::WouldSucceed(format!(
            "IAM policy simulation: {action} is allowed for the role"
        )),
        Some(e) => Verdict::WouldFail(format!(
            "IAM policy simulation: {action} is {} for the role",
            e.eval_decision
        )),
        None => Verdict::Unknown(format!("policy simulation said nothing of {action}")),
    }
}

fn last_line(output: &CliOutput) -> String {
    let line = output.stderr.trim().lines().last().unwrap_or("no output");
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn output(code: i32, stdout: &str, stderr: &str) -> CliOutput {
        CliOutput {
            exit_code: Some(code),
            stdout: stdout.as_bytes().to_vec(),
            stdout_truncated: false,
            stderr: stderr.into(),
            duration: Duration::from_millis(5),
        }
    }

    fn args(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn ec2_dry_runs_itself_and_others_are_simulated() {
        assert_eq!(
            plan(&args("ec2 reboot-instances --instance-ids i-1"), None),
            DryRun::Ec2(args("ec2 reboot-instances --instance-ids i-1 --dry-run"))
        );
        let role = "arn:aws:iam::123456789012:role/chatops";
        match plan(
            &args("autoscaling set-desired-capacity --desired-capacity 4"),
            Some(role),
        ) {
            DryRun::Simulate { args: sim, action } => {
                assert_eq!(action, "autoscaling:SetDesiredCapacity");
                assert_eq!(
                    sim[..4],
                    args(&format!(
                        "iam simulate-principal-policy --policy-source-arn {role}"
                    ))[..]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            plan(&args("ecs update-service"), None),
            DryRun::Unavailable(_)
        ));
    }

    #[test]
    fn dry_run_answers_are_read() {
        let ok = output(254, "", "An error occurred (DryRunOperation) when calling the RebootInstances operation: Request would have succeeded, but DryRun flag is set.");
        assert!(matches!(read_ec2(&ok), Verdict::WouldSucceed(_)));
        let no = output(
            254,
            "",
            "An error occurred (UnauthorizedOperation) when calling …",
        );
        assert!(matches!(read_ec2(&no), Verdict::WouldFail(_)));
        let sim = r#"{"EvaluationResults":[{"EvalActionName":"autoscaling:SetDesiredCapacity","EvalDecision":"implicitDeny"}]}"#;
        let verdict = read_simulation(&output(0, sim, ""), "autoscaling:SetDesiredCapacity");
        assert!(
            matches!(verdict, Verdict::WouldFail(ref t) if t.contains("implicitDeny")),
            "{verdict:?}"
        );
        let sim = sim.replace("implicitDeny", "allowed");
        assert!(matches!(
            read_simulation(&output(0, &sim, ""), "autoscaling:SetDesiredCapacity"),
            Verdict::WouldSucceed(_)
        ));
    }
}

//! The `[aws_commands]` section: off when absent, defaults, channels with and without `allow`, every problem with its key, and bot.toml's example.

use std::path::Path;
use std::time::Duration;

use chatops_bot::config::{Config, ConfigErrors, Purpose, DEFAULT_CLI_TIMEOUT};

use super::{assert_problems, env, load_ok};

const ROLE: &str = "arn:aws:iam::123456789012:role/chatops-readonly";

fn load_text(text: &str) -> Result<Config, ConfigErrors> {
    Config::load_from_str("aws_commands.toml", text, env(&[]), Purpose::Manifest)
}

#[test]
fn without_the_section_the_command_is_off() {
    let config = load_ok("empty.toml", &[], Purpose::Manifest);
    assert!(config.aws_commands.is_none());
}

#[test]
fn a_full_section_reads_with_its_defaults() {
    let text = format!(
        r#"
[aws]
region = "eu-west-1"

[aws.endpoints]
sts = "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com"

[aws_commands]
role_arn = "{ROLE}"

[[aws_commands.channels]]
channel = "C0123OPS1"

[[aws_commands.channels]]
channel = "C0456DEV2"
allow = ["ec2 describe-*", "* list-*"]
"#
    );
    let config = load_text(&text).unwrap_or_else(|e| panic!("{e}"));
    let aws = config.aws_commands.expect("[aws_commands] is set");
    assert_eq!(aws.role_arn, ROLE);
    assert_eq!(aws.region, "eu-west-1", "aws.region by default");
    assert_eq!(aws.timeout, DEFAULT_CLI_TIMEOUT);
    assert_eq!(aws.cli, None);
    assert_eq!(
        aws.sts_endpoint.as_ref().map(|u| u.to_string()).as_deref(),
        Some("https://vpce-1.sts.eu-west-1.vpce.amazonaws.com/")
    );
    assert!(aws.channel("C0123OPS1").unwrap().allow.is_none());
    let dev = aws.channel("C0456DEV2").unwrap();
    let allow = dev.allow.as_ref().unwrap();
    assert!(allow[0].matches("ec2", "describe-instances"));
    assert!(allow[1].matches("lambda", "list-functions"));
    assert!(aws.channel("C0NOTLISTED").is_none());

    let own = format!("[aws_commands]\nrole_arn = \"{ROLE}\"\nregion = \"us-east-1\"\ncli = \"/opt/aws/bin/aws\"\ntimeout = \"30s\"\n");
    let aws = load_text(&own).unwrap().aws_commands.unwrap();
    assert_eq!(aws.region, "us-east-1");
    assert_eq!(aws.timeout, Duration::from_secs(30));
    assert_eq!(aws.cli.unwrap().display().to_string(), "/opt/aws/bin/aws");
    assert!(aws.channels.is_empty());
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let text = r##"
[aws_commands]
cli = "aws"
timeout = "10m"
role = "x"

[[aws_commands.channels]]
channel = "#ops"
allow = ["ec2", "ec2 describe-* extra", "EC2 describe-*"]

[[aws_commands.channels]]
allow = []
"##;
    let errors = load_text(text).unwrap_err();
    assert_problems(
        "bad",
        &errors,
        &[
            "aws_commands.cli: must be an absolute path".to_owned(),
            "aws_commands.timeout: must be between 1s and 2m".to_owned(),
            "aws_commands.channels[0].channel: must be a channel id".to_owned(),
            "aws_commands.channels[0].allow[0]: must be \"<service> <operation>\"".to_owned(),
            "aws_commands.channels[0].allow[1]: must be \"<service> <operation>\"".to_owned(),
            "aws_commands.channels[0].allow[2]: must be \"<service> <operation>\"".to_owned(),
            "aws_commands.channels[1].channel: is required".to_owned(),
            "aws_commands.role_arn: is required".to_owned(),
            "aws_commands.role: ".to_owned(),
        ],
    );
    let no_region = format!("[aws_commands]\nrole_arn = \"{ROLE}\"\n");
    assert_problems(
        "no region",
        &load_text(&no_region).unwrap_err(),
        &[
            "aws_commands.region: is required when [aws_commands] is set and aws.region is not"
                .to_owned(),
        ],
    );
    let bad_arn =
        "[aws]\nregion = \"eu-west-1\"\n[aws_commands]\nrole_arn = \"arn:aws:iam::123:user/x\"\n";
    assert_problems(
        "bad arn",
        &load_text(bad_arn).unwrap_err(),
        &["aws_commands.role_arn: must be an IAM role ARN".to_owned()],
    );
}

#[test]
fn check_shows_the_section() {
    let off = load_ok("empty.toml", &[], Purpose::Manifest);
    assert_eq!(
        chatops_bot::cli::describe_aws_commands(&off, None),
        "AWS commands: off ([aws_commands] is not set)."
    );
    let text = format!(
        "[aws_commands]\nrole_arn = \"{ROLE}\"\nregion = \"eu-west-1\"\n\
         [[aws_commands.channels]]\nchannel = \"C0123OPS1\"\n\
         [[aws_commands.channels]]\nchannel = \"C0456DEV2\"\nallow = [\"ec2 describe-*\", \"* list-*\"]\n"
    );
    let config = load_text(&text).unwrap();
    let bin = tempfile::tempdir().unwrap();
    let aws = bin.path().join("aws");
    std::fs::write(&aws, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("/nonexistent:{}", bin.path().display());
    let shown = chatops_bot::cli::describe_aws_commands(&config, Some(&path));
    assert_eq!(
        shown,
        format!(
            "AWS commands: run as {ROLE} in eu-west-1 (timeout 15s), CLI {} (found on PATH)\n  \
             C0123OPS1: the default allowlist (describe-*, list-*, get-*, …)\n  \
             C0456DEV2: ec2 describe-*, * list-*",
            aws.display()
        )
    );
    let missing = chatops_bot::cli::describe_aws_commands(&config, Some("/nonexistent"));
    assert!(
        missing.contains("CLI none on PATH (install AWS CLI v2: https://"),
        "{missing}"
    );
}

#[test]
fn the_commented_example_in_bot_toml_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("# [aws_commands]")
        .expect("bot.toml documents [aws_commands]");
    let example: String = text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = load_text(&example).unwrap_or_else(|e| panic!("{example}\n{e}"));
    let aws = config.aws_commands.expect("the example sets the section");
    assert_eq!(aws.channels.len(), 2);
    assert_eq!(aws.region, "eu-west-1");
}

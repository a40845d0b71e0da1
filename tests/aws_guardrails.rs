//! `@bot aws …` guardrails, pure: the table in tests/fixtures/aws_commands/guardrails.txt line by line (allowlist, denylist, per-channel lists, rejected options, injection attempts), the length limits, the argv, and docs/aws-commands.md listing every rule.

use std::path::Path;

use chatops_bot::config::OperationGlob;
use chatops_bot::integrations::aws_cli::command::{
    MAX_ARGUMENTS, MAX_ARGUMENT_BYTES, REJECTED_FLAGS,
};
use chatops_bot::integrations::aws_cli::guardrails::{self, DENYLIST};
use chatops_bot::integrations::aws_cli::{AwsCommand, Refusal};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws_commands")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `\n`, `\r`, `\t`, `\0`, `\e` and `\u{…}` as the characters they name.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('e') => out.push('\u{1B}'),
            Some('u') => {
                let code: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&code, 16).unwrap()).unwrap());
            }
            other => panic!("unknown escape \\{other:?} in {text:?}"),
        }
    }
    out
}

fn check(text: &str, allow: Option<&[OperationGlob]>) -> Result<AwsCommand, Refusal> {
    let command = AwsCommand::parse(text)?;
    guardrails::permit(&command, allow)?;
    Ok(command)
}

#[test]
fn the_guardrail_table_holds_line_by_line() {
    let table = fixture("guardrails.txt");
    let mut allow: Option<Vec<OperationGlob>> = None;
    let mut failures = Vec::new();
    let mut cases = 0;
    for (index, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[default]" {
            allow = None;
            continue;
        }
        if let Some(globs) = line
            .strip_prefix("[allow:")
            .and_then(|l| l.strip_suffix(']'))
        {
            let globs = globs.split(',').map(str::trim).filter(|g| !g.is_empty());
            allow = Some(
                globs
                    .map(|g| OperationGlob::parse(g.into()).unwrap())
                    .collect(),
            );
            continue;
        }
        let (expected, text) = line.split_once('|').expect("<expected> | <text>");
        let text = unescape(text.trim());
        let got = check(&text, allow.as_deref());
        let kind = match &got {
            Ok(_) => "ok",
            Err(refusal) => refusal.kind(),
        };
        cases += 1;
        if kind != expected.trim() {
            failures.push(format!(
                "line {}: {text:?}: expected {}, got {got:?}",
                index + 1,
                expected.trim()
            ));
        }
    }
    assert!(cases > 150, "only {cases} cases read");
    let every_kind = [
        "ok",
        "empty",
        "unclosed_quote",
        "bad_name",
        "bad_character",
        "too_long",
        "too_many",
        "rejected_flag",
        "abbreviated_flag",
        "bad_flag",
        "file_reference",
        "bad_region",
        "repeated",
        "missing_value",
        "denied",
        "not_allowed",
    ];
    let missing: Vec<&str> = every_kind
        .iter()
        .filter(|kind| {
            !table
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{kind} |")))
        })
        .copied()
        .collect();
    // too_long and too_many are generated below (a line cannot hold 10 KB readably).
    assert_eq!(
        missing,
        ["too_long", "too_many"],
        "kinds the table never shows"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn refusals_say_why_in_words() {
    let reason = |text: &str| check(text, None).unwrap_err().to_string();
    assert_eq!(
        reason("secretsmanager get-secret-value --secret-id x"),
        "`secretsmanager get-secret-value` is never run from chat: it returns a secret value"
    );
    assert!(reason("ec2 describe-instances; rm -rf /").contains("`;` is not allowed"));
    assert!(reason("ec2 describe-instances --instance-ids `id`")
        .contains("only a `--query` value may hold it"));
    assert!(reason("ec2 describe-instances --profile admin")
        .contains("commands run only as the bot's read-only role"));
    assert!(reason("ec2 describe-instances --instance-ids \"a\nb\"").contains("U+000A"));
    let not_here = check(
        "lambda list-functions",
        Some(&[OperationGlob::parse("ec2 describe-*".into()).unwrap()]),
    );
    assert_eq!(
        not_here.unwrap_err().to_string(),
        "`lambda list-functions` is not allowed in this channel (allowed here: `ec2 describe-*`)"
    );
}

#[test]
fn long_arguments_and_long_commands_are_refused() {
    let ten_kb = "i".repeat(10 * 1024);
    let refusal = check(
        &format!("ec2 describe-instances --instance-ids {ten_kb}"),
        None,
    );
    assert_eq!(
        refusal,
        Err(Refusal::TooLong {
            position: 4,
            length: 10 * 1024,
            max: MAX_ARGUMENT_BYTES
        })
    );
    let at_limit = "i".repeat(MAX_ARGUMENT_BYTES);
    assert!(check(
        &format!("ec2 describe-instances --instance-ids {at_limit}"),
        None
    )
    .is_ok());
    let many = "x ".repeat(MAX_ARGUMENTS);
    assert_eq!(
        check(&format!("ec2 describe-instances {many}"), None),
        Err(Refusal::TooMany {
            count: MAX_ARGUMENTS + 2,
            max: MAX_ARGUMENTS
        })
    );
}

#[test]
fn the_argv_is_the_words_as_typed_without_the_region() {
    let command = AwsCommand::parse(
        "ec2 describe-instances --region ap-northeast-2 --query 'Reservations[].Instances[?State.Name==`running`] | length(@)' --max-items 5",
    )
    .unwrap();
    assert_eq!(command.region(), Some("ap-northeast-2"));
    assert_eq!(
        command.argv(),
        [
            "ec2",
            "describe-instances",
            "--query",
            "Reservations[].Instances[?State.Name==`running`] | length(@)",
            "--max-items",
            "5"
        ]
    );
    assert_eq!(
        command.shown(),
        "aws ec2 describe-instances --region ap-northeast-2 --query 'Reservations[].Instances[?State.Name==`running`] | length(@)' --max-items 5"
    );
    // Words already split (an action's argv) are checked the same way.
    let words = ["ec2", "describe-instances", "--instance-ids", "i-1;reboot"];
    let refused = AwsCommand::from_words(words.iter().map(|w| w.to_string()).collect());
    assert_eq!(refused.unwrap_err().kind(), "bad_character");
}

#[test]
fn the_docs_list_every_denied_operation_and_rejected_option() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/aws-commands.md"))
            .unwrap();
    let missing: Vec<String> = DENYLIST
        .iter()
        .map(|entry| entry.shown())
        .chain(REJECTED_FLAGS.iter().map(|(flag, _)| (*flag).to_owned()))
        .filter(|rule| !docs.contains(&format!("`{rule}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/aws-commands.md does not list: {missing:?}"
    );
}

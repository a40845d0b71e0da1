//! The deploy slash commands' grammar, data-driven: one table of text → command or refusal for
//! each of /deploy, /rollback and /status, then the messages a refusal shows.

use chatops_bot::config::{CommandNames, Config, DeployConfig, Purpose};
use chatops_bot::deploys::{
    help_text, parse_deploy, parse_rollback, parse_status, CommandError, CommandProblem,
    DeployCommand, EnvName, Version, MAX_COMMAND_CHARS,
};

const CONFIG: &str = "[deploy]\ndefault_environment = \"staging\"\n\
    [deploy.environments.staging]\n[deploy.environments.prod]\n[deploy.environments.dev]\n";

/// `text` with the `[github]` every `[deploy]` needs.
fn config_from(text: &str) -> DeployConfig {
    let text = format!(
        "{text}\n[github]\nowner = \"acme\"\nrepo = \"app\"\ntoken = \"github_pat_test\"\n"
    );
    Config::load_from_str("inline", &text, Vec::new(), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"))
        .deploy
        .expect("[deploy] is set")
}

/// A command as the tables write it: `deploy v1.2.3 prod`, `rollback prod to v1`, `audit 10`.
fn show(command: &DeployCommand) -> String {
    match command {
        DeployCommand::Deploy {
            version,
            environment,
        } => {
            format!("deploy {} {}", version.as_str(), environment.as_str())
        }
        DeployCommand::Rollback {
            environment,
            to: None,
        } => format!("rollback {}", environment.as_str()),
        DeployCommand::Rollback {
            environment,
            to: Some(to),
        } => {
            format!("rollback {} to {}", environment.as_str(), to.as_str())
        }
        DeployCommand::Status { environment: None } => "status".to_owned(),
        DeployCommand::Status {
            environment: Some(env),
        } => format!("status {}", env.as_str()),
        DeployCommand::Audit { entries } => format!("audit {entries}"),
        DeployCommand::Help => "help".to_owned(),
    }
}

/// A refusal as the tables write it: `error NotAVersion`.
fn show_error(error: &CommandError) -> String {
    let name = match error.problem {
        CommandProblem::TooLong { .. } => "TooLong",
        CommandProblem::NotPlainText => "NotPlainText",
        CommandProblem::SlackFormatting => "SlackFormatting",
        CommandProblem::UnknownEnvironment { .. } => "UnknownEnvironment",
        CommandProblem::NotAVersion { .. } => "NotAVersion",
        CommandProblem::NeitherVersionNorEnvironment { .. } => "NeitherVersionNorEnvironment",
        CommandProblem::NothingAfterTo { .. } => "NothingAfterTo",
        CommandProblem::UnexpectedWord { .. } => "UnexpectedWord",
        CommandProblem::VersionRequired => "VersionRequired",
        CommandProblem::RollbackToLatest => "RollbackToLatest",
        CommandProblem::BadAuditCount { .. } => "BadAuditCount",
    };
    format!("error {name}")
}

type Parser = fn(&str, &DeployConfig, &CommandNames) -> Result<DeployCommand, CommandError>;

fn check(parser: Parser, cases: &[(&str, &str)]) {
    let config = config_from(CONFIG);
    let names = CommandNames::new("platform");
    let mut wrong = Vec::new();
    for (text, expected) in cases {
        let got = match parser(text, &config, &names) {
            Ok(command) => show(&command),
            Err(error) => show_error(&error),
        };
        if got != *expected {
            wrong.push(format!("{text:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn deploy_takes_a_version_and_an_environment_in_any_of_their_shapes() {
    let too_long = "v".repeat(MAX_COMMAND_CHARS + 1);
    let spaces_only = " ".repeat(MAX_COMMAND_CHARS);
    check(
        parse_deploy,
        &[
            ("", "deploy latest staging"),
            (&spaces_only, "deploy latest staging"),
            ("v1.2.3", "deploy v1.2.3 staging"),
            ("1.2.3", "deploy 1.2.3 staging"),
            ("v1.2.3 to prod", "deploy v1.2.3 prod"),
            ("  v1.2.3\t to \n prod ", "deploy v1.2.3 prod"),
            ("v1.2.3 to prod\u{a0}", "deploy v1.2.3 prod"),
            ("v1.2.3 prod", "deploy v1.2.3 prod"),
            (
                "v2.0.0-rc.1+build.7 TO Dev",
                "deploy v2.0.0-rc.1+build.7 dev",
            ),
            ("to prod", "deploy latest prod"),
            ("TO prod", "deploy latest prod"),
            ("prod", "deploy latest prod"),
            ("PROD", "deploy latest prod"),
            ("latest", "deploy latest staging"),
            ("latest to dev", "deploy latest dev"),
            ("abc1234", "deploy abc1234 staging"),
            ("ABC1234DEF to dev", "deploy ABC1234DEF dev"),
            ("help", "help"),
            ("HELP", "help"),
            ("--help", "help"),
            ("?", "help"),
            ("help me", "error NotAVersion"),
            ("to", "error NothingAfterTo"),
            ("v1.2.3 to", "error NothingAfterTo"),
            ("v1.2 to", "error NotAVersion"),
            ("v1.2.3 to production", "error UnknownEnvironment"),
            ("v1.2.3 production", "error UnknownEnvironment"),
            ("to production", "error UnknownEnvironment"),
            ("production", "error NeitherVersionNorEnvironment"),
            ("v1.2", "error NeitherVersionNorEnvironment"),
            ("v1.2.3;rm", "error NeitherVersionNorEnvironment"),
            ("`v1.2.3`", "error NeitherVersionNorEnvironment"),
            ("1.2.3.4 prod", "error NotAVersion"),
            ("abc123 prod", "error NotAVersion"),
            ("v1.2.3 from prod", "error UnexpectedWord"),
            ("v1.2.3 to prod now", "error UnexpectedWord"),
            ("v1.2.3;rm -rf /", "error UnexpectedWord"),
            ("v1.2.3\u{200b} prod", "error NotPlainText"),
            ("v1.2.3 to prød", "error NotPlainText"),
            ("v1.2.3\u{7}", "error NotPlainText"),
            ("🚀", "error NotPlainText"),
            (
                "<mailto:a@example.com|a@example.com>",
                "error SlackFormatting",
            ),
            (
                "v1.2.3 to <http://prod.example.com|prod.example.com>",
                "error SlackFormatting",
            ),
            ("<@U0123ABCD>", "error SlackFormatting"),
            ("v1.2.3 &amp; prod", "error SlackFormatting"),
            (&too_long, "error TooLong"),
        ],
    );
}

#[test]
fn rollback_takes_an_environment_and_perhaps_a_version() {
    check(
        parse_rollback,
        &[
            ("", "rollback staging"),
            ("prod", "rollback prod"),
            (" Prod ", "rollback prod"),
            ("prod to v1.2.2", "rollback prod to v1.2.2"),
            ("prod v1.2.2", "rollback prod to v1.2.2"),
            ("to v1.2.2", "rollback staging to v1.2.2"),
            ("dev to abc1234", "rollback dev to abc1234"),
            ("help", "help"),
            ("prod to", "error NothingAfterTo"),
            ("to", "error NothingAfterTo"),
            ("prod to latest", "error RollbackToLatest"),
            ("to LATEST", "error RollbackToLatest"),
            ("v1.2.2", "error UnknownEnvironment"),
            ("production", "error UnknownEnvironment"),
            ("prod to v1.2", "error NotAVersion"),
            ("prod to v1.2.2 now", "error UnexpectedWord"),
            ("prod from v1.2.2", "error UnexpectedWord"),
            ("prod to <http://v1.2.2|v1.2.2>", "error SlackFormatting"),
        ],
    );
}

#[test]
fn status_takes_an_environment_or_asks_for_the_audit_trail() {
    check(
        parse_status,
        &[
            ("", "status"),
            ("prod", "status prod"),
            ("audit", "audit 10"),
            ("AUDIT 25", "audit 25"),
            ("audit 1", "audit 1"),
            ("audit 100", "audit 100"),
            ("help", "help"),
            ("audit 0", "error BadAuditCount"),
            ("audit 101", "error BadAuditCount"),
            ("audit -5", "error BadAuditCount"),
            ("audit ten", "error BadAuditCount"),
            ("audit 99999999999", "error BadAuditCount"),
            ("prod audit", "error UnexpectedWord"),
            ("production", "error UnknownEnvironment"),
            ("prod\u{ff0c}", "error NotPlainText"),
        ],
    );
}

#[test]
fn a_refusal_shows_the_grammar_with_the_configured_names_and_quotes_little() {
    let config = config_from(CONFIG);
    let names = CommandNames::new("ops");
    let error = parse_deploy("v1.2.3 to production", &config, &names).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`production` is not an environment here (environments: dev, prod, staging).\n\
         Usage: `/ops-deploy [version] [to] [env]` (`/ops-deploy help` explains more)."
    );
    let rollback = parse_rollback("prod to", &config, &names).unwrap_err();
    assert!(
        rollback.to_string().ends_with(
            "Usage: `/ops-rollback [env] [to version]` (`/ops-rollback help` explains more)."
        ),
        "{rollback}"
    );
    let status = parse_status("audit 0", &config, &names).unwrap_err();
    assert!(status.usage.contains("/ops-status audit [n]"), "{status}");
    let long_word = format!("x{}", "y".repeat(150));
    let error = parse_deploy(&long_word, &config, &names).unwrap_err();
    let quoted = format!("x{}…", "y".repeat(39));
    assert!(
        error
            .to_string()
            .starts_with(&format!("`{quoted}` is neither")),
        "{error}"
    );
    let formatted =
        parse_deploy("<mailto:bob@example.com|bob@example.com>", &config, &names).unwrap_err();
    assert!(
        !formatted.to_string().contains("bob@"),
        "Slack's markup is refused, not quoted: {formatted}"
    );
}

#[test]
fn help_names_the_commands_the_environments_and_the_default() {
    let config = config_from(CONFIG);
    let help = help_text(&CommandNames::new("ops"), &config);
    for part in [
        "`/ops-deploy [version] [to] [env]`",
        "`/ops-rollback [env] [to version]`",
        "`/ops-status [env]`",
        "`/ops-status audit [n]`",
        "(`staging` when none is given)",
        "Environments: dev, prod, staging.",
    ] {
        assert!(help.contains(part), "{part} missing from:\n{help}");
    }
}

#[test]
fn versions_pass_the_configured_pattern_and_stay_plain_whatever_it_allows() {
    let permissive =
        config_from("[deploy]\nversion_pattern = \".+\"\n[deploy.environments.prod]\n");
    assert_eq!(
        Version::parse("release-42", &permissive).unwrap().as_str(),
        "release-42"
    );
    for hostile in ["v1;rm", "$(id)", "a\"b", "v1/../x", "", &"1".repeat(129)] {
        assert!(Version::parse(hostile, &permissive).is_err(), "{hostile:?}");
    }
    let strict = config_from(
        "[deploy]\nversion_pattern = 'v[0-9]+\\.[0-9]+\\.[0-9]+'\n[deploy.environments.prod]\n",
    );
    let names = CommandNames::new("platform");
    let refused = parse_deploy("", &strict, &names).unwrap_err();
    assert_eq!(
        refused.problem,
        CommandProblem::VersionRequired,
        "no `latest` to fall back on"
    );
    assert!(Version::latest(&strict).is_err());
    assert!(Version::latest(&config_from(CONFIG)).unwrap().is_latest());
    let refused = parse_deploy("prod", &strict, &names).unwrap_err();
    assert_eq!(show_error(&refused), "error VersionRequired");
}

#[test]
fn environment_names_come_only_from_the_configuration() {
    let config = config_from(CONFIG);
    assert_eq!(EnvName::parse("Prod", &config).unwrap().as_str(), "prod");
    assert_eq!(EnvName::default_of(&config).as_str(), "staging");
    assert!(matches!(
        EnvName::parse("qa", &config),
        Err(CommandProblem::UnknownEnvironment { known, .. }) if known == ["dev", "prod", "staging"]
    ));
}

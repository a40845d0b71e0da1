//! The `[deploy]` section: off when absent, defaults, every key read as written, the approval
//! checks, the cross-check against `[[alarms.route]]`, and bot.toml's example.

use std::time::Duration;

use chatops_bot::config::{Config, Purpose, SlackPrincipal, WorkflowDispatch};

use super::{env, load_ok};

/// Deploys need `[github]`: added to every text here that has none.
fn with_github(text: &str) -> String {
    if text.contains("[github]") {
        text.to_owned()
    } else {
        format!("{text}\n[github]\nowner = \"acme\"\nrepo = \"app\"\ntoken = \"github_pat_test\"\n")
    }
}

fn load_text(text: &str) -> Config {
    let text = &with_github(text);
    Config::load_from_str("inline", text, env(&[]), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{text}\n{errors}"))
}

fn problems_of(text: &str) -> Vec<String> {
    let text = &with_github(text);
    match Config::load_from_str("inline", text, env(&[]), Purpose::Manifest) {
        Ok(_) => panic!("should not load:\n{text}"),
        Err(errors) => errors.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn without_the_section_deploys_are_off() {
    assert!(load_ok("empty.toml", &[], Purpose::Manifest)
        .deploy
        .is_none());
}

#[test]
fn one_environment_is_enough_and_everything_else_takes_the_documented_defaults() {
    let deploy = load_text("[deploy.environments.dev]\n").deploy.unwrap();
    assert_eq!(deploy.event_type, "dev_deploy");
    assert_eq!(deploy.workflow, None);
    assert_eq!(deploy.default_environment, "dev", "the only environment");
    assert_eq!(deploy.approval_timeout, Duration::from_secs(30 * 60));
    assert!(!deploy.allow_self_approval);
    assert_eq!(deploy.suspect_window, Duration::from_secs(30 * 60));
    assert_eq!(deploy.poll_interval, Duration::from_secs(15));
    assert_eq!(deploy.gifs, Default::default());
    let dev = &deploy.environments["dev"];
    assert!(dev.requesters.is_empty() && dev.approvers.is_empty() && dev.alarm_routes.is_empty());
    assert_eq!(dev.approvals, 0, "no approvers, no approvals");
}

#[test]
fn the_default_version_pattern_takes_semver_latest_and_shas_only() {
    let deploy = load_text("[deploy.environments.dev]\n").deploy.unwrap();
    let pattern = &deploy.version_pattern;
    for good in [
        "1.2.3",
        "v1.2.3",
        "v10.0.0-rc.1",
        "v1.2.3+build.5",
        "latest",
        "abc1234",
        "ABCDEF0123456789abcdef0123456789abcdef01",
    ] {
        assert!(pattern.is_match(good), "{good}");
    }
    for bad in [
        "v1.2",
        "v01.2.3",
        "1.2.3.4",
        "Latest",
        "abc123",
        "g123456",
        "v1.2.3 ",
        "prod",
        "",
        "v1.2.3;rm",
        "0123456789abcdef0123456789abcdef012345678",
    ] {
        assert!(!pattern.is_match(bad), "{bad}");
    }
}

#[test]
fn the_section_is_read_as_written() {
    let deploy = load_ok("deploy.toml", &[], Purpose::Manifest)
        .deploy
        .unwrap();
    assert_eq!(deploy.event_type, "ship_it");
    assert_eq!(
        deploy.workflow,
        Some(WorkflowDispatch {
            file: "deploy.yaml".into(),
            git_ref: "release/2.x".into()
        })
    );
    assert_eq!(deploy.default_environment, "staging");
    assert!(deploy.version_pattern.is_match("v2.0.0"));
    assert!(
        !deploy.version_pattern.is_match("abc1234"),
        "the pattern replaces the default"
    );
    assert!(
        !deploy.version_pattern.is_match("xv2.0.0"),
        "anchored at both ends"
    );
    assert_eq!(deploy.approval_timeout, Duration::from_secs(45 * 60));
    assert!(deploy.allow_self_approval);
    assert_eq!(deploy.suspect_window, Duration::from_secs(10 * 60));
    assert_eq!(
        deploy.gifs.success.unwrap().as_str(),
        "https://media.example.com/success.gif"
    );
    let prod = &deploy.environments["prod"];
    assert_eq!(
        prod.requesters,
        [
            SlackPrincipal::User("U0ALICE123".into()),
            SlackPrincipal::UserGroup("S0RELEASE1".into()),
            SlackPrincipal::Channel("C0DEPLOYS1".into()),
        ]
    );
    assert_eq!(
        prod.approver_users().collect::<Vec<_>>(),
        ["U0BOB12345", "W0CAROL123"]
    );
    assert!(prod.has_approver_group());
    assert_eq!(prod.approvals, 3, "a user group may make up the rest");
    assert_eq!(prod.alarm_routes, ["payments"]);
    assert_eq!(deploy.environments["staging"].approvals, 0);
}

#[test]
fn approvers_default_to_one_approval_and_workflow_to_main() {
    let text = "[deploy]\nworkflow = \"deploy.yml\"\n\
                [deploy.environments.prod]\napprovers = [\"U0ALICE123\"]\n";
    let deploy = load_text(text).deploy.unwrap();
    assert_eq!(deploy.environments["prod"].approvals, 1);
    assert_eq!(deploy.workflow.unwrap().git_ref, "main");
}

#[test]
fn the_default_environment_is_required_with_two_and_must_name_one() {
    let two = "[deploy.environments.staging]\n[deploy.environments.prod]\n";
    assert_eq!(
        problems_of(two),
        ["deploy.default_environment: is required when there are two or more environments: where a deploy without an environment goes"]
    );
    let wrong = format!("[deploy]\ndefault_environment = \"production\"\n{two}");
    assert_eq!(
        problems_of(&wrong),
        ["deploy.default_environment: must name one of the environments (prod, staging), got \"production\""]
    );
    let right = format!("[deploy]\ndefault_environment = \"prod\"\n{two}");
    assert_eq!(
        load_text(&right).deploy.unwrap().default_environment,
        "prod"
    );
}

#[test]
fn alarm_routes_are_checked_even_without_any_route() {
    let text = "[deploy.environments.prod]\nalarm_routes = [\"payments\"]\n";
    assert_eq!(
        problems_of(text),
        ["deploy.environments.prod.alarm_routes[0]: \"payments\" names no [[alarms.route]]: there are none"]
    );
}

#[test]
fn the_environment_overrides_the_file() {
    let vars = env(&[
        ("CHATOPS_DEPLOY__ALLOW_SELF_APPROVAL", "true"),
        ("CHATOPS_DEPLOY__APPROVAL_TIMEOUT", "2h"),
    ]);
    let config = Config::load_from_str(
        "inline",
        &with_github("[deploy.environments.dev]\n"),
        vars,
        Purpose::Manifest,
    )
    .unwrap_or_else(|errors| panic!("{errors}"));
    let deploy = config.deploy.unwrap();
    assert!(deploy.allow_self_approval);
    assert_eq!(deploy.approval_timeout, Duration::from_secs(2 * 60 * 60));
    let vars = env(&[("CHATOPS_DEPLOY__ALLOW_SELF_APPROVAL", "yes please")]);
    let errors = Config::load_from_str(
        "inline",
        &with_github("[deploy.environments.dev]\n"),
        vars,
        Purpose::Manifest,
    )
    .unwrap_err();
    assert_eq!(errors.problems.len(), 1, "{errors}");
    assert!(
        errors.problems[0]
            .message
            .contains("CHATOPS_DEPLOY__ALLOW_SELF_APPROVAL"),
        "{errors}"
    );
}

#[test]
fn the_commented_deploy_example_in_bot_toml_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("# [deploy]")
        .expect("bot.toml documents the [deploy] section");
    let example: String = text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let example = with_github(&example);
    let config = Config::load_from_str("bot.toml example", &example, env(&[]), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{example}\n{errors}"));
    let deploy = config.deploy.expect("the example has [deploy]");
    assert_eq!(deploy.default_environment, "staging");
    assert_eq!(deploy.environments["prod"].approvals, 1);
    assert_eq!(deploy.workflow.unwrap().file, "chatops-deploy.yml");
    let default = load_text("[deploy.environments.dev]\n").deploy.unwrap();
    assert_eq!(
        deploy.version_pattern, default.version_pattern,
        "the example shows the default"
    );
}

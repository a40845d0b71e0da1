//! The `[github]` section: off when absent, defaults, token or App sign-in (the key checked at
//! load), secrets kept out of Debug and messages, and bot.toml's example.

use std::time::Duration;

use chatops_bot::config::{Config, GitHubAuth, Purpose};
use chatops_sandbox::github::TEST_APP_PRIVATE_KEY;

use super::{env, fixture, load_ok};

#[test]
fn without_the_section_deploys_are_off() {
    let config = load_ok("empty.toml", &[], Purpose::Manifest);
    assert!(config.github.is_none());
}

#[test]
fn the_section_is_read_as_written() {
    let config = load_ok("github.toml", &[], Purpose::Manifest);
    let github = config.github.expect("[github] is present");
    assert_eq!(github.api_root(), "https://ghe.example.com/api/v3");
    assert_eq!(github.owner, "acme-corp");
    assert_eq!(github.repo, "payments.api_v2");
    let GitHubAuth::Token(token) = &github.auth else {
        panic!("token sign-in expected, got {:?}", github.auth);
    };
    assert_eq!(token.current().expose(), "github_pat_11ABCDEFG0123456789");
    assert_eq!(github.timeout, Duration::from_secs(45));
}

#[test]
fn the_defaults_are_githubs_api_and_thirty_seconds() {
    let text = "[github]\nowner = \"acme\"\nrepo = \"app\"\n";
    let vars = [("CHATOPS_GITHUB__TOKEN", "github_pat_from_env")];
    let config = Config::load_from_str("inline", text, env(&vars), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let github = config.github.unwrap();
    assert_eq!(github.api_root(), "https://api.github.com");
    assert_eq!(github.timeout, Duration::from_secs(30));
    assert!(
        matches!(&github.auth, GitHubAuth::Token(token) if token.current().expose() == "github_pat_from_env")
    );
}

#[test]
fn an_app_signs_in_with_its_key_from_the_environment() {
    let text = "[github]\nowner = \"acme\"\nrepo = \"app\"\napp_id = \"Iv23liABCDEF\"\n\
                installation_id = 4242\n";
    let vars = [("CHATOPS_GITHUB__PRIVATE_KEY", TEST_APP_PRIVATE_KEY)];
    let config = Config::load_from_str("inline", text, env(&vars), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let github = config.github.clone().unwrap();
    let GitHubAuth::App {
        app_id,
        private_key,
        installation_id,
    } = &github.auth
    else {
        panic!("App sign-in expected");
    };
    assert_eq!(app_id, "Iv23liABCDEF");
    assert_eq!(*installation_id, 4242);
    assert_eq!(private_key.current().expose(), TEST_APP_PRIVATE_KEY);
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains(&TEST_APP_PRIVATE_KEY[40..90]),
        "{shown}"
    );
}

#[test]
fn neither_the_token_nor_a_bad_key_shows_in_debug_or_in_problems() {
    let config = load_ok("github.toml", &[], Purpose::Manifest);
    let shown = format!("{config:?}");
    assert!(!shown.contains("github_pat_11ABCDEFG0123456789"), "{shown}");
    let errors = Config::load_with_env(fixture("bad-github-app.toml"), env(&[]), Purpose::Manifest)
        .unwrap_err();
    assert!(!errors.to_string().contains("secret-not-a-key"), "{errors}");
    let errors = Config::load_with_env(
        fixture("bad-github-values.toml"),
        env(&[]),
        Purpose::Manifest,
    )
    .unwrap_err();
    assert!(
        !errors.to_string().contains("github_pat_secret"),
        "{errors}"
    );
}

#[tokio::test]
async fn the_commented_github_example_in_bot_toml_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("# [github]")
        .expect("bot.toml documents the [github] section");
    let section = &text[start..];
    let end = section[1..]
        .find("\n# [")
        .map_or(section.len(), |end| end + 1);
    let example: String = section[..end]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = super::load_documented(&example).await;
    let github = config.github.expect("the example has [github]");
    assert_eq!(github.api_root(), "https://api.github.com");
    assert_eq!(
        (github.owner.as_str(), github.repo.as_str()),
        ("acme", "app")
    );
    assert!(matches!(github.auth, GitHubAuth::Token(_)));
    assert_eq!(github.timeout, Duration::from_secs(30));
}

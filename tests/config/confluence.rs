//! The `[confluence]` section: off when absent, defaults, flavours, secrets kept out of Debug and
//! messages, and bot.toml's example.

use std::time::Duration;

use chatops_bot::config::{Config, ConfluenceFlavor, Purpose};

use super::{env, load, load_ok};

#[test]
fn without_the_section_reports_are_off() {
    let config = load_ok("empty.toml", &[], Purpose::Manifest);
    assert!(config.confluence.is_none());
}

#[test]
fn the_section_is_read_as_written() {
    let config = load_ok("confluence.toml", &[], Purpose::Manifest);
    let confluence = config.confluence.expect("[confluence] is present");
    assert_eq!(
        confluence.base_url.as_str(),
        "https://wiki.example.com/confluence/"
    );
    assert_eq!(confluence.api_root(), "https://wiki.example.com/confluence");
    assert_eq!(confluence.flavor, ConfluenceFlavor::DataCenter);
    assert_eq!(confluence.user.as_deref(), Some("ops-bot"));
    assert_eq!(
        confluence.api_token.current().expose(),
        "pat-0123456789abcdef"
    );
    assert_eq!(confluence.space_key, "OPS");
    assert_eq!(confluence.parent_id.as_deref(), Some("98765"));
    assert_eq!(confluence.timeout, Duration::from_secs(45));
}

#[test]
fn cloud_is_the_default_flavour_and_the_rest_take_the_documented_defaults() {
    let text = "[confluence]\nbase_url = \"https://example.atlassian.net/wiki/\"\n\
                user = \"bot@example.com\"\nspace_key = \"OPS\"\n";
    let vars = [("CHATOPS_CONFLUENCE__API_TOKEN", "ATATT3xFfGF0-token")];
    let config = Config::load_from_str("inline", text, env(&vars), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let confluence = config.confluence.unwrap();
    assert_eq!(confluence.flavor, ConfluenceFlavor::Cloud);
    assert_eq!(confluence.api_root(), "https://example.atlassian.net/wiki");
    assert_eq!(
        confluence.api_token.current().expose(),
        "ATATT3xFfGF0-token"
    );
    assert_eq!(confluence.parent_id, None);
    assert_eq!(confluence.timeout, Duration::from_secs(20));
}

#[test]
fn the_token_never_shows_in_debug_or_in_problems() {
    let config = load_ok("confluence.toml", &[], Purpose::Manifest);
    let shown = format!("{config:?}");
    assert!(!shown.contains("pat-0123456789abcdef"), "{shown}");
    let text = "[confluence]\nbase_url = \"https://wiki.example.com\"\nflavor = \"datacenter\"\n\
                space_key = \"OPS\"\napi_token = \"pat-very secret\"\n";
    let errors = Config::load_from_str("inline", text, env(&[]), Purpose::Manifest).unwrap_err();
    assert_eq!(errors.problems.len(), 1, "{errors}");
    assert_eq!(errors.problems[0].key, "confluence.api_token");
    assert!(!errors.to_string().contains("very secret"), "{errors}");
}

#[test]
fn datacenter_needs_no_user_and_personal_spaces_are_keys_too() {
    let text = "[confluence]\nbase_url = \"http://127.0.0.1:8090\"\nflavor = \"datacenter\"\n\
                api_token = \"pat\"\nspace_key = \"~jdoe\"\n";
    let config = Config::load_from_str("inline", text, env(&[]), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let confluence = config.confluence.unwrap();
    assert_eq!(confluence.user, None);
    assert_eq!(confluence.space_key, "~jdoe");
}

#[test]
fn cloud_signs_in_with_an_email() {
    let text = "[confluence]\nbase_url = \"https://example.atlassian.net/wiki\"\n\
                user = \"ops-bot\"\napi_token = \"t\"\nspace_key = \"OPS\"\n";
    let errors = Config::load_from_str("inline", text, env(&[]), Purpose::Manifest).unwrap_err();
    assert_eq!(errors.problems.len(), 1, "{errors}");
    assert_eq!(errors.problems[0].key, "confluence.user");
    assert!(
        errors.problems[0]
            .message
            .starts_with("must be the Atlassian account's email"),
        "{errors}"
    );
}

#[test]
fn a_url_with_credentials_is_refused_without_echoing_them() {
    let errors = load(
        "confluence.toml",
        &[(
            "CHATOPS_CONFLUENCE__BASE_URL",
            "https://ops-bot:hunter2@wiki.example.com",
        )],
        Purpose::Manifest,
    )
    .unwrap_err();
    assert_eq!(errors.problems.len(), 1, "{errors}");
    assert_eq!(errors.problems[0].key, "confluence.base_url");
    assert!(
        errors.problems[0]
            .message
            .contains("must not carry credentials"),
        "{errors}"
    );
    assert!(!errors.to_string().contains("hunter2"), "{errors}");
}

#[tokio::test]
async fn the_commented_confluence_example_in_bot_toml_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("# [confluence]")
        .expect("bot.toml documents the [confluence] section");
    let example: String = text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = super::load_documented(&example).await;
    let confluence = config.confluence.expect("the example has [confluence]");
    assert_eq!(confluence.flavor, ConfluenceFlavor::Cloud);
    assert_eq!(confluence.api_root(), "https://example.atlassian.net/wiki");
    assert_eq!(confluence.space_key, "OPS");
    assert_eq!(confluence.timeout, Duration::from_secs(20));
}

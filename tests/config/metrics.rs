//! The `[metrics]` section: off when absent, loopback by default, a remote address refused (with its key) unless allowed, and bot.toml's example.

use std::path::Path;

use chatops_bot::config::{Config, Purpose, DEFAULT_METRICS_LISTEN};

use super::{assert_problems, env, load_ok};

fn load_text(
    text: &str,
    vars: &[(&str, &str)],
) -> Result<Config, chatops_bot::config::ConfigErrors> {
    Config::load_from_str("metrics.toml", text, env(vars), Purpose::Manifest)
}

#[test]
fn without_the_section_nothing_listens() {
    let config = load_ok("empty.toml", &[], Purpose::Manifest);
    assert!(config.metrics.is_none());
}

#[test]
fn an_empty_section_listens_on_loopback_9464() {
    let config = load_text("[metrics]\n", &[]).unwrap();
    let metrics = config.metrics.expect("[metrics] is present");
    assert_eq!(metrics.listen.to_string(), DEFAULT_METRICS_LISTEN);
    assert!(metrics.listen.ip().is_loopback());
    assert!(!metrics.allow_remote);
}

#[test]
fn ipv6_loopback_and_port_zero_are_fine() {
    let config = load_text("[metrics]\nlisten = \"[::1]:0\"\n", &[]).unwrap();
    assert_eq!(config.metrics.unwrap().listen.to_string(), "[::1]:0");
}

#[test]
fn a_remote_address_is_refused_unless_allowed() {
    let errors = load_text("[metrics]\nlisten = \"0.0.0.0:9464\"\n", &[]).unwrap_err();
    assert_problems(
        "remote",
        &errors,
        &["metrics.listen: is not a loopback address".to_owned()],
    );
    assert!(
        errors.to_string().contains("metrics.allow_remote = true"),
        "{errors}"
    );
    let allowed = "[metrics]\nlisten = \"0.0.0.0:9464\"\nallow_remote = true\n";
    let metrics = load_text(allowed, &[]).unwrap().metrics.unwrap();
    assert!(metrics.allow_remote);
    assert_eq!(metrics.listen.to_string(), "0.0.0.0:9464");
}

#[test]
fn the_environment_can_set_the_section() {
    let vars = [
        ("CHATOPS_METRICS__LISTEN", "10.1.2.3:9100"),
        ("CHATOPS_METRICS__ALLOW_REMOTE", "true"),
    ];
    let config = load_text("[metrics]\n", &vars).unwrap();
    assert_eq!(config.metrics.unwrap().listen.to_string(), "10.1.2.3:9100");
}

#[test]
fn bad_values_and_unknown_keys_are_problems_with_their_keys() {
    let text = "[metrics]\nlisten = \"localhost:9464\"\nallow_remote = \"yes\"\nport = 9464\n";
    let errors = load_text(text, &[]).unwrap_err();
    assert_problems(
        "bad",
        &errors,
        &[
            "metrics.listen: must be an IP address and port".to_owned(),
            "metrics.allow_remote: ".to_owned(),
            "metrics.port: ".to_owned(),
        ],
    );
}

#[test]
fn the_commented_example_in_bot_toml_loads_as_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("# [metrics]")
        .expect("bot.toml documents [metrics]");
    let end = start
        + text[start..]
            .find("# --- AWS")
            .expect("the AWS part follows");
    let example: String = text[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = load_text(&example, &[]).unwrap_or_else(|e| panic!("{example}\n{e}"));
    assert_eq!(config.metrics, Some(Default::default()));
}

//! Loading, layering and validating the configuration: one case per kind of problem.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chatops_bot::config::{Config, ConfigErrors, LogFormat, ProxySettings, Purpose};
use chatops_bot::egress::aws::secrets_manager;
use chatops_sandbox::secretsmanager::FakeSecretsManager;

#[path = "config/alarms.rs"]
mod alarms;
#[path = "config/aws_commands.rs"]
mod aws_commands;
#[path = "config/bedrock.rs"]
mod bedrock;
#[path = "config/confluence.rs"]
mod confluence;
#[path = "config/deploy.rs"]
mod deploy;
#[path = "config/github.rs"]
mod github;
#[path = "config/metrics.rs"]
mod metrics;
#[path = "config/proxy.rs"]
mod proxy;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn load(name: &str, vars: &[(&str, &str)], purpose: Purpose) -> Result<Config, ConfigErrors> {
    Config::load_with_env(fixture(name), env(vars), purpose)
}

fn load_ok(name: &str, vars: &[(&str, &str)], purpose: Purpose) -> Config {
    load(name, vars, purpose).unwrap_or_else(|errors| panic!("{name} should load:\n{errors}"))
}

/// Loads an example from bot.toml as `run` would: its references resolved, the team's secret
/// (`wn/chatops/secret`, with the team's keys) served by the fake Secrets Manager over loopback,
/// and the credentials the examples name in a `$CREDENTIALS_DIRECTORY`.
async fn load_documented(example: &str) -> Config {
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(name, value);
    }
    let secrets = FakeSecretsManager::start().await.unwrap();
    secrets.set_json(
        "wn/chatops/secret",
        &serde_json::json!({
            "slack_token": "bot-token-example",
            "wiki_api_key": "wiki-key-example",
            "wiki_url": "https://example.atlassian.net/wiki",
            "wiki_user": "bot@example.com",
            "bedrock_agent": "AGENT12345",
            "bedrock_agent_alias": "TSTALIASID",
        }),
    );
    let credentials = tempfile::tempdir().unwrap();
    for name in ["slack_app_token", "github_token"] {
        std::fs::write(credentials.path().join(name), "credential-example\n").unwrap();
    }
    let directory = credentials.path().display().to_string();
    let endpoint = secrets.endpoint_url();
    let vars = env(&[
        ("CREDENTIALS_DIRECTORY", &directory),
        ("CHATOPS_AWS__ENDPOINT_URL", &endpoint),
        ("CHATOPS_AWS__REGION", "eu-west-1"),
    ]);
    let config = Config::resolve_from_str(
        "bot.toml example",
        example,
        vars,
        Purpose::Manifest,
        secrets_manager(ProxySettings::default()),
    )
    .await
    .unwrap_or_else(|errors| panic!("{example}\n{errors}"));
    assert!(
        secrets.get_calls("wn/chatops/secret") <= 1,
        "one fetch for every key"
    );
    config
}

/// Asserts the problems are exactly `expected`, in order: "full.key: message substring".
fn assert_problems(case: &str, errors: &ConfigErrors, expected: &[String]) {
    let matches = errors.problems.len() == expected.len()
        && errors.problems.iter().zip(expected).all(|(problem, line)| {
            let (key, part) = line.split_once(": ").unwrap_or(("", line));
            problem.key == key && problem.message.contains(part)
        });
    assert!(
        matches,
        "{case}: expected problems {expected:#?}\ngot:\n{errors}"
    );
}

/// A `bad-*.toml` fixture: its header comments say how to load it and what must be reported.
struct BadConfig {
    name: String,
    env: Vec<(String, String)>,
    purpose: Purpose,
    expected: Vec<String>,
}

impl BadConfig {
    /// Reads `# purpose: run`, `# env: NAME=value` and `# expect: key: message part` lines.
    fn parse(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).expect("fixture is readable");
        let mut case = BadConfig {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            env: Vec::new(),
            purpose: Purpose::Manifest,
            expected: Vec::new(),
        };
        for line in text.lines() {
            if let Some(expected) = line.strip_prefix("# expect: ") {
                case.expected.push(expected.to_owned());
            } else if let Some(var) = line.strip_prefix("# env: ") {
                let (name, value) = var.split_once('=').expect("env lines are NAME=value");
                case.env.push((name.to_owned(), value.to_owned()));
            } else if line == "# purpose: run" {
                case.purpose = Purpose::Run;
            }
        }
        case
    }
}

#[test]
fn each_bad_config_reports_exactly_its_problems() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture(""))
        .expect("fixture folder is readable")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("bad-") && name.ends_with(".toml")
        })
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 5,
        "bad-*.toml fixtures went missing: {paths:?}"
    );
    for path in paths {
        let case = BadConfig::parse(&path);
        assert!(
            !case.expected.is_empty(),
            "{} has no # expect lines",
            case.name
        );
        let errors = Config::load_with_env(&path, case.env.clone(), case.purpose)
            .err()
            .unwrap_or_else(|| panic!("{} should not load", case.name));
        assert_problems(&case.name, &errors, &case.expected);
    }
}

#[test]
fn problems_display_as_one_indented_line_each_under_a_count() {
    let errors = load("bad-several-problems.toml", &[], Purpose::Manifest).unwrap_err();
    let shown = errors.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 4, "{shown}");
    assert!(lines[0].starts_with("3 problems in "), "{shown}");
    assert!(lines[0].ends_with("bad-several-problems.toml:"), "{shown}");
    assert!(
        lines[1].starts_with("  slack.app_token: must start with \"xapp-\""),
        "{shown}"
    );
    assert_eq!(
        lines[2],
        "  slack.connections: must be between 1 and 10, got 12"
    );
    assert_eq!(lines[3], "  slack.colour: unknown key");
}

#[test]
fn a_missing_file_is_one_clear_problem_naming_the_file() {
    let path = fixture("no-such-file.toml");
    let errors = Config::load_with_env(&path, env(&[]), Purpose::Manifest).unwrap_err();
    assert_eq!(errors.problems.len(), 1);
    assert_eq!(errors.problems[0].key, "");
    assert_eq!(
        errors.to_string(),
        format!("1 problem in {}:\n  file not found", path.display())
    );
}

#[test]
fn invalid_toml_is_one_problem_with_its_position_and_without_the_line() {
    let errors = load("invalid-toml.toml", &[], Purpose::Manifest).unwrap_err();
    assert_eq!(errors.problems.len(), 1, "{errors}");
    let message = &errors.problems[0].message;
    assert!(
        message.starts_with("not valid TOML: TOML parse error at line 3"),
        "{message}"
    );
    assert!(
        !errors.to_string().contains("unterminated-secret"),
        "{errors}"
    );
}

#[test]
fn a_file_that_is_not_utf8_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    std::fs::write(&path, b"[slack]\napp_name = \"Caf\xe9\"\n").unwrap();
    let errors = Config::load_with_env(&path, env(&[]), Purpose::Manifest).unwrap_err();
    assert_eq!(errors.problems.len(), 1);
    assert!(errors.problems[0].message.contains("not UTF-8"), "{errors}");
}

#[test]
fn an_empty_file_gives_the_documented_defaults() {
    let config = load_ok("empty.toml", &[], Purpose::Manifest);
    let slack = &config.slack;
    assert!(slack.app_token.is_none() && slack.bot_token.is_none());
    assert_eq!(slack.api_url.as_str(), "https://slack.com/api/");
    assert_eq!(slack.connections, 2);
    assert_eq!(slack.app_name, "ChatOps Bot");
    assert_eq!(slack.command_prefix, "platform");
    assert_eq!(slack.channel_interval, Duration::from_secs(1));
    assert_eq!(slack.channel_burst, 4);
    assert_eq!(slack.request_timeout, Duration::from_secs(10));
    let socket = &slack.socket;
    assert_eq!(socket.ping_interval, Duration::from_secs(10));
    assert_eq!(socket.pong_timeout, Duration::from_secs(5));
    assert_eq!(socket.idle_timeout, Duration::from_secs(30));
    assert_eq!(socket.stagger, Duration::from_secs(1));
    assert_eq!(socket.max_handlers, 64);
    assert_eq!(socket.max_queued, 1000);
    assert_eq!(socket.shutdown_grace, Duration::from_secs(10));
    assert_eq!(socket.close_timeout, Duration::from_secs(2));
    assert_eq!(socket.backoff_max, Duration::from_secs(60));
    assert_eq!(config.store.path, PathBuf::from("./chatops-bot.db"));
    assert_eq!(
        config.store.retention,
        Duration::from_secs(30 * 24 * 60 * 60)
    );
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(config.log.level, "info");
    assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
}

#[test]
fn the_example_bot_toml_loads_as_is_and_matches_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let config = Config::load_with_env(&path, env(&[]), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("bot.toml should load:\n{errors}"));
    assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
    let with_tokens = env(&[
        ("SLACK_APP_TOKEN", "xapp-env-app-token"),
        ("SLACK_BOT_TOKEN", "xoxb-env-bot-token"),
    ]);
    assert!(Config::load_with_env(&path, with_tokens, Purpose::Run).is_ok());
}

#[test]
fn environment_variables_override_the_file_in_order() {
    let config = load_ok(
        "overrides.toml",
        &[
            ("CHATOPS_SLACK__API_URL", "http://127.0.0.1:9000/api"),
            ("CHATOPS_SLACK__SOCKET__PING_INTERVAL", "20s"),
            ("CHATOPS_SLACK__SOCKET__STAGGER", "250ms"),
            ("CHATOPS_SLACK__APP_NAME", "007"),
            ("CHATOPS_LOG__FORMAT", "json"),
            ("CHATOPS_STORE__RETENTION", "7d"),
            ("CHATOPS_CONFIG", "/etc/chatops/bot.toml"),
            ("SLACK_APP_TOKEN", "xapp-env-app-token"),
            ("SLACK_BOT_TOKEN", ""),
            ("PATH", "/usr/bin"),
        ],
        Purpose::Manifest,
    );
    let slack = &config.slack;
    assert_eq!(slack.api_url.as_str(), "http://127.0.0.1:9000/api/");
    assert_eq!(slack.connections, 4, "untouched keys keep the file's value");
    assert_eq!(slack.socket.ping_interval, Duration::from_secs(20));
    assert_eq!(slack.socket.pong_timeout, Duration::from_secs(3));
    assert_eq!(slack.socket.stagger, Duration::from_millis(250));
    assert_eq!(
        slack.app_name, "007",
        "strings from the environment stay verbatim"
    );
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(
        config.store.retention,
        Duration::from_secs(7 * 24 * 60 * 60)
    );
    let app_token = slack.app_token.as_ref().expect("SLACK_APP_TOKEN is used");
    assert_eq!(app_token.current().expose(), "xapp-env-app-token");
    assert!(
        slack.bot_token.is_none(),
        "an empty variable counts as unset"
    );
}

#[test]
fn chatops_variables_beat_bolt_variables_which_beat_the_file() {
    let from_file = load_ok("tokens.toml", &[], Purpose::Run);
    let from_bolt = load_ok(
        "tokens.toml",
        &[("SLACK_BOT_TOKEN", "xoxb-bolt-bot-token")],
        Purpose::Run,
    );
    let from_chatops = load_ok(
        "tokens.toml",
        &[
            ("SLACK_BOT_TOKEN", "xoxb-bolt-bot-token"),
            ("CHATOPS_SLACK__BOT_TOKEN", "xoxb-chatops-bot-token"),
        ],
        Purpose::Run,
    );
    let bot_token = |config: &Config| {
        config
            .slack
            .bot_token
            .as_ref()
            .map(|token| token.current().expose().to_owned())
    };
    assert_eq!(
        bot_token(&from_file).as_deref(),
        Some("xoxb-file-bot-token")
    );
    assert_eq!(
        bot_token(&from_bolt).as_deref(),
        Some("xoxb-bolt-bot-token")
    );
    assert_eq!(
        bot_token(&from_chatops).as_deref(),
        Some("xoxb-chatops-bot-token")
    );
}

/// (key, value written to the file, expected message part, part of the value that must not show).
const BAD_TOKENS: &[(&str, &str, &str, &str)] = &[
    (
        "app_token",
        "\"xoxb-wrong-kind-secret\"",
        "got \"xoxb-…\" (a bot token: it belongs in slack.bot_token)",
        "wrong-kind-secret",
    ),
    (
        "bot_token",
        "\"xapp-wrong-kind-secret\"",
        "got \"xapp-…\" (an app-level token: it belongs in slack.app_token)",
        "wrong-kind-secret",
    ),
    (
        "bot_token",
        "\"xoxp-user-token-secret\"",
        "must start with \"xoxb-\"",
        "user-token-secret",
    ),
    (
        "bot_token",
        "\"hunter2-plain-secret\"",
        "a value that does not look like a Slack token",
        "hunter2",
    ),
    (
        "bot_token",
        "\"xoxb-line-secret\\n\"",
        "contains whitespace",
        "line-secret",
    ),
    (
        "app_token",
        "12345678",
        "expected a string, got an integer",
        "12345678",
    ),
];

#[test]
fn bad_tokens_are_reported_without_echoing_them() {
    for (key, value, expected, secret) in BAD_TOKENS {
        let text = format!("[slack]\n{key} = {value}\n");
        let errors = Config::load_from_str("inline.toml", &text, env(&[]), Purpose::Manifest)
            .err()
            .unwrap_or_else(|| panic!("{key} = {value} should be rejected"));
        assert_problems(value, &errors, &[format!("slack.{key}: {expected}")]);
        assert!(!errors.to_string().contains(secret), "{errors}");
        assert!(!format!("{errors:?}").contains(secret), "{errors:?}");
    }
}

#[test]
fn a_bare_token_prefix_is_incomplete() {
    let text = "[slack]\napp_token = \"xapp-\"\n";
    let errors =
        Config::load_from_str("inline.toml", text, env(&[]), Purpose::Manifest).unwrap_err();
    let expected = "slack.app_token: is incomplete: nothing follows \"xapp-\"";
    assert_problems("xapp-", &errors, &[expected.to_owned()]);
}

#[test]
fn debug_output_never_shows_the_tokens() {
    let config = load_ok(
        "empty.toml",
        &[
            ("SLACK_APP_TOKEN", "xapp-debug-app-secret"),
            ("SLACK_BOT_TOKEN", "xoxb-debug-bot-secret"),
        ],
        Purpose::Run,
    );
    assert!(config.slack.app_token.is_some() && config.slack.bot_token.is_some());
    for shown in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!shown.contains("debug-app-secret"), "{shown}");
        assert!(!shown.contains("debug-bot-secret"), "{shown}");
    }
}

#[test]
fn api_url_is_normalized_to_end_with_a_slash() {
    for (given, expected) in [
        (
            "https://slack.example.test/api",
            "https://slack.example.test/api/",
        ),
        (
            "https://slack.example.test/api/",
            "https://slack.example.test/api/",
        ),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
    ] {
        let text = format!("[slack]\napi_url = \"{given}\"\n");
        let config = Config::load_from_str("inline.toml", &text, env(&[]), Purpose::Manifest)
            .unwrap_or_else(|errors| panic!("{given}: {errors}"));
        assert_eq!(config.slack.api_url.as_str(), expected);
        let method = config.slack.api_url.join("auth.test").unwrap();
        assert_eq!(method.as_str(), format!("{expected}auth.test"));
    }
}

#[test]
fn slash_commands_follow_the_command_prefix() {
    let text = "[slack]\ncommand_prefix = \"ops-2\"\n";
    let config = Config::load_from_str("inline.toml", text, env(&[]), Purpose::Manifest).unwrap();
    let names: Vec<String> = config
        .slash_commands()
        .into_iter()
        .map(|command| command.name)
        .collect();
    assert_eq!(names, ["/ops-2-help", "/ops-2-stats", "/ops-2-echo"]);
}

#[test]
fn channel_pacing_can_be_turned_off_and_is_capped() {
    let pacing = |interval: &str, burst: &str| {
        let text = format!("[slack]\nchannel_interval = {interval}\nchannel_burst = {burst}\n");
        Config::load_from_str("inline.toml", &text, env(&[]), Purpose::Manifest)
    };
    for (interval, burst, expected_interval, expected_burst) in [
        ("\"0s\"", "1", Duration::ZERO, 1),
        ("\"250ms\"", "50", Duration::from_millis(250), 50),
        ("\"60s\"", "4", Duration::from_secs(60), 4),
    ] {
        let config = pacing(interval, burst)
            .unwrap_or_else(|errors| panic!("{interval} / {burst}: {errors}"));
        assert_eq!(config.slack.channel_interval, expected_interval);
        assert_eq!(config.slack.channel_burst, expected_burst);
    }
    let cases = [
        ("\"61s\"", "4", "slack.channel_interval: must be at most 1m"),
        (
            "\"1s\"",
            "0",
            "slack.channel_burst: must be between 1 and 50, got 0",
        ),
        (
            "\"1s\"",
            "51",
            "slack.channel_burst: must be between 1 and 50, got 51",
        ),
        (
            "1",
            "4",
            "slack.channel_interval: expected a duration such as \"10s\"",
        ),
        (
            "\"soon\"",
            "4",
            "slack.channel_interval: expected a duration such as \"10s\"",
        ),
        (
            "\"1s\"",
            "\"four\"",
            "slack.channel_burst: expected an integer",
        ),
    ];
    for (interval, burst, expected) in cases {
        let errors = pacing(interval, burst)
            .err()
            .unwrap_or_else(|| panic!("{interval} / {burst} should be rejected"));
        assert_problems(interval, &errors, &[expected.to_owned()]);
    }
}

#[test]
fn channel_pacing_follows_the_environment() {
    let config = load_ok(
        "empty.toml",
        &[
            ("CHATOPS_SLACK__CHANNEL_INTERVAL", "0s"),
            ("CHATOPS_SLACK__CHANNEL_BURST", "12"),
        ],
        Purpose::Manifest,
    );
    assert_eq!(config.slack.channel_interval, Duration::ZERO);
    assert_eq!(config.slack.channel_burst, 12);
}

#[test]
fn the_request_timeout_is_read_from_the_file_and_the_environment() {
    let text = "[slack]\nrequest_timeout = \"1s\"\n";
    let config = Config::load_from_str("inline.toml", text, env(&[]), Purpose::Manifest).unwrap();
    assert_eq!(config.slack.request_timeout, Duration::from_secs(1));
    let vars = [("CHATOPS_SLACK__REQUEST_TIMEOUT", "250ms")];
    let config = Config::load_from_str("inline.toml", text, env(&vars), Purpose::Manifest).unwrap();
    assert_eq!(config.slack.request_timeout, Duration::from_millis(250));
}

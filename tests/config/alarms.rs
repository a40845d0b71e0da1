//! The `[aws]` and `[alarms]` sections: defaults, routes as written, environment overrides,
//! where the region comes from, and the commented example in bot.toml.

use std::path::Path;
use std::time::Duration;

use chatops_bot::alarms::NotificationKind;
use chatops_bot::config::{AlarmsConfig, AwsConfig, Config, Purpose};

use super::{env, load_ok};

#[test]
fn an_empty_file_leaves_the_alarm_pipeline_off_with_the_documented_timings() {
    let config = load_ok("empty.toml", &[], Purpose::Manifest);
    assert_eq!(config.aws, AwsConfig::default());
    assert!(config.aws.region.is_none() && config.aws.endpoint_url.is_none());
    let alarms = &config.alarms;
    assert!(!alarms.enabled());
    assert!(alarms.queue_url.is_none() && alarms.default_channel.is_none());
    assert_eq!(alarms.reopen_window, Duration::from_secs(3600));
    assert_eq!(alarms.unwatched_nudge, Some(Duration::from_secs(900)));
    assert_eq!(alarms.storm_threshold, 10);
    assert_eq!(alarms.storm_window, Duration::from_secs(60));
    assert_eq!(alarms.storm_max_duration, Duration::from_secs(30 * 60));
    assert_eq!(alarms.pollers, 4);
    assert_eq!(alarms.max_in_flight, 200);
    assert_eq!(alarms.receive_linger, Duration::from_millis(10));
    assert_eq!(alarms.visibility_timeout, Duration::from_secs(60));
    assert_eq!(alarms.receive_wait, Duration::from_secs(20));
    assert!(
        alarms.agent_data,
        "the agent gets the alarm's data by default"
    );
    assert!(alarms.routes.is_empty());
    assert_eq!(alarms, &AlarmsConfig::default());
}

#[test]
fn alarm_sections_and_routes_are_read_as_written() {
    let config = load_ok("alarms.toml", &[], Purpose::Manifest);
    assert_eq!(
        config.aws.region.as_deref(),
        Some("eu-west-1"),
        "taken from the queue URL's host"
    );
    let endpoint = config
        .aws
        .endpoint_url
        .as_ref()
        .expect("endpoint_url is set");
    assert_eq!(endpoint.as_str(), "http://127.0.0.1:4566/");
    let alarms = &config.alarms;
    assert!(alarms.enabled());
    assert_eq!(
        alarms.queue_url.as_ref().map(|url| url.as_str()),
        Some("https://sqs.eu-west-1.amazonaws.com/123456789012/chatops-alarms")
    );
    assert_eq!(alarms.default_channel.as_deref(), Some("C0ALERTS01"));
    assert_eq!(alarms.reopen_window, Duration::from_secs(30 * 60));
    assert_eq!(alarms.unwatched_nudge, None, "\"0s\" turns the nudge off");
    assert!(!alarms.agent_data);
    assert_eq!(alarms.storm_threshold, 5);
    assert_eq!(alarms.storm_window, Duration::from_secs(120));
    assert_eq!(alarms.storm_max_duration, Duration::from_secs(45 * 60));
    assert_eq!(alarms.pollers, 6);
    assert_eq!(alarms.max_in_flight, 1000);
    assert_eq!(alarms.receive_linger, Duration::ZERO);
    assert_eq!(alarms.visibility_timeout, Duration::from_secs(90));
    assert_eq!(alarms.receive_wait, Duration::from_secs(5));
    assert_eq!(alarms.routes.len(), 2);

    let payments = &alarms.routes[0];
    assert_eq!(payments.name, "payments");
    assert_eq!(payments.channels, ["C0PAYMENTS", "#payments-oncall"]);
    assert_eq!(payments.mention.as_deref(), Some("S0PAYONCALL"));
    let runbook = payments.runbook.as_ref().expect("runbook is set");
    assert_eq!(
        runbook.as_str(),
        "https://wiki.example.com/runbooks/{kind}/{name}?state={state}"
    );
    let criteria = &payments.criteria;
    assert_eq!(criteria.name.as_deref(), Some("payments-*"));
    assert_eq!(criteria.account.as_deref(), Some("123456789012"));
    assert_eq!(criteria.region.as_deref(), Some("eu-west-1"));
    assert_eq!(criteria.kind, Some(NotificationKind::Alarm));
    assert_eq!(criteria.state.as_deref(), Some("alarm"));
    let attributes: Vec<(&str, &str)> = criteria
        .attributes
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        attributes,
        [("Team", "payments"), ("aws.env", "prod")],
        "attribute names keep their case and dots"
    );

    let deploys = &alarms.routes[1];
    assert_eq!(
        deploys.name, "route #1",
        "unnamed routes are named by index"
    );
    assert_eq!(deploys.channels, ["#deploys"]);
    assert!(deploys.mention.is_none() && deploys.runbook.is_none());
    assert_eq!(deploys.criteria.kind, Some(NotificationKind::Pipeline));
    assert!(deploys.criteria.name.is_none() && deploys.criteria.attributes.is_empty());
}

#[test]
fn environment_variables_override_alarm_keys_and_keep_the_file_routes() {
    let config = load_ok(
        "alarms.toml",
        &[
            (
                "CHATOPS_ALARMS__QUEUE_URL",
                "https://sqs.ap-southeast-2.amazonaws.com/210987654321/other-alarms",
            ),
            ("CHATOPS_ALARMS__DEFAULT_CHANNEL", "#ops-alerts"),
            ("CHATOPS_ALARMS__UNWATCHED_NUDGE", "5m"),
            ("CHATOPS_ALARMS__STORM_THRESHOLD", "25"),
            ("CHATOPS_ALARMS__POLLERS", "1"),
            ("CHATOPS_ALARMS__VISIBILITY_TIMEOUT", "10s"),
            (
                "CHATOPS_AWS__ENDPOINT_URL",
                "https://vpce-0abc.sqs.ap-southeast-2.vpce.amazonaws.com",
            ),
        ],
        Purpose::Manifest,
    );
    let alarms = &config.alarms;
    assert_eq!(
        alarms.queue_url.as_ref().map(|url| url.as_str()),
        Some("https://sqs.ap-southeast-2.amazonaws.com/210987654321/other-alarms")
    );
    assert_eq!(config.aws.region.as_deref(), Some("ap-southeast-2"));
    assert_eq!(
        config.aws.endpoint_url.as_ref().map(|url| url.as_str()),
        Some("https://vpce-0abc.sqs.ap-southeast-2.vpce.amazonaws.com/")
    );
    assert_eq!(alarms.default_channel.as_deref(), Some("#ops-alerts"));
    assert_eq!(alarms.unwatched_nudge, Some(Duration::from_secs(300)));
    assert_eq!(alarms.storm_threshold, 25);
    assert_eq!(alarms.pollers, 1);
    assert_eq!(alarms.visibility_timeout, Duration::from_secs(10));
    assert_eq!(
        alarms.reopen_window,
        Duration::from_secs(30 * 60),
        "untouched"
    );
    let names: Vec<&str> = alarms
        .routes
        .iter()
        .map(|route| route.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["payments", "route #1"],
        "routes stay as the file has them"
    );
}

#[test]
fn the_region_comes_from_the_file_or_the_queue_url() {
    let cases = [
        // (aws.region, queue URL, endpoint_url, expected region)
        (
            None,
            "https://sqs.us-east-2.amazonaws.com/123456789012/q",
            None,
            "us-east-2",
        ),
        (
            None,
            "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q",
            None,
            "cn-north-1",
        ),
        (
            None,
            "https://eu-north-1.queue.amazonaws.com/123456789012/q",
            None,
            "eu-north-1",
        ),
        (
            Some("eu-west-1"),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            None,
            "eu-west-1",
        ),
        (
            Some("eu-west-3"),
            "http://localhost:9324/000000000000/q",
            None,
            "eu-west-3",
        ),
        (
            Some("us-east-1"),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            Some("http://127.0.0.1:4566"),
            "us-east-1",
        ),
    ];
    for (region, queue_url, endpoint_url, expected) in cases {
        let mut text = String::from("[aws]\n");
        if let Some(region) = region {
            text.push_str(&format!("region = \"{region}\"\n"));
        }
        if let Some(endpoint_url) = endpoint_url {
            text.push_str(&format!("endpoint_url = \"{endpoint_url}\"\n"));
        }
        text.push_str(&format!(
            "[alarms]\nqueue_url = \"{queue_url}\"\ndefault_channel = \"#alerts\"\n"
        ));
        let config = Config::load_from_str("inline.toml", &text, env(&[]), Purpose::Manifest)
            .unwrap_or_else(|errors| panic!("{text}\n{errors}"));
        assert_eq!(config.aws.region.as_deref(), Some(expected), "{text}");
    }
}

#[test]
fn a_region_without_a_queue_is_kept_and_nothing_is_required() {
    let text = "[aws]\nregion = \"eu-central-1\"\n[alarms]\ndefault_channel = \"#alerts\"\n";
    let config = Config::load_from_str("inline.toml", text, env(&[]), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(config.aws.region.as_deref(), Some("eu-central-1"));
    assert!(!config.alarms.enabled());
}

/// The alarm part of bot.toml, with its commented-out settings turned on: a line is a setting
/// when after "# " it starts a table header or a `key = value`.
fn bot_toml_example_uncommented() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("# [aws]")
        .expect("bot.toml documents the [aws] section");
    let is_setting = |rest: &str| {
        rest.starts_with('[')
            || rest.split_once(" = ").is_some_and(|(key, _)| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
    };
    text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("# ").filter(|rest| is_setting(rest)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_commented_alarm_example_in_bot_toml_loads_with_the_documented_values() {
    let example = bot_toml_example_uncommented();
    assert!(example.contains("[[alarms.route]]"), "{example}");
    let config = super::load_documented(&example).await;
    assert_eq!(config.aws.region.as_deref(), Some("eu-west-1"));
    let alarms = &config.alarms;
    assert!(alarms.enabled());
    let defaults = AlarmsConfig::default();
    assert_eq!(alarms.reopen_window, defaults.reopen_window);
    assert_eq!(alarms.unwatched_nudge, defaults.unwatched_nudge);
    assert_eq!(alarms.agent_data, defaults.agent_data);
    assert_eq!(alarms.storm_threshold, defaults.storm_threshold);
    assert_eq!(alarms.storm_window, defaults.storm_window);
    assert_eq!(alarms.storm_max_duration, defaults.storm_max_duration);
    assert_eq!(alarms.pollers, defaults.pollers);
    assert_eq!(alarms.visibility_timeout, defaults.visibility_timeout);
    assert_eq!(alarms.routes.len(), 2);
    assert_eq!(alarms.routes[0].name, "payments");
    assert_eq!(
        alarms.routes[1].criteria.kind,
        Some(NotificationKind::Pipeline)
    );
}

//! The `[bedrock]` section: off when absent, defaults, fallbacks to `[aws]`, and bot.toml's example.

use std::time::Duration;

use chatops_bot::config::{BedrockConfig, Config, Purpose};

use super::{env, load_ok};

#[test]
fn without_the_section_the_agent_is_off() {
    let config = load_ok("empty.toml", &[], Purpose::Manifest);
    assert_eq!(config.bedrock, None);
}

#[test]
fn the_section_is_read_as_written_with_region_and_endpoint_from_aws() {
    let config = load_ok("bedrock.toml", &[], Purpose::Manifest);
    let bedrock = config.bedrock.expect("[bedrock] is present");
    assert_eq!(
        bedrock,
        BedrockConfig {
            agent_id: "AGENT12345".into(),
            agent_alias_id: "TSTALIASID".into(),
            region: "eu-west-1".into(),
            endpoint_url: Some("http://127.0.0.1:4566".parse().unwrap()),
            timeout: Duration::from_secs(90),
            idle_timeout: Duration::from_secs(15),
            max_concurrent: 2,
            per_user_per_hour: 5,
            per_channel_per_hour: 30,
        }
    );
}

#[test]
fn its_own_region_and_endpoint_win_and_the_rest_take_the_documented_defaults() {
    let text = "[aws]\nregion = \"eu-west-1\"\n\n[bedrock]\nagent_id = \"A1\"\n\
                agent_alias_id = \"TSTALIASID\"\nregion = \"us-east-1\"\n";
    let vars = [("CHATOPS_BEDROCK__ENDPOINT_URL", "http://127.0.0.1:4567")];
    let config = Config::load_from_str("inline", text, env(&vars), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let bedrock = config.bedrock.unwrap();
    assert_eq!(bedrock.region, "us-east-1");
    assert_eq!(
        bedrock.endpoint_url.as_ref().map(|url| url.as_str()),
        Some("http://127.0.0.1:4567/")
    );
    assert_eq!(bedrock.timeout, Duration::from_secs(120));
    assert_eq!(bedrock.idle_timeout, Duration::from_secs(30));
    assert_eq!(bedrock.max_concurrent, 4);
    assert_eq!(bedrock.per_user_per_hour, 20);
    assert_eq!(bedrock.per_channel_per_hour, 60);
}

#[tokio::test]
async fn the_commented_bedrock_example_in_bot_toml_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("# [bedrock]")
        .expect("bot.toml documents the [bedrock] section");
    let example: String = text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|rest| rest.starts_with('[') || rest.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = super::load_documented(&example).await;
    let bedrock = config.bedrock.expect("the example has [bedrock]");
    assert_eq!(bedrock.agent_alias_id, "TSTALIASID");
    assert_eq!(bedrock.region, "eu-west-1");
    assert_eq!(bedrock.timeout, Duration::from_secs(120));
    assert_eq!(bedrock.idle_timeout, Duration::from_secs(30));
    assert_eq!(bedrock.max_concurrent, 4);
}

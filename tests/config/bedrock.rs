//! The `[bedrock]` section: off when absent, defaults, fallbacks to `[aws]`, and bot.toml's example.

use std::time::Duration;

use chatops_bot::config::{
    AgentBackend, Backend, BedrockConfig, Config, Guardrail, PromptSource, Purpose, Temperature,
    DEFAULT_SYSTEM_PROMPT,
};

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
            backend: Backend::Agent(AgentBackend {
                agent_id: "AGENT12345".into(),
                agent_alias_id: "TSTALIASID".into(),
            }),
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
    assert_eq!(
        bedrock.backend,
        Backend::Agent(AgentBackend {
            agent_id: "AGENT12345".into(),
            agent_alias_id: "TSTALIASID".into(),
        })
    );
    assert_eq!(bedrock.region, "eu-west-1");
    assert_eq!(bedrock.timeout, Duration::from_secs(120));
    assert_eq!(bedrock.idle_timeout, Duration::from_secs(30));
    assert_eq!(bedrock.max_concurrent, 4);
}

fn bedrock_of(text: &str) -> BedrockConfig {
    let text = format!("[aws]\nregion = \"us-east-1\"\n\n[bedrock]\n{text}");
    Config::load_from_str("inline", &text, Vec::new(), Purpose::Manifest)
        .unwrap_or_else(|errors| panic!("{errors}"))
        .bedrock
        .expect("[bedrock] is present")
}

#[test]
fn the_backend_follows_the_keys_when_not_named_and_each_takes_its_endpoint() {
    let model = bedrock_of("model_id = \"us.anthropic.claude-3-5-haiku-20241022-v1:0\"\n");
    let Backend::Model(settings) = &model.backend else {
        panic!("{model:?}");
    };
    assert_eq!(settings.system_prompt, DEFAULT_SYSTEM_PROMPT);
    assert_eq!(settings.prompt_source, PromptSource::Default);
    assert_eq!(settings.max_tokens, 2048);
    assert_eq!(settings.history_max_chars, 20_000);
    assert_eq!(settings.temperature, None);
    assert!(model
        .describe()
        .starts_with("backend \"model\": ConverseStream on us.anthropic"));
    let runtime =
        bedrock_of("agent_runtime_arn = \"arn:aws:bedrock-agentcore:us-east-1:1:runtime/a-1\"\n");
    assert_eq!(runtime.backend.name(), "agentcore");
    let text = "[aws]\nregion = \"us-east-1\"\n[aws.endpoints]\n\
                bedrock_runtime = \"https://vpce-m.example\"\n\
                bedrock_agentcore = \"https://vpce-c.example\"\n\
                bedrock_agent_runtime = \"https://vpce-a.example\"\n[bedrock]\n";
    for (keys, endpoint) in [
        ("backend = \"model\"\nmodel_id = \"m\"\n", "https://vpce-m.example/"),
        (
            "backend = \"agentcore\"\nagent_runtime_arn = \"arn:aws:bedrock-agentcore:us-east-1:1:runtime/a\"\n",
            "https://vpce-c.example/",
        ),
        ("agent_id = \"A1\"\nagent_alias_id = \"B1\"\n", "https://vpce-a.example/"),
    ] {
        let config = Config::load_from_str("inline", &format!("{text}{keys}"), Vec::new(), Purpose::Manifest)
            .unwrap_or_else(|errors| panic!("{errors}"));
        let bedrock = config.bedrock.unwrap();
        assert_eq!(bedrock.endpoint_url.unwrap().as_str(), endpoint, "{keys}");
    }
}

#[test]
fn a_model_backend_reads_its_prompt_file_temperature_and_guardrail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prompt.md");
    std::fs::write(&path, "You are terse.\n").unwrap();
    let bedrock = bedrock_of(&format!(
        "backend = \"model\"\nmodel_id = \"m\"\nsystem_prompt_file = {:?}\n\
         temperature = 0.25\nmax_tokens = 512\nguardrail_id = \"gr-1\"\n\
         guardrail_version = \"DRAFT\"\nhistory_max_chars = 0\n",
        path.display().to_string()
    ));
    let Backend::Model(model) = bedrock.backend else {
        panic!("a model backend");
    };
    assert_eq!(model.system_prompt, "You are terse.\n");
    assert_eq!(model.prompt_source, PromptSource::File(path));
    assert_eq!(model.temperature, Some(Temperature(0.25)));
    assert_eq!(model.max_tokens, 512);
    assert_eq!(
        model.guardrail,
        Some(Guardrail {
            id: "gr-1".into(),
            version: "DRAFT".into()
        })
    );
    assert_eq!(model.history_max_chars, 0);
}

#[test]
fn bot_toml_shows_the_default_system_prompt_as_it_is() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let text = std::fs::read_to_string(path).expect("bot.toml is readable");
    let start = text
        .find("## system_prompt = \"\"\"\n")
        .expect("bot.toml shows the default system prompt");
    let shown: Vec<&str> = text[start..]
        .lines()
        .skip(1)
        .take_while(|line| *line != "## \"\"\"")
        .map(|line| line.trim_start_matches("## "))
        .collect();
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(words(&shown.join(" ")), words(DEFAULT_SYSTEM_PROMPT));
}

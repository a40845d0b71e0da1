//! Config references resolved against moto's real Secrets Manager (aws-sdk-secretsmanager creates the secrets): keeps the fake Secrets Manager honest.
//!
//! Uses the moto at `CHATOPS_TEST_MOTO_ENDPOINT` (`.ci/run` starts one), or else starts its own
//! `moto_server` from PATH. Without either, the tests fail and say how to install moto;
//! `CHATOPS_SKIP_MOTO=1` skips them on purpose.

#[path = "moto_sns_sqs/server.rs"]
mod server;
mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::primitives::Blob;
use chatops_bot::config::{secrets_manager, Config, Purpose};
use serde_json::json;
use server::MotoServer;
use support::aws_test_env;

const REGION: &str = "eu-west-1";

/// A name no earlier run against the same moto server has used.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}/{}-{nanos:x}", std::process::id())
}

/// A Secrets Manager client on moto; `None` when moto is skipped on purpose.
async fn moto() -> Option<(MotoServer, aws_sdk_secretsmanager::Client)> {
    let server = MotoServer::find().await.expect("moto is reachable")?;
    aws_test_env();
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&server.endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "moto-test"))
        .timeout_config(
            aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    Some((server, aws_sdk_secretsmanager::Client::from_conf(config)))
}

fn config_text(endpoint: &str, team: &str, plain: &str, binary: &str) -> String {
    format!(
        r#"
[slack]
bot_token = "aws-secretsmanager:{team}#slack_token"
app_token = "aws-secretsmanager:{plain}"

[aws]
region = "{REGION}"
endpoint_url = "{endpoint}"

[confluence]
base_url = "aws-secretsmanager:{team}#wiki_url"
user = "aws-secretsmanager:{team}#wiki_user"
api_token = "aws-secretsmanager:{team}#wiki_api_key"
space_key = "OPS"

[github]
owner = "acme"
repo = "app"
token = "aws-secretsmanager:{binary}"
"#
    )
}

#[tokio::test]
async fn a_config_resolves_against_moto_secrets_manager() {
    let Some((server, client)) = moto().await else {
        return;
    };
    let (team, plain, binary) = (
        unique("wn/chatops"),
        unique("wn/plain"),
        unique("wn/binary"),
    );
    let keys = json!({
        "slack_token": "xoxb-moto-1",
        "wiki_api_key": "wiki-moto-1",
        "wiki_url": "https://acme.atlassian.net/wiki",
        "wiki_user": "ops@acme.test",
    });
    let create = |name: &str| client.create_secret().name(name);
    create(&team)
        .secret_string(keys.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateSecret: {}", DisplayErrorContext(e)));
    create(&plain)
        .secret_string("xapp-moto-1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateSecret: {}", DisplayErrorContext(e)));
    create(&binary)
        .secret_binary(Blob::new(b"not text".to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateSecret: {}", DisplayErrorContext(e)));

    let text = config_text(&server.endpoint, &team, &plain, &binary);
    let env = Vec::<(String, String)>::new();
    let errors = Config::resolve_from_str(
        "bot.toml",
        &text,
        env.clone(),
        Purpose::Run,
        secrets_manager,
    )
    .await
    .expect_err("a binary secret is not a token");
    assert_eq!(errors.problems.len(), 1, "{errors}");
    let github = errors.problem("github.token").expect("github.token");
    assert!(
        github.message.contains("(SecretBinary)"),
        "{}",
        github.message
    );

    let text = text.replace(
        &format!("aws-secretsmanager:{binary}"),
        "github_pat_literal",
    );
    let config = Config::resolve_from_str(
        "bot.toml",
        &text,
        env.clone(),
        Purpose::Run,
        secrets_manager,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let token = |secret: &Option<chatops_bot::secrets::Secret>| {
        secret.as_ref().unwrap().current().expose().to_owned()
    };
    assert_eq!(token(&config.slack.bot_token), "xoxb-moto-1");
    assert_eq!(token(&config.slack.app_token), "xapp-moto-1");
    let confluence = config.confluence.as_ref().unwrap();
    assert_eq!(confluence.api_token.current().expose(), "wiki-moto-1");
    assert_eq!(
        confluence.base_url.as_str(),
        "https://acme.atlassian.net/wiki"
    );
    assert_eq!(confluence.user.as_deref(), Some("ops@acme.test"));

    let missing = text.replace(&team, &unique("wn/missing"));
    let errors = Config::resolve_from_str("bot.toml", &missing, env, Purpose::Run, secrets_manager)
        .await
        .expect_err("no such secret");
    for key in [
        "slack.bot_token",
        "confluence.base_url",
        "confluence.user",
        "confluence.api_token",
    ] {
        let problem = errors
            .problem(key)
            .unwrap_or_else(|| panic!("{key}: {errors}"));
        assert!(
            problem.message.contains("ResourceNotFoundException"),
            "{key}: {}",
            problem.message
        );
    }
}

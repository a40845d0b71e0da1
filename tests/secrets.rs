//! Config references resolved against the fake Secrets Manager over loopback: every kind, one GetSecretValue per secret id, every failure reported at once with its key path, values never shown.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatops_bot::config::{Config, ConfigErrors, GitHubAuth, ProxySettings, Purpose};
use chatops_bot::egress::aws::{http_client, secrets_manager};
use chatops_bot::secrets::{AwsTarget, SecretStore, SecretsManagerStore};
use chatops_sandbox::secretsmanager::{FakeSecretsManager, SecretsFault};
use serde_json::json;
use support::aws_test_env;

const SECRET: &str = "wn/chatops/secret";
/// Every secret value the tests put anywhere: none may appear in an error or in `Debug`.
const VALUES: [&str; 6] = [
    "xoxb-from-manager-1",
    "xapp-from-credential-1",
    "github_pat_from_manager_1",
    "wiki-key-from-file-1",
    "wiki-key-from-manager-1",
    "binary-secret-bytes",
];

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The fake, holding the team's secret (its keys as the team named them) and a plain one.
async fn fake_manager() -> FakeSecretsManager {
    aws_test_env();
    let fake = FakeSecretsManager::start().await.unwrap();
    fake.set_json(
        SECRET,
        &json!({
            "slack_token": VALUES[0],
            "wiki_api_key": VALUES[4],
            "wiki_url": "https://acme.atlassian.net/wiki",
            "wiki_user": "ops@acme.test",
            "bedrock_agent": "AGENT12345",
            "bedrock_agent_alias": "ALIAS12345",
        }),
    );
    fake.set_secret("wn/chatops/github", VALUES[2]);
    fake
}

fn aws(fake: &FakeSecretsManager) -> String {
    format!(
        "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{}\"\n",
        fake.endpoint_url()
    )
}

async fn resolve(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::resolve_from_str(
        "bot.toml",
        text,
        vars(env),
        Purpose::Run,
        secrets_manager(ProxySettings::default()),
    )
    .await
}

fn assert_no_values(text: &str) {
    for value in VALUES {
        assert!(!text.contains(value), "{value:?} shown in:\n{text}");
    }
}

#[tokio::test]
async fn every_kind_of_reference_resolves_with_one_fetch_per_secret_id() {
    let fake = fake_manager().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slack_app_token"),
        format!("{}\n", VALUES[1]),
    )
    .unwrap();
    let wiki_token = dir.path().join("wiki_token");
    std::fs::write(&wiki_token, VALUES[3]).unwrap();
    let text = format!(
        r#"
[slack]
bot_token = "aws-secretsmanager:{SECRET}#slack_token"
app_token = "credential:slack_app_token"
app_name = "literal:env:prod"

[store]
path = "env:BOT_STORE"

{aws}
[bedrock]
agent_id = "aws-secretsmanager:{SECRET}#bedrock_agent"
agent_alias_id = "aws-secretsmanager:{SECRET}#bedrock_agent_alias"

[confluence]
base_url = "aws-secretsmanager:{SECRET}#wiki_url"
user = "aws-secretsmanager:{SECRET}#wiki_user"
api_token = "file:{wiki_token}"
space_key = "OPS"

[github]
owner = "acme"
repo = "app"
token = "aws-secretsmanager:wn/chatops/github"
"#,
        aws = aws(&fake),
        wiki_token = wiki_token.display(),
    );
    let credentials = dir.path().display().to_string();
    let env = [
        ("CREDENTIALS_DIRECTORY", credentials.as_str()),
        ("BOT_STORE", "/var/lib/chatops-bot/bot.db"),
    ];
    let config = resolve(&text, &env).await.unwrap_or_else(|e| panic!("{e}"));

    let slack = &config.slack;
    assert_eq!(
        slack.bot_token.as_ref().unwrap().current().expose(),
        VALUES[0]
    );
    assert_eq!(
        slack.app_token.as_ref().unwrap().current().expose(),
        VALUES[1]
    );
    assert_eq!(
        slack.app_name, "env:prod",
        "the escape is dropped, no lookup"
    );
    assert_eq!(config.store.path, Path::new("/var/lib/chatops-bot/bot.db"));
    let bedrock = config.bedrock.as_ref().unwrap();
    assert_eq!(
        bedrock.backend,
        chatops_bot::config::Backend::Agent(chatops_bot::config::AgentBackend {
            agent_id: "AGENT12345".into(),
            agent_alias_id: "ALIAS12345".into(),
        })
    );
    let confluence = config.confluence.as_ref().unwrap();
    assert_eq!(
        confluence.base_url.as_str(),
        "https://acme.atlassian.net/wiki"
    );
    assert_eq!(confluence.user.as_deref(), Some("ops@acme.test"));
    assert_eq!(confluence.api_token.current().expose(), VALUES[3]);
    let GitHubAuth::Token(token) = &config.github.as_ref().unwrap().auth else {
        panic!("token auth");
    };
    assert_eq!(token.current().expose(), VALUES[2]);

    assert_eq!(fake.get_calls(SECRET), 1, "six keys, one GetSecretValue");
    assert_eq!(fake.get_calls("wn/chatops/github"), 1);
    let sources: Vec<String> = config
        .sources()
        .iter()
        .map(|s| format!("{} {} {}", s.key, s.source, s.secret))
        .collect();
    assert_eq!(
        sources,
        [
            format!("bedrock.agent_alias_id aws-secretsmanager:{SECRET}#bedrock_agent_alias false"),
            format!("bedrock.agent_id aws-secretsmanager:{SECRET}#bedrock_agent false"),
            format!("confluence.api_token file:{} true", wiki_token.display()),
            format!("confluence.base_url aws-secretsmanager:{SECRET}#wiki_url false"),
            format!("confluence.user aws-secretsmanager:{SECRET}#wiki_user false"),
            "github.token aws-secretsmanager:wn/chatops/github true".to_owned(),
            "slack.app_token credential:slack_app_token true".to_owned(),
            format!("slack.bot_token aws-secretsmanager:{SECRET}#slack_token true"),
            "store.path env:BOT_STORE false".to_owned(),
        ]
    );
    assert_no_values(&format!("{config:?} {:?}", config.sources()));
    assert!(config
        .secrets()
        .iter()
        .all(|(_, secret)| secret.renewable()));
}

#[tokio::test]
async fn every_failure_is_reported_at_once_with_its_key_and_no_value() {
    let fake = fake_manager().await;
    fake.set_json("wn/chatops/denied", &json!({"k": VALUES[4]}));
    fake.set_fault("wn/chatops/denied", Some(SecretsFault::AccessDenied));
    fake.set_binary("wn/chatops/binary", VALUES[5].as_bytes());
    fake.set_secret("wn/chatops/plain", VALUES[2]);
    let text = format!(
        r#"
[slack]
bot_token = "aws-secretsmanager:{SECRET}#slack_tokn"
app_token = "env:NOT_SET_ANYWHERE"
connections = 11

[store]
path = "file:relative/path"

{aws}
[bedrock]
agent_id = "aws-secretsmanager:wn/chatops/binary#id"
agent_alias_id = "aws-secretsmanager:wn/chatops/plain#alias"

[confluence]
base_url = "credential:wiki_url"
user = "ops@acme.test"
api_token = "aws-secretsmanager:wn/chatops/denied#k"
space_key = "OPS"

[github]
owner = "acme"
repo = "app"
token = "aws-secretsmanager:wn/chatops/missing"
"#,
        aws = aws(&fake),
    );
    let errors = resolve(&text, &[]).await.expect_err("nothing resolves");
    let shown = errors.to_string();
    let expect = [
        (
            "slack.bot_token",
            format!(
                "aws-secretsmanager:{SECRET} has no key \"slack_tokn\" (keys: bedrock_agent, \
                 bedrock_agent_alias, slack_token, wiki_api_key, wiki_url, wiki_user)"
            ),
        ),
        (
            "slack.app_token",
            "env:NOT_SET_ANYWHERE: the variable is not set".to_owned(),
        ),
        ("slack.connections", "must be between 1 and 10".to_owned()),
        ("store.path", "needs an absolute path".to_owned()),
        ("bedrock.agent_id", "(SecretBinary)".to_owned()),
        ("bedrock.agent_alias_id", "is not a JSON object".to_owned()),
        (
            "confluence.base_url",
            "$CREDENTIALS_DIRECTORY is not set".to_owned(),
        ),
        (
            "confluence.api_token",
            "secretsmanager:GetSecretValue".to_owned(),
        ),
        ("github.token", "ResourceNotFoundException".to_owned()),
    ];
    for (key, part) in &expect {
        let problem = errors
            .problem(key)
            .unwrap_or_else(|| panic!("no problem at {key}:\n{shown}"));
        assert!(
            problem.message.contains(part.as_str()),
            "{key}: {}",
            problem.message
        );
    }
    assert_eq!(
        errors.problems.len(),
        expect.len(),
        "one problem each, no follow-ups:\n{shown}"
    );
    assert_no_values(&shown);
    for id in [
        SECRET,
        "wn/chatops/denied",
        "wn/chatops/binary",
        "wn/chatops/plain",
        "wn/chatops/missing",
    ] {
        assert_eq!(fake.get_calls(id), 1, "{id}");
    }
}

#[tokio::test]
async fn a_value_from_a_reference_is_never_quoted_by_its_check() {
    let fake = fake_manager().await;
    let text = format!(
        "[slack]\nbot_token = \"xoxb-1\"\napp_token = \"xapp-1\"\n{aws}\n[confluence]\n\
         base_url = \"aws-secretsmanager:{SECRET}#wiki_api_key\"\nuser = \"ops@acme.test\"\n\
         api_token = \"t\"\nspace_key = \"OPS\"\n",
        aws = aws(&fake),
    );
    let errors = resolve(&text, &[]).await.expect_err("a key is not a URL");
    let problem = errors.problem("confluence.base_url").expect("base_url");
    assert!(
        problem
            .message
            .contains(&format!("aws-secretsmanager:{SECRET}#wiki_api_key")),
        "{}",
        problem.message
    );
    assert_no_values(&errors.to_string());
}

#[tokio::test]
async fn aws_settings_cannot_come_from_secrets_manager() {
    let fake = fake_manager().await;
    let text = format!(
        "[slack]\nbot_token = \"aws-secretsmanager:{SECRET}#slack_token\"\napp_token = \"xapp-1\"\n\
         [aws]\nregion = \"aws-secretsmanager:{SECRET}#region\"\nendpoint_url = \"{}\"\n",
        fake.endpoint_url()
    );
    let errors = resolve(&text, &[]).await.expect_err("a circle");
    let region = errors.problem("aws.region").expect("aws.region");
    assert!(
        region.message.contains("cannot come from Secrets Manager"),
        "{}",
        region.message
    );
    let bot = errors.problem("slack.bot_token").expect("slack.bot_token");
    assert!(bot.message.contains("was not fetched"), "{}", bot.message);
    assert_eq!(fake.get_calls(SECRET), 0);
}

#[tokio::test]
async fn a_hanging_secrets_manager_is_cut_off() {
    let fake = fake_manager().await;
    fake.set_fault(SECRET, Some(SecretsFault::Hang(Duration::from_secs(30))));
    let text = format!(
        "[slack]\nbot_token = \"aws-secretsmanager:{SECRET}#slack_token\"\napp_token = \"xapp-1\"\n{}",
        aws(&fake)
    );
    let started = Instant::now();
    let connect = |target: AwsTarget| -> Arc<dyn SecretStore> {
        Arc::new(
            SecretsManagerStore::new(target, http_client(&ProxySettings::default()))
                .with_timeout(Duration::from_secs(1)),
        )
    };
    let errors = Config::resolve_from_str("bot.toml", &text, vars(&[]), Purpose::Run, connect)
        .await
        .expect_err("no answer");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let problem = errors.problem("slack.bot_token").expect("slack.bot_token");
    assert!(
        problem.message.contains("did not answer within 1s"),
        "{}",
        problem.message
    );
}

#[test]
fn the_plain_loader_resolves_local_references_and_refuses_secrets_manager() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "xoxb-from-file\n").unwrap();
    let text = format!(
        "[slack]\nbot_token = \"file:{}\"\napp_token = \"env:APP\"\n",
        token.display()
    );
    let config = Config::load_from_str(
        "bot.toml",
        &text,
        vars(&[("APP", "xapp-from-env")]),
        Purpose::Run,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.slack.bot_token.unwrap().current().expose(),
        "xoxb-from-file"
    );
    let remote = text.replace("env:APP", "aws-secretsmanager:wn/chatops/secret#app");
    let errors = Config::load_from_str("bot.toml", &remote, vars(&[]), Purpose::Run).unwrap_err();
    let problem = errors.problem("slack.app_token").expect("slack.app_token");
    assert!(
        problem.message.contains("only when the bot runs"),
        "{}",
        problem.message
    );
}

#[tokio::test]
async fn literal_secrets_in_a_file_others_can_read_are_warned_about_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.toml");
    std::fs::write(
        &path,
        "[slack]\nbot_token = \"xoxb-literal-1\"\napp_token = \"env:APP\"\n",
    )
    .unwrap();
    let env = vars(&[("APP", "xapp-from-env-1")]);
    let config = Config::load_resolved_with(
        &path,
        env,
        Purpose::Run,
        secrets_manager(ProxySettings::default()),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warnings = config.literal_secret_warnings(&path);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("slack.bot_token is written as is in"));
    assert!(warnings[0].contains(&path.display().to_string()) && warnings[0].contains("0644"));
    assert!(!warnings[0].contains("xoxb-literal-1"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(config.literal_secret_warnings(&path).is_empty());
}

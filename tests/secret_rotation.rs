//! A rotated secret is picked up without a restart: after GitHub or Confluence answers 401, the secret is fetched again from the fake Secrets Manager (at most once a minute per secret id), every key that reads it gets the new value, and the call is retried once.

mod support;

use chatops_bot::config::{secrets_manager, Config, Purpose};
use chatops_bot::integrations::confluence::{ConfluenceWiki, Wiki};
use chatops_bot::integrations::github::{
    DeployPipeline, DispatchSettings, GitHubDeploys, GitHubError,
};
use chatops_sandbox::confluence::FakeConfluence;
use chatops_sandbox::github::{AuthKind, FakeGitHub};
use chatops_sandbox::secretsmanager::FakeSecretsManager;
use serde_json::json;
use support::aws_test_env;

const SECRET: &str = "wn/chatops/secret";

fn keys(github: &str, wiki: &str) -> serde_json::Value {
    json!({"github_token": github, "wiki_api_key": wiki, "slack_token": "xoxb-unused-here"})
}

#[tokio::test]
async fn a_401_fetches_the_secret_again_once_and_every_key_gets_the_new_value() {
    aws_test_env();
    let (manager, github, wiki) = (
        FakeSecretsManager::start().await.unwrap(),
        FakeGitHub::start().await.unwrap(),
        FakeConfluence::start().await.unwrap(),
    );
    wiki.add_space("OPS");
    manager.set_json(SECRET, &keys(&github.token(), &wiki.api_token()));
    let text = format!(
        r#"
[slack]
bot_token = "xoxb-literal"
app_token = "xapp-literal"

[aws]
region = "eu-west-1"
endpoint_url = "{manager}"

[github]
api_url = "{github}"
owner = "{owner}"
repo = "{repo}"
token = "aws-secretsmanager:{SECRET}#github_token"
timeout = "10s"

[confluence]
base_url = "{wiki}"
user = "{user}"
api_token = "aws-secretsmanager:{SECRET}#wiki_api_key"
space_key = "OPS"
timeout = "10s"
"#,
        manager = manager.endpoint_url(),
        github = github.api_url(),
        owner = github.owner(),
        repo = github.repo(),
        wiki = wiki.base_url(),
        user = wiki.user(),
    );
    let env = Vec::<(String, String)>::new();
    let config = Config::resolve_from_str("bot.toml", &text, env, Purpose::Run, secrets_manager)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manager.get_calls(SECRET), 1);
    let settings = DispatchSettings::default();
    let deploys = GitHubDeploys::new(config.github.as_ref().unwrap(), settings).unwrap();
    let reports = ConfluenceWiki::new(config.confluence.as_ref().unwrap()).unwrap();
    deploys
        .deployments("staging", 5)
        .await
        .expect("the first token works");
    reports
        .find_page("nothing")
        .await
        .expect("the first token works");

    // Both tokens are rotated; the secret holds the new ones.
    github.set_token("github_pat_rotated_2");
    wiki.set_api_token("wiki-token-rotated-2");
    manager.set_json(
        SECRET,
        &keys("github_pat_rotated_2", "wiki-token-rotated-2"),
    );
    deploys
        .deployments("staging", 5)
        .await
        .expect("GitHub's 401 fetched the new token, and the retry used it");
    assert_eq!(manager.get_calls(SECRET), 2);
    let statuses: Vec<(AuthKind, u16)> = github
        .requests()
        .iter()
        .rev()
        .take(2)
        .map(|r| (r.auth, r.status))
        .collect();
    assert_eq!(statuses, [(AuthKind::Token, 200), (AuthKind::Refused, 401)]);
    let before = wiki.requests().len();
    reports
        .find_page("nothing")
        .await
        .expect("Confluence got the new token from the same fetch");
    let after = wiki.requests();
    assert!(
        after[before..].iter().all(|r| r.authorized),
        "no 401 at all"
    );
    assert_eq!(manager.get_calls(SECRET), 2, "no fetch of its own");

    // Rotated again within the minute: not fetched again, the 401 stands.
    github.set_token("github_pat_rotated_3");
    manager.set_json(
        SECRET,
        &keys("github_pat_rotated_3", "wiki-token-rotated-2"),
    );
    let refused = deploys.deployments("staging", 5).await;
    assert!(
        matches!(refused, Err(GitHubError::Unauthorized { .. })),
        "{refused:?}"
    );
    assert_eq!(
        manager.get_calls(SECRET),
        2,
        "at most once a minute per secret id"
    );
}

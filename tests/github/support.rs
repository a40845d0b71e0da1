//! Shared helpers of the GitHub client tests: a config pointed at the fake, clients, requests.

use std::time::Duration;

use chatops_bot::config::{GitHubAuth, GitHubConfig};
use chatops_bot::integrations::github::{
    DeployAction, DispatchRequest, DispatchSettings, GitHubDeploys,
};
use chatops_bot::secrets::Secret;
use chatops_sandbox::github::{FakeGitHub, GitHubRequest, TEST_APP_PRIVATE_KEY};

/// `[github]` for the fake with its token.
pub fn token_config(fake: &FakeGitHub, timeout: Duration) -> GitHubConfig {
    GitHubConfig {
        api_url: fake.api_url().parse().expect("the fake's URL parses"),
        owner: fake.owner(),
        repo: fake.repo(),
        auth: GitHubAuth::Token(Secret::from(fake.token())),
        timeout,
    }
}

/// `[github]` for the fake as its App, signing with `key`.
pub fn app_config(fake: &FakeGitHub, key: &str) -> GitHubConfig {
    let (app_id, installation_id) = fake.app();
    GitHubConfig {
        auth: GitHubAuth::App {
            app_id,
            private_key: Secret::from(key.to_owned()),
            installation_id,
        },
        ..token_config(fake, Duration::from_secs(10))
    }
}

pub fn app_key() -> &'static str {
    TEST_APP_PRIVATE_KEY
}

pub fn client(config: &GitHubConfig, settings: DispatchSettings) -> GitHubDeploys {
    GitHubDeploys::new(config, settings).expect("the client builds")
}

/// A token client with a 10 s budget, dispatching repository_dispatch.
pub fn token_client(fake: &FakeGitHub) -> GitHubDeploys {
    client(
        &token_config(fake, Duration::from_secs(10)),
        DispatchSettings::default(),
    )
}

/// A deploy of `version` to staging, its request id ending in `n`.
pub fn request(n: u32, version: &str) -> DispatchRequest {
    DispatchRequest {
        request_id: format!("5f0c6a8e-1b2d-4c3e-8f40-{n:012}"),
        action: DeployAction::Deploy,
        version: version.to_owned(),
        environment: "staging".to_owned(),
        requested_by: "alice".to_owned(),
        approved_by: vec!["bob".to_owned(), "carol".to_owned()],
    }
}

/// The requests the fake saw whose path starts with `prefix`.
pub fn calls_to(fake: &FakeGitHub, method: &str, prefix: &str) -> Vec<GitHubRequest> {
    fake.requests()
        .into_iter()
        .filter(|request| request.method == method && request.path.starts_with(prefix))
        .collect()
}

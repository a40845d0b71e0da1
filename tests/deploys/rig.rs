//! The deploy tests' rig: the real bot in-process against the fake Slack (Socket Mode + Web API)
//! and the fake GitHub, over loopback; helpers to type commands, click buttons and read threads.
#![allow(dead_code)]

use std::time::Duration;

use chatops_sandbox::github::{FakeGitHub, RunTimings, TEST_APP_PRIVATE_KEY};
use chatops_sandbox::slack::{envelopes, FakeSlack, StoredMessage, Target};
use serde_json::Value;

use crate::support::{eventually, fake_slack, RunningBot};

pub const SECOND: Duration = Duration::from_secs(1);
/// Where the commands are typed.
pub const CHANNEL: &str = "C0DEPLOYS1";
pub const ALICE: &str = "U0ALICE001";
pub const BOB: &str = "U0BOB00001";
pub const CAROL: &str = "U0CAROL001";
pub const MALLORY: &str = "U0MALLORY1";

/// How the bot authenticates to the fake GitHub.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Token,
    App,
}

/// `[deploy]` with `staging` (anyone, no approval) and `prod` (Bob and Carol approve, one
/// approval, Alice and Bob may ask), polled every 100 ms; `extra` goes inside `[deploy]`.
pub fn deploy_toml(extra: &str) -> String {
    format!(
        r#"
[deploy]
default_environment = "staging"
poll_interval = "100ms"
{extra}

[deploy.environments.staging]

[deploy.environments.prod]
requesters = ["{ALICE}", "{BOB}"]
approvers = ["{BOB}", "{CAROL}"]
approvals = 1
"#
    )
}

pub struct Rig {
    pub slack: FakeSlack,
    pub github: FakeGitHub,
    pub bot: RunningBot,
    auth: Auth,
    deploy: String,
}

impl Rig {
    pub async fn start(deploy: &str) -> Rig {
        Self::start_with(Auth::Token, deploy).await
    }

    pub async fn start_with(auth: Auth, deploy: &str) -> Rig {
        Self::start_in(auth, deploy, tempfile::tempdir().unwrap()).await
    }

    /// Starts the bot on a store in `dir` (`bot.db`), which a test may have written first.
    pub async fn start_in(auth: Auth, deploy: &str, dir: tempfile::TempDir) -> Rig {
        let slack = fake_slack().await;
        let github = FakeGitHub::start().await.unwrap();
        github.set_run_timings(RunTimings {
            queued: Duration::from_millis(300),
            running: Duration::from_millis(900),
        });
        let toml = format!("{}\n{deploy}", github_toml(&github, auth));
        let bot = RunningBot::start_in(dir, &slack, 1, &toml, &[]);
        slack.wait_for_connections(1, 5 * SECOND).await.unwrap();
        Rig {
            slack,
            github,
            bot,
            auth,
            deploy: deploy.to_owned(),
        }
    }

    /// Stops the bot and starts it again on the same store and fakes.
    pub async fn restart(self) -> Rig {
        let Rig {
            slack,
            github,
            bot,
            auth,
            deploy,
        } = self;
        let (stopped, dir) = bot.stop_keeping_store().await;
        stopped.expect("the bot stops cleanly before its restart");
        eventually(5 * SECOND, "the old connection closed", || {
            slack.open_connections().is_empty()
        })
        .await;
        let toml = format!("{}\n{deploy}", github_toml(&github, auth));
        let bot = RunningBot::start_in(dir, &slack, 1, &toml, &[]);
        slack.wait_for_connections(1, 5 * SECOND).await.unwrap();
        Rig {
            slack,
            github,
            bot,
            auth,
            deploy,
        }
    }

    /// Types `/platform-<command> <text>` as `user` in `CHANNEL`.
    pub async fn command(&self, command: &str, text: &str, user: &str) {
        let envelope =
            envelopes::slash_command(&format!("/platform-{command}"), text, CHANNEL, user);
        self.slack.send(Target::Any, envelope).await.unwrap();
    }

    /// Clicks `action_id` as `user` on the message `ts` in `CHANNEL`.
    pub async fn click(&self, ts: &str, action_id: &str, user: &str) {
        let envelope = envelopes::block_actions(CHANNEL, user, ts, action_id, "ignored");
        self.slack.send(Target::Any, envelope).await.unwrap();
    }

    /// The bot's top-level messages in `CHANNEL`, as they are now.
    pub fn roots(&self) -> Vec<StoredMessage> {
        self.slack
            .messages(CHANNEL)
            .into_iter()
            .filter(|m| m.thread_ts.is_none())
            .collect()
    }

    pub fn thread(&self, root: &str) -> Vec<StoredMessage> {
        self.slack
            .messages(CHANNEL)
            .into_iter()
            .filter(|m| m.thread_ts.as_deref() == Some(root))
            .collect()
    }

    /// Waits for the `n`th root message (1-based) and returns it.
    pub async fn root(&self, n: usize) -> StoredMessage {
        eventually(10 * SECOND, "the request's root message", || {
            self.roots().len() >= n
        })
        .await;
        self.roots()[n - 1].clone()
    }

    /// Waits until the root message `ts` shows `text`.
    pub async fn root_shows(&self, ts: &str, text: &str) -> StoredMessage {
        eventually(
            15 * SECOND,
            &format!("the root message shows {text:?}"),
            || {
                self.roots()
                    .iter()
                    .any(|m| m.ts == ts && shown(m).contains(text))
            },
        )
        .await;
        self.roots().into_iter().find(|m| m.ts == ts).unwrap()
    }

    /// Waits until the thread of `root` has a message showing `text`; returns it.
    pub async fn in_thread(&self, root: &str, text: &str) -> StoredMessage {
        eventually(15 * SECOND, &format!("the thread shows {text:?}"), || {
            self.thread(root).iter().any(|m| shown(m).contains(text))
        })
        .await;
        self.thread(root)
            .into_iter()
            .find(|m| shown(m).contains(text))
            .unwrap()
    }

    /// The texts of the ephemeral answers (through `response_url`) so far.
    pub fn answers(&self) -> Vec<String> {
        self.slack
            .calls_to("hooks")
            .into_iter()
            .map(|call| call.params.to_string())
            .collect()
    }

    /// Waits for an ephemeral answer containing `text`.
    pub async fn answered(&self, text: &str) -> String {
        eventually(10 * SECOND, &format!("an answer with {text:?}"), || {
            self.answers().iter().any(|a| a.contains(text))
        })
        .await;
        self.answers()
            .into_iter()
            .find(|a| a.contains(text))
            .unwrap()
    }

    /// The dispatches GitHub received (`POST …/dispatches`).
    pub fn dispatches(&self) -> usize {
        self.github
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/dispatches"))
            .count()
    }
}

/// `[github]` pointed at the fake, with its token or as its App.
pub fn github_toml(github: &FakeGitHub, auth: Auth) -> String {
    let credentials = match auth {
        Auth::Token => format!("token = \"{}\"", github.token()),
        Auth::App => {
            let (app_id, installation) = github.app();
            format!(
                "app_id = \"{app_id}\"\ninstallation_id = {installation}\nprivate_key = \"\"\"\n{TEST_APP_PRIVATE_KEY}\"\"\""
            )
        }
    };
    format!(
        "[github]\napi_url = \"{}\"\nowner = \"{}\"\nrepo = \"{}\"\ntimeout = \"5s\"\n{credentials}\n",
        github.api_url(),
        github.owner(),
        github.repo()
    )
}

/// Everything a message shows: its text, blocks and attachments.
pub fn shown(m: &StoredMessage) -> String {
    format!(
        "{}\n{}\n{}",
        m.text,
        m.blocks.clone().unwrap_or_default(),
        m.attachments.clone().unwrap_or_default()
    )
}

/// The action ids of the buttons a message shows (in its blocks, or its attachment's).
pub fn buttons(m: &StoredMessage) -> Vec<String> {
    let attached = m
        .attachments
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a["blocks"].as_array());
    let blocks = m
        .blocks
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .chain(attached);
    let mut ids = Vec::new();
    for block in blocks.flatten() {
        for element in block["elements"].as_array().into_iter().flatten() {
            if let Some(id) = element["action_id"].as_str() {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

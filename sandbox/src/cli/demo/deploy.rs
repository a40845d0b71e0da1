//! The demo's deploy part: `/platform-deploy v1.4.2 to prod` opens a thread with an approval
//! card, Bob approves, the fake GitHub's run moves queued → in progress → success and the thread
//! follows it, then `/platform-status prod` shows the new version.

use std::time::Duration;

use anyhow::Context;

use super::{indent, render, Transcript, WAIT};
use crate::github::{FakeGitHub, RunTimings};
use crate::slack::{envelopes, Target};

/// Where the deploy commands are typed.
const DEPLOYS: &str = "C0DEPLOYS1";

/// `[github]` and `[deploy]` for the demo's bot: `prod` needs one approval, from Bob.
pub(super) fn config(github: &FakeGitHub) -> String {
    format!(
        r#"
[github]
api_url = "{api}"
owner = "{owner}"
repo = "{repo}"
token = "{token}"

[deploy]
default_environment = "staging"
poll_interval = "300ms"

[deploy.environments.staging]

[deploy.environments.prod]
approvers = ["U0BOB12345"]
approvals = 1
"#,
        api = github.api_url(),
        owner = github.owner(),
        repo = github.repo(),
        token = github.token()
    )
}

pub(super) async fn scenario(t: &mut Transcript<'_>, github: &FakeGitHub) -> anyhow::Result<()> {
    let fake = t.fake;
    github.set_run_timings(RunTimings {
        queued: Duration::from_millis(400),
        running: Duration::from_millis(2400),
    });
    t.say("alice", "/platform-deploy v1.4.2 to prod   (in #deploys)");
    let command =
        envelopes::slash_command("/platform-deploy", "v1.4.2 to prod", DEPLOYS, "U0ALICE123");
    fake.send(Target::Any, command).await?;
    let root = fake
        .wait_for_call(
            "chat.postMessage",
            |c| {
                c.ok()
                    && c.param_str("channel") == Some(DEPLOYS)
                    && c.param_str("thread_ts").is_none()
            },
            WAIT,
        )
        .await?;
    let root_ts = root.response["ts"].as_str().unwrap_or_default().to_owned();
    t.say(
        "bot",
        &format!(
            "opens the request's thread:\n{}",
            indent(&render(&root.params))
        ),
    );
    let card = fake
        .wait_for_call(
            "chat.postMessage",
            |c| c.ok() && c.param_str("thread_ts") == Some(root_ts.as_str()),
            WAIT,
        )
        .await?;
    let card_ts = card.response["ts"].as_str().unwrap_or_default().to_owned();
    t.say(
        "bot",
        &format!(
            "asks for approval in the thread:\n{}",
            indent(&render(&card.params))
        ),
    );

    t.say("bob", "presses ✅ Approve");
    let click = envelopes::block_actions(DEPLOYS, "U0BOB12345", &card_ts, "deploy.approve", "");
    fake.send(Target::Any, click).await?;
    let done = fake
        .wait_for_call(
            "chat.postMessage",
            |c| c.ok() && c.params.to_string().contains("Deployed `v1.4.2` to `prod`"),
            Duration::from_secs(30),
        )
        .await
        .context("the deploy did not finish")?;
    let notes: Vec<String> = fake
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.ok() && c.param_str("thread_ts") == Some(root_ts.as_str()))
        .skip(1)
        .map(|c| render(&c.params))
        .collect();
    t.say(
        "bot",
        &format!(
            "dispatches the workflow to GitHub ({} run), then follows it in the thread:\n{}",
            github.runs().len(),
            indent(&notes.join("\n"))
        ),
    );
    let _ = done;
    let shown = fake
        .wait_for_call(
            "chat.update",
            |c| {
                c.ok()
                    && c.param_str("ts") == Some(root_ts.as_str())
                    && c.params.to_string().contains("succeeded")
            },
            WAIT,
        )
        .await?;
    let _ = shown;
    let root_now = fake
        .messages(DEPLOYS)
        .into_iter()
        .find(|m| m.ts == root_ts)
        .context("the root message is gone")?;
    t.say(
        "bot",
        &format!(
            "has kept the root message up to date ({} edits); it now reads:\n{}",
            root_now.edits,
            indent(&render(&serde_json::json!({"blocks": root_now.blocks, "attachments": root_now.attachments, "text": root_now.text})))
        ),
    );

    t.say("alice", "/platform-status prod");
    let status = envelopes::slash_command("/platform-status", "prod", DEPLOYS, "U0ALICE123");
    fake.send(Target::Any, status).await?;
    let answer = fake
        .wait_for_call(
            "hooks",
            |c| c.params.to_string().contains("Deploy status"),
            WAIT,
        )
        .await?;
    t.say(
        "bot",
        &format!("answers Alice only:\n{}", indent(&render(&answer.params))),
    );
    Ok(())
}

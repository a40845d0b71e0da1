//! The demo's Reporting part: 📝 Reporting on the card makes a Confluence page from the thread
//! (the agent writes its Summary), and the page link appears in the thread and on the card.

use std::time::Duration;

use anyhow::Context;

use super::{indent, Transcript, ALARM_ARN, ALERTS, WAIT};
use crate::bedrock::{AgentScript, FakeBedrock};
use crate::cli::serve::TEAM_SECRET;
use crate::confluence::FakeConfluence;
use crate::slack::{envelopes, Target};

/// The fake agent's summary of the thread.
const SUMMARY: &str = "What happened\n\
    checkout-api returned 5xx from 13:53 UTC, three minutes after the 13:50 deploy.\n\
    Impact\n\
    - About 4% of checkouts failed for 12 minutes.\n\
    Root cause\n\
    The new task definition's targets failed; the payment provider was healthy.\n\
    Actions taken\n\
    - Bob watched the alarm; the deploy was rolled back.\n\
    Follow-ups\n\
    - Add a canary stage to the checkout pipeline.";

/// `[confluence]` for the demo's bot: site, user and token from the team's secret (as the
/// team's `wiki_url`, `wiki_user` and `wiki_api_key`), which `secret_keys` fills.
pub(super) fn config() -> String {
    format!(
        "\n[confluence]\nbase_url = \"aws-secretsmanager:{TEAM_SECRET}#wiki_url\"\n\
         user = \"aws-secretsmanager:{TEAM_SECRET}#wiki_user\"\n\
         api_token = \"aws-secretsmanager:{TEAM_SECRET}#wiki_api_key\"\nspace_key = \"OPS\"\n"
    )
}

/// The team secret's keys for the fake Confluence.
pub(super) fn secret_keys(wiki: &FakeConfluence) -> [(&'static str, String); 3] {
    [
        ("wiki_url", wiki.base_url()),
        ("wiki_user", wiki.user()),
        ("wiki_api_key", wiki.api_token()),
    ]
}

pub(super) async fn scenario(
    t: &mut Transcript<'_>,
    agent: &FakeBedrock,
    wiki: &FakeConfluence,
    root: &str,
) -> anyhow::Result<()> {
    let fake = t.fake;
    agent.push_script(AgentScript::answer_in_pieces(
        SUMMARY,
        4,
        Duration::from_millis(50),
    ));
    t.say("dave", "presses 📝 Reporting");
    fake.send(
        Target::Any,
        envelopes::block_actions(ALERTS, "U0DAVE", root, "alarm.report", ALARM_ARN),
    )
    .await?;
    let done = fake
        .wait_for_call(
            "chat.update",
            |c| c.ok() && c.params.to_string().contains("Incident report created"),
            WAIT,
        )
        .await?;
    let page = wiki
        .pages()
        .into_iter()
        .next()
        .context("no page was created")?;
    t.say(
        "bot",
        &format!(
            "creates the Confluence page \"{}\" (version {}), which begins:\n{}",
            page.title,
            page.version,
            indent(&first_lines(&page.body, 12))
        ),
    );
    t.say(
        "bot",
        &format!(
            "replaces its placeholder in the thread with the link, and shows it on the card:\n{}",
            indent(done.param_str("text").unwrap_or_default())
        ),
    );
    Ok(())
}

/// The first `n` lines of a storage-format page as a reader sees them (tags dropped).
fn first_lines(body: &str, n: usize) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name = tag.trim_start_matches('/');
                if tag.starts_with('/') && ["h2", "h3", "p", "li", "tr"].contains(&name) {
                    text.push('\n');
                } else if name == "td" || name == "th" {
                    text.push(' ');
                }
            }
            c if in_tag => tag.push(c),
            c => text.push(c),
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join("\n")
}

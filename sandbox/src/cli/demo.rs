//! `chatops-sandbox demo`: run the real bot against the fake Slack and print what happened.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

use super::bot_process::{bot_binary, sandbox_config, BotProcess};
use crate::slack::{envelopes, FakeSlack, FakeSlackOptions, Target};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Show the bot's own logs (stderr) as well.
    #[arg(long)]
    pub bot_logs: bool,
}

const WAIT: Duration = Duration::from_secs(15);

/// Print the fake's timeline entries not printed yet.
struct Transcript<'a> {
    fake: &'a FakeSlack,
    printed: usize,
}

impl Transcript<'_> {
    fn flush(&mut self) {
        for entry in self.fake.timeline_since(self.printed) {
            self.printed += 1;
            println!("  {entry}");
        }
    }
    fn say(&mut self, who: &str, text: &str) {
        self.flush();
        println!("\n{who:>8} ▸ {text}");
    }
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let bin = bot_binary()?;
    let fake = FakeSlack::start(FakeSlackOptions::default()).await?;
    let mut t = Transcript { fake: &fake, printed: 0 };
    t.say("sandbox", &format!("Fake Slack on {}; starting {}", fake.api_url(), bin.display()));
    let config = sandbox_config(&fake.api_url(), &fake.options().app_token, &fake.options().bot_token, 2);
    let log_level = if args.bot_logs { "info" } else { "warn" };
    let bot = BotProcess::spawn(&bin, &config, log_level, args.bot_logs)?;

    let conns = fake.wait_for_connections(2, WAIT).await.context("the bot did not connect")?;
    t.say("bot", &format!("holds {} Socket Mode connections", conns.len()));

    t.say("alice", "@ChatOps Bot help   (in #ops)");
    let mention = envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help");
    fake.send(Target::Any, mention).await?;
    let reply = fake.wait_for_call("chat.postMessage", |c| c.ok(), WAIT).await?;
    t.say("bot", &format!("replies in the thread:\n{}", indent(&render(&reply.params))));

    t.say("alice", "@ChatOps Bot frobnicate   (an unknown command)");
    fake.send(Target::Any, envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> frobnicate")).await?;
    let ephemeral = fake.wait_for_call("chat.postEphemeral", |c| c.ok(), WAIT).await?;
    t.say("bot", &format!("answers privately:\n{}", indent(&render(&ephemeral.params))));

    t.say("slack", "asks to refresh connection 1 (refresh_requested)");
    fake.disconnect(conns[0], "refresh_requested").await?;
    wait_for_replacement(&fake, conns[0]).await?;
    t.say("bot", "opened a replacement first, then closed the old connection");

    t.say("operator", "systemctl stop chatops-bot   (SIGTERM)");
    let status = bot.terminate(Duration::from_secs(15))?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    t.say("bot", &format!("exited with {status}"));
    t.flush();
    if !status.success() {
        bail!("the bot exited with {status}");
    }
    println!("\nDemo complete: mention answered, unknown command explained, connection refreshed, clean stop.");
    fake.shutdown().await;
    Ok(())
}

async fn wait_for_replacement(fake: &FakeSlack, old: crate::slack::ConnId) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = fake.connection_log();
        let old_closed = log.iter().any(|c| c.id == old && c.closed_at.is_some());
        if old_closed && fake.open_connections().len() == 2 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the bot did not replace the refreshed connection");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text of a posted message: header and section texts from its blocks, else its `text`.
fn render(params: &Value) -> String {
    let mut lines = vec![];
    if let Some(blocks) = params.get("blocks").and_then(Value::as_array) {
        for block in blocks {
            let text = block.pointer("/text/text").and_then(Value::as_str);
            let elements = block.get("elements").and_then(Value::as_array);
            match (block.get("type").and_then(Value::as_str), text, elements) {
                (Some("header"), Some(text), _) => lines.push(format!("## {text}")),
                (_, Some(text), _) => lines.push(text.to_owned()),
                (Some("context"), None, Some(items)) => {
                    lines.extend(items.iter().filter_map(|i| i.get("text")?.as_str().map(|s| format!("({s})"))))
                }
                _ => {}
            }
        }
    }
    if lines.is_empty() {
        lines.push(params.get("text").and_then(Value::as_str).unwrap_or("").to_owned());
    }
    lines.join("\n")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("           │ {l}")).collect::<Vec<_>>().join("\n")
}

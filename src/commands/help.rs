//! `@bot help` and `/<prefix>-help`: what the bot can do here.

use crate::context::Context;
use crate::slack::message::{Block, Message, Mrkdwn, Standing};

pub fn message(ctx: &Context) -> Message {
    let bot = &ctx.bot.name;
    let mut lines = vec![
        format!("• `@{bot} help` or `{}`: this message.", ctx.commands.help),
        format!("• `@{bot} stats` or `{}`: how fast I am: alarm delivery, Socket Mode ack and agent answer times (p50/p90/p95/p99, last hour and last 24 h).", ctx.commands.stats),
        format!("• `@{bot} echo [text]` or `{}`: am I alive? Your text back, with my version, uptime and Slack connections.", ctx.commands.echo),
        "• Alarm cards: CloudWatch alarms and AWS notifications arrive as cards in their channels; the card is updated as the alarm changes state.".to_owned(),
    ];
    if ctx.conversations.is_some() {
        lines.push("• 🤖 *To Bedrock Agent* on an alarm card: the agent analyses the alarm in the card's thread (likely causes, what to check first, how to mitigate) as it writes.".to_owned());
        lines.push(format!("• `@{bot} <question>`: ask the agent. In an alarm card's thread it knows the alarm and remembers the thread's conversation; anywhere else it starts a new thread."));
    }
    if ctx.reports.is_some() {
        lines.push(format!("• 📝 *Reporting* on an alarm card, or `@{bot} report` in any thread: the thread becomes a Confluence incident report (summary, alarm details, timeline, people, the agent's analyses); doing it again updates the same page."));
    }
    if ctx.aws.is_some() {
        lines.push(format!("• `@{bot} aws <service> <operation> [--flag value …]`: a read-only AWS CLI command (`describe-*`, `list-*`, `get-*`, …) in the channels set up for it, such as `@{bot} aws ec2 describe-instances --region eu-west-1`. Short JSON comes back in the thread, longer output as a file; `--query` takes JMESPath."));
    }
    if ctx.custom_actions.is_some() {
        lines.push(format!("• `@{bot} run`: the custom actions (AWS CLI commands with approvals); `@{bot} run <action> [args]` asks for one, and alarm cards may carry their buttons."));
    }
    if let Some(deploys) = &ctx.deploys {
        lines.push("*Deploys through GitHub Actions*".to_owned());
        lines.push(crate::deploys::help_text(deploys.names(), deploys.config()));
    }
    Message {
        text: format!("{bot}: what I can do"),
        blocks: vec![
            Block::Header(format!("{bot}: what I can do")),
            Block::Section {
                text: Mrkdwn::trusted(lines.join("\n")),
                fields: vec![],
            },
            Block::Context(vec![Mrkdwn::trusted(format!(
                "Connected to workspace {} as <@{}>.",
                crate::slack::message::escape(&ctx.bot.team),
                ctx.bot.user_id
            ))]),
        ],
        accent: None,
        post_id: None,
        standing: Standing::Plain,
    }
}

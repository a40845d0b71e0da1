//! `@bot help` and `/<prefix>-help`: what the bot can do here.

use crate::context::Context;
use crate::slack::message::{Block, Message, Mrkdwn};

pub fn message(ctx: &Context) -> Message {
    let bot = &ctx.bot.name;
    let lines = [
        format!("• `@{bot} help` or `{}`: this message.", ctx.commands.help),
        "• Alarm cards: CloudWatch alarms and AWS notifications arrive as cards in their channels; the card is updated as the alarm changes state.".to_owned(),
    ];
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
    }
}

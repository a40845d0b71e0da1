//! `@bot stats` and `/<prefix>-stats`: how fast the bot is, as p50/p90/p95/p99 and counts over the
//! last hour and the last 24 hours (the stored per-minute sketches and the current minute's).

use std::time::SystemTime;

use crate::context::Context;
use crate::reply::HandlerError;
use crate::slack::message::{Block, Message, Mrkdwn, Standing};
use crate::stats::sketch::RELATIVE_ERROR;
use crate::stats::summary::Summary;

/// The reply, read now.
pub async fn message(ctx: &Context) -> Result<Message, HandlerError> {
    let summary = ctx.stats.summary(SystemTime::now()).await?;
    Ok(render(&summary))
}

/// The summary as a compact table in a code block, with a line on how to read it.
pub fn render(summary: &Summary) -> Message {
    let title = "Latency: p50 / p90 / p95 / p99, last hour and last 24 h";
    // Only the bot's own text: kind names, numbers and units, nothing from outside.
    let table = Mrkdwn::trusted(format!("```\n{}\n```", summary.table()));
    let note = Mrkdwn::trusted(format!(
        "n = values counted. From per-minute sketches (within {:.0}%), kept across restarts.",
        RELATIVE_ERROR * 100.0
    ));
    Message {
        text: title.to_owned(),
        blocks: vec![
            Block::Header(title.to_owned()),
            Block::Section {
                text: table,
                fields: vec![],
            },
            Block::Context(vec![note]),
        ],
        accent: None,
        post_id: None,
        standing: Standing::Plain,
    }
}

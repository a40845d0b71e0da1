//! An action's result in its thread: short output in a code block, a non-zero exit with the
//! last lines of stderr; longer output is cut here (an uploaded file once the upload lands).

use super::card::{argv_line, code_block};
use crate::integrations::aws_cli::{CliError, CliOutput};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::{Block, Message, Mrkdwn};
use crate::slack::messenger::{Messenger, SlackApiError};
use crate::store::actions::ActionRequest;

/// Longest output shown inline.
pub const INLINE_OUTPUT_CHARS: usize = 2_900;
/// stderr lines shown after a failure.
const STDERR_LINES: usize = 10;

/// The result message for `request` (pure).
pub fn result_message(request: &ActionRequest, outcome: &Result<CliOutput, CliError>) -> Message {
    let mut blocks = Vec::new();
    let head = match outcome {
        Ok(output) if output.exit_code == Some(0) => format!(
            ":white_check_mark: `{}` finished in {:.1}s",
            request.action,
            output.duration.as_secs_f64()
        ),
        Ok(output) => format!(
            ":x: `{}` failed (exit status {})",
            request.action,
            output
                .exit_code
                .map_or("none: killed".to_owned(), |c| c.to_string())
        ),
        Err(_) => format!(":x: `{}` could not run", request.action),
    };
    blocks.push(Block::Section {
        text: Mrkdwn::trusted(head.clone()),
        fields: vec![],
    });
    blocks.push(Block::Context(vec![{
        let mut line = Mrkdwn::trusted("Ran: ");
        line.push_escaped(&argv_line(&request.args));
        line
    }]));
    match outcome {
        Ok(output) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stdout = stdout.trim();
            if !stdout.is_empty() {
                let shown: String = stdout.chars().take(INLINE_OUTPUT_CHARS).collect();
                blocks.push(Block::Section {
                    text: code_block(&shown),
                    fields: vec![],
                });
                if shown.len() < stdout.len() || output.stdout_truncated {
                    blocks.push(Block::Context(vec![Mrkdwn::trusted(format!(
                        "Output cut at {INLINE_OUTPUT_CHARS} characters."
                    ))]));
                }
            }
            if output.exit_code != Some(0) && !output.stderr.trim().is_empty() {
                let lines: Vec<&str> = output.stderr.trim().lines().collect();
                let tail = lines[lines.len().saturating_sub(STDERR_LINES)..].join("\n");
                blocks.push(Block::Section {
                    text: code_block(&tail),
                    fields: vec![],
                });
            }
        }
        Err(e) => blocks.push(Block::Section {
            text: Mrkdwn::escaped(&e.to_string()),
            fields: vec![],
        }),
    }
    Message {
        text: head,
        blocks,
        accent: None,
        post_id: None,
        standing: Default::default(),
    }
}

/// Posts the result in the request's thread.
pub async fn post_result(
    slack: &dyn Messenger,
    channel: &ChannelId,
    thread: &MessageTs,
    request: &ActionRequest,
    outcome: &Result<CliOutput, CliError>,
) -> Result<(), SlackApiError> {
    let message = result_message(request, outcome);
    slack.post(channel, Some(thread), &message).await.map(|_| ())
}

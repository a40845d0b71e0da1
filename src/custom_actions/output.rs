//! An action's result in its thread: short output in a code block, longer (or cut) output as
//! an uploaded file in the thread, a non-zero exit with the last lines of stderr.

use super::card::{argv_line, code_block};
use crate::integrations::aws_cli::{CliError, CliOutput};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::{Block, Message, Mrkdwn};
use crate::slack::messenger::{FileUpload, Messenger, SlackApiError};
use crate::store::actions::ActionRequest;

/// Longest output shown inline.
pub const INLINE_OUTPUT_CHARS: usize = 2_900;
/// stderr lines shown after a failure.
const STDERR_LINES: usize = 10;

/// Whether the output goes to a file rather than inline.
pub fn needs_file(output: &CliOutput) -> bool {
    output.stdout_truncated
        || String::from_utf8_lossy(&output.stdout)
            .trim()
            .chars()
            .count()
            > INLINE_OUTPUT_CHARS
}

/// The result message for `request` (pure); with `in_file`, the output is said to be in the
/// file uploaded beside it instead of shown.
pub fn result_message(
    request: &ActionRequest,
    outcome: &Result<CliOutput, CliError>,
    in_file: bool,
) -> Message {
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
            if in_file {
                let cut = if output.stdout_truncated {
                    " (cut at the runner's 1 MB limit)"
                } else {
                    ""
                };
                blocks.push(Block::Context(vec![Mrkdwn::trusted(format!(
                    "The output ({} bytes{cut}) is in the file below.",
                    output.stdout.len()
                ))]));
            } else if !stdout.is_empty() {
                blocks.push(Block::Section {
                    text: code_block(stdout),
                    fields: vec![],
                });
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
    let file = match outcome {
        Ok(output) if needs_file(output) => Some(output),
        _ => None,
    };
    let message = result_message(request, outcome, file.is_some());
    slack.post(channel, Some(thread), &message).await?;
    if let Some(output) = file {
        let upload = FileUpload {
            channel: Some(channel.clone()),
            thread: Some(thread.clone()),
            filename: format!("{}-output.json", request.action),
            title: format!("{} output", request.action),
            initial_comment: None,
            alt_text: None,
            bytes: output.stdout.clone(),
        };
        slack.upload_file(&upload).await?;
    }
    Ok(())
}

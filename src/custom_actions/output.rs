//! An action's result in its thread, rendered as `@bot aws` renders a run
//! (`aws_commands::reply`: short JSON in a code block, longer or cut output as a file uploaded to
//! the thread, a failure's stderr tail), under a line naming the action and who asked.

use tracing::warn;

use crate::aws_commands::reply;
use crate::integrations::aws_cli::{AwsCommand, CliError, CliOutput};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::{Block, Message, Mrkdwn};
use crate::slack::messenger::{FileUpload, Messenger, SlackApiError};
use crate::store::actions::ActionRequest;

/// `message` with a first line naming the action and who asked.
fn under_action(request: &ActionRequest, mut message: Message) -> Message {
    let line = Mrkdwn::trusted(format!(
        ":gear: Action `{}`, asked by <@{}>",
        request.action, request.requested_by
    ));
    message.blocks.insert(0, Block::Context(vec![line]));
    message.text = format!("Action {}: {}", request.action, message.text);
    message
}

/// Posts the result in the request's thread (the output as a file when long).
pub async fn post_result(
    slack: &dyn Messenger,
    channel: &ChannelId,
    thread: &MessageTs,
    request: &ActionRequest,
    outcome: &Result<CliOutput, CliError>,
) -> Result<(), SlackApiError> {
    // The argv passed the guardrails when the request was made; it parses the same way.
    let command = AwsCommand::from_words(request.args.clone()).unwrap_or_else(|_| {
        AwsCommand::from_words(vec!["unknown".into(), "unknown".into()]).expect("two names")
    });
    let region = &request.region;
    let message = match outcome {
        Err(error) => reply::failed(&command, region, error),
        Ok(output) => {
            let rendered = reply::ran(&command, region, output);
            match rendered.file {
                None => rendered.message,
                Some(file) => {
                    let upload = FileUpload {
                        channel: Some(channel.clone()),
                        thread: Some(thread.clone()),
                        filename: file.filename,
                        title: file.title,
                        initial_comment: None,
                        alt_text: None,
                        bytes: file.bytes,
                    };
                    match slack.upload_file(&upload).await {
                        Ok(_) => rendered.message,
                        Err(error) => {
                            warn!(request = %request.request_id, error = %error, "Failed to upload an action's output; showing its start.");
                            reply::upload_failed(&command, region, output)
                        }
                    }
                }
            }
        }
    };
    let message = under_action(request, message);
    slack
        .post(channel, Some(thread), &message)
        .await
        .map(|_| ())
}

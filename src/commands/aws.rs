//! `@bot aws <service> <operation> [--flag value …]`: a read-only AWS CLI command, checked by the guardrails, run as `[aws_commands]`' role, answered in the thread (long output as a file).

use crate::aws_commands::{Asker, Outcome};
use crate::context::Context;
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::slack::interaction::{ChannelId, MessageTs, UserId};
use crate::slack::markup;
use crate::slack::messenger::FileUpload;

use crate::aws_commands::reply as aws_reply;

/// Where the command was typed, and by whom.
pub struct Typed<'a> {
    pub channel: &'a ChannelId,
    pub user: &'a UserId,
    /// The thread the answer (and any file) goes to; `None`: the top level (a DM).
    pub thread: Option<&'a MessageTs>,
    /// The text after `aws`, as Slack sent it (mrkdwn).
    pub text: &'a str,
}

pub async fn run(ctx: &Context, typed: Typed<'_>) -> HandlerResult {
    let Some(aws) = &ctx.aws else {
        return Ok(Reply::Ephemeral(aws_reply::off()));
    };
    // Slack's markup read as typed: `&lt;` is `<` again (and refused), a link is its text.
    let no_names = |_: &str| -> Option<String> { None };
    let text = markup::plain_text(&markup::segments(unfenced(typed.text), &no_names));
    let asker = Asker {
        user: typed.user.0.clone(),
        channel: typed.channel.0.clone(),
    };
    match aws.run_text(&asker, &text).await {
        Outcome::Refused(refusal) => Ok(Reply::Ephemeral(aws_reply::refused(&refusal))),
        Outcome::Failed {
            error: crate::integrations::aws_cli::CliError::Credentials(source),
            ..
        } => Err(HandlerError::Upstream {
            service: "AWS STS (aws_commands.role_arn)",
            source,
        }),
        Outcome::Failed {
            command,
            region,
            error,
        } => Ok(Reply::InThread(aws_reply::failed(
            &command, &region, &error,
        ))),
        Outcome::Ran {
            command,
            region,
            output,
        } => {
            let rendered = aws_reply::ran(&command, &region, &output);
            let Some(file) = rendered.file else {
                return Ok(Reply::InThread(rendered.message));
            };
            let upload = FileUpload {
                channel: Some(typed.channel.clone()),
                thread: typed.thread.cloned(),
                filename: file.filename,
                title: file.title,
                initial_comment: None,
                alt_text: None,
                bytes: file.bytes,
            };
            match ctx.slack.upload_file(&upload).await {
                Ok(_) => Ok(Reply::InThread(rendered.message)),
                Err(error) => {
                    tracing::warn!(
                        channel = %typed.channel.0,
                        error = %error,
                        "Failed to upload an AWS command's output; showing its start."
                    );
                    Ok(Reply::InThread(aws_reply::upload_failed(
                        &command, &region, &output,
                    )))
                }
            }
        }
    }
}

/// The command without one code fence around all of it (```…``` or `…`), which people type
/// to keep Slack from curling their quotes. Backticks inside stay (a `--query` literal).
fn unfenced(text: &str) -> &str {
    let text = text.trim();
    for fence in ["```", "`"] {
        if let Some(inner) = text
            .strip_prefix(fence)
            .and_then(|rest| rest.strip_suffix(fence))
        {
            if !inner.trim().is_empty() {
                return inner.trim();
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::unfenced;

    #[test]
    fn one_fence_around_the_command_goes() {
        assert_eq!(
            unfenced("`ec2 describe-instances`"),
            "ec2 describe-instances"
        );
        assert_eq!(
            unfenced("```\nec2 describe-instances --query 'a[?b==`1`]'\n```"),
            "ec2 describe-instances --query 'a[?b==`1`]'"
        );
        assert_eq!(
            unfenced(" ec2 describe-instances "),
            "ec2 describe-instances"
        );
        assert_eq!(
            unfenced("ec2 describe-instances --query a[?b==`1`]"),
            "ec2 describe-instances --query a[?b==`1`]"
        );
        assert_eq!(unfenced("``"), "``");
    }
}

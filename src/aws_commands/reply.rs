//! What an AWS CLI run shows in Slack (`@bot aws …` and custom actions): short JSON in a code block, longer (or cut) output as a file, a failure's stderr tail, a refusal's reason. Pure; every outside text escaped, so JSON values ping nobody.

use std::time::Duration;

use crate::aws_commands::seconds;
use crate::integrations::aws_cli::{AwsCommand, CliError, CliOutput, Refusal, INSTALL_URL};
use crate::slack::message::{Block, Message, Mrkdwn};

/// Output at most this long (escaped) is shown in the reply; longer goes to a file.
pub const MAX_INLINE_CHARS: usize = 2_900;
/// A failure shows at most this many of stderr's last lines, and characters.
const STDERR_LINES: usize = 15;
const STDERR_CHARS: usize = 1_500;
/// A section's longest text (`slack::blocks::MAX_SECTION_CHARS`): a code block longer than
/// this would be cut, and its fence with it.
const MAX_BLOCK_CHARS: usize = crate::slack::blocks::MAX_SECTION_CHARS;

/// A reply, and the output file to upload with it.
#[derive(Debug, PartialEq)]
pub struct Rendered {
    pub message: Message,
    pub file: Option<OutputFile>,
}

/// The output as a file for the thread.
#[derive(Debug, PartialEq)]
pub struct OutputFile {
    pub filename: String,
    pub title: String,
    pub bytes: Vec<u8>,
}

/// The reply to a run that exited.
pub fn ran(command: &AwsCommand, region: &str, output: &CliOutput) -> Rendered {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut head = header(command, region, output.duration, output.exit_code);
    if !output.succeeded() {
        let mut blocks = vec![section(head.clone())];
        let tail = stderr_tail(&output.stderr);
        if !tail.is_empty() {
            blocks.push(section(code_block(&tail)));
        }
        if !stdout.trim().is_empty() && fits(&stdout) {
            blocks.push(section(code_block(&stdout)));
        }
        return Rendered {
            message: message(head, blocks),
            file: None,
        };
    }
    if stdout.trim().is_empty() {
        head.push(" · (no output)");
        return Rendered {
            message: Message::markdown(head),
            file: None,
        };
    }
    if !output.stdout_truncated && fits(&stdout) {
        let blocks = vec![section(head.clone()), section(code_block(&stdout))];
        return Rendered {
            message: message(head, blocks),
            file: None,
        };
    }
    let filename = format!("aws-{}-{}.json", command.service(), command.operation());
    head.push(&format!(
        "\nThe output ({}) is in the file `{}` in this thread",
        size(output.stdout.len()),
        filename
    ));
    if output.stdout_truncated {
        head.push(&format!(
            ", cut at {}: narrow it with `--query` or filters",
            size(output.stdout.len())
        ));
    }
    head.push(".");
    Rendered {
        message: Message::markdown(head),
        file: Some(OutputFile {
            title: command.shown(),
            filename,
            bytes: output.stdout.clone(),
        }),
    }
}

/// The reply when the upload of `rendered`'s file failed: the output's start, inline.
pub fn upload_failed(command: &AwsCommand, region: &str, output: &CliOutput) -> Message {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut head = header(command, region, output.duration, output.exit_code);
    head.push(&format!(
        "\nThe output ({}) could not be uploaded as a file; its start:",
        size(output.stdout.len())
    ));
    let blocks = vec![section(head.clone()), section(code_block(fitting(&stdout)))];
    message(head, blocks)
}

/// The reply to a run that did not finish (credentials are the router's: an upstream error).
pub fn failed(command: &AwsCommand, region: &str, error: &CliError) -> Message {
    let mut text = Mrkdwn::trusted(":x: ");
    text.push_escaped(&command.shown());
    text.push(&format!(" · {region}\n"));
    match error {
        CliError::NotInstalled { .. } => {
            text.push("The AWS CLI is not installed on the bot's machine. An operator installs AWS CLI v2 (");
            text.push(&format!("<{INSTALL_URL}|how to install it>"));
            text.push(") and sets `aws_commands.cli` to its path, or puts `aws` on the bot's `PATH`.");
        }
        CliError::TimedOut { after } => text.push(&format!(
            "Stopped after {}s: the command took too long. Narrow it (filters, `--max-items`) and try again.",
            after.as_secs()
        )),
        other => {
            text.push("It could not be run: ");
            text.push_escaped(&other.to_string());
        }
    }
    Message::markdown(text)
}

/// A refusal, for the asker only.
pub fn refused(refusal: &Refusal) -> Message {
    let mut text = Mrkdwn::trusted(":no_entry: Not run: ");
    text.push_escaped(&refusal.to_string());
    text.push(".");
    Message::markdown(text)
}

/// `[aws_commands]` is not set.
pub fn off() -> Message {
    Message::markdown(Mrkdwn::trusted(
        "AWS commands are off: an operator turns them on with `[aws_commands]` in bot.toml (see docs/aws-commands.md).",
    ))
}

fn header(
    command: &AwsCommand,
    region: &str,
    duration: Duration,
    exit_code: Option<i32>,
) -> Mrkdwn {
    let mut head = Mrkdwn::trusted(if exit_code == Some(0) {
        ":white_check_mark: "
    } else {
        ":x: "
    });
    head.push_escaped(&command.shown());
    head.push(&format!(" · {region} · {}", seconds(duration)));
    match exit_code {
        Some(0) => {}
        Some(code) => head.push(&format!(" · exit {code}")),
        None => head.push(" · ended by a signal"),
    }
    head
}

/// Whether `text` is shown inline: at most [`MAX_INLINE_CHARS`] escaped, and its code block
/// within a section.
fn fits(text: &str) -> bool {
    Mrkdwn::escaped(text).as_str().chars().count() <= MAX_INLINE_CHARS
        && code_block(text).as_str().chars().count() <= MAX_BLOCK_CHARS
}

/// The longest start of `text` that [`fits`].
fn fitting(text: &str) -> &str {
    // Escaping never shortens: more characters than the limit never fit.
    let mut end = text
        .char_indices()
        .nth(MAX_INLINE_CHARS)
        .map_or(text.len(), |(i, _)| i);
    while !fits(&text[..end]) {
        // Cut a tenth (at least one character) and try again: a few rounds at most.
        let target = end - (end / 10).max(1);
        end = (0..=target)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
    }
    &text[..end]
}

fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    let tail = lines[lines.len().saturating_sub(STDERR_LINES)..].join("\n");
    let count = tail.chars().count();
    tail.chars()
        .skip(count.saturating_sub(STDERR_CHARS))
        .collect()
}

/// Outside text as an escaped code block whose fence it cannot close.
fn code_block(text: &str) -> Mrkdwn {
    let escaped = Mrkdwn::escaped(text.trim_end())
        .as_str()
        .replace("```", "``\u{200B}`");
    Mrkdwn::trusted(format!("```\n{escaped}\n```"))
}

fn section(text: Mrkdwn) -> Block {
    Block::Section {
        text,
        fields: vec![],
    }
}

fn message(head: Mrkdwn, blocks: Vec<Block>) -> Message {
    let mut message = Message::markdown(head);
    message.blocks = blocks;
    message
}

fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> AwsCommand {
        AwsCommand::parse("ec2 describe-instances").unwrap()
    }

    fn output(stdout: &str, exit_code: i32) -> CliOutput {
        CliOutput {
            exit_code: Some(exit_code),
            stdout: stdout.as_bytes().to_vec(),
            stdout_truncated: false,
            stderr: String::new(),
            duration: Duration::from_millis(1234),
        }
    }

    fn all_text(message: &Message) -> String {
        message
            .blocks
            .iter()
            .map(|block| match block {
                Block::Section { text, .. } => text.as_str().to_owned(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn short_json_is_an_escaped_code_block() {
        let json = "{\"Name\": \"<!channel> & <@U0BOB> ```x```\"}";
        let rendered = ran(&command(), "eu-west-1", &output(json, 0));
        assert_eq!(rendered.file, None);
        let text = all_text(&rendered.message);
        assert!(
            text.starts_with(":white_check_mark: aws ec2 describe-instances · eu-west-1 · 1.2s"),
            "{text}"
        );
        assert!(
            text.contains("&lt;!channel&gt; &amp; &lt;@U0BOB&gt;"),
            "{text}"
        );
        assert!(
            !text.contains("<!channel>") && !text.contains("<@U0BOB>"),
            "{text}"
        );
        assert_eq!(text.matches("```").count(), 2, "{text}");
    }

    #[test]
    fn long_or_cut_output_goes_to_a_file() {
        let long = format!("[{}]", "\"i-0123456789abcdef0\",".repeat(200));
        let rendered = ran(&command(), "eu-west-1", &output(&long, 0));
        let file = rendered.file.expect("a file");
        assert_eq!(file.filename, "aws-ec2-describe-instances.json");
        assert_eq!(file.bytes, long.as_bytes());
        assert!(rendered.message.text.contains("is in the file"));
        let mut cut = output("[1]", 0);
        cut.stdout_truncated = true;
        let rendered = ran(&command(), "eu-west-1", &cut);
        assert!(rendered.file.is_some());
        assert!(
            rendered.message.text.contains("cut at"),
            "{}",
            rendered.message.text
        );
    }

    #[test]
    fn what_is_shown_inline_always_fits_a_section() {
        let hostile = "<&>```".repeat(2_000);
        let start = fitting(&hostile);
        assert!(!start.is_empty() && fits(start));
        let shown = upload_failed(&command(), "eu-west-1", &output(&hostile, 0));
        for block in &shown.blocks {
            if let Block::Section { text, .. } = block {
                assert!(text.as_str().chars().count() <= MAX_BLOCK_CHARS);
            }
        }
        assert!(all_text(&shown).ends_with("\n```"), "the fence is closed");
    }

    #[test]
    fn a_failure_shows_the_end_of_stderr() {
        let mut failed = output("", 254);
        failed.stderr = (1..=40).map(|i| format!("line {i}\n")).collect::<String>()
            + "An error occurred (AccessDenied) <!here>";
        let rendered = ran(&command(), "eu-west-1", &failed);
        let text = all_text(&rendered.message);
        assert!(text.contains("exit 254"), "{text}");
        assert!(text.contains("AccessDenied) &lt;!here&gt;"), "{text}");
        assert!(
            !text.contains("line 1\n") && text.contains("line 40"),
            "{text}"
        );
    }
}

//! Text commands, from `@bot …` mentions and `/<prefix>-…` slash commands.

mod ask;
mod aws;
mod deploy;
pub mod echo;
mod help;
pub mod run;
pub mod stats;

use crate::config::CommandNames;
use crate::context::Context;
use crate::reply::{HandlerError, HandlerResult, Reply};
use crate::slack::interaction::{DirectMessage, Mention, SlashCommand};
use crate::slack::message::{Message, Mrkdwn};

/// Every command the bot understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    /// `@bot stats`, `/<prefix>-stats`: latency percentiles.
    Stats,
    /// `@bot echo [text]`, `/<prefix>-echo [text]`: a liveness probe, with the text to echo.
    Echo(String),
    /// `@bot report` in a thread: make or update the thread's incident report.
    Report,
    /// A deploy slash command, with its text still to be parsed against `[deploy]`.
    Deploy(DeployCommandKind, String),
    /// `@bot aws <service> <operation> …`, with the text after `aws` (mrkdwn, unchecked).
    Aws(String),
    /// `@bot run [action] [args]`: a custom action (the text after `run`), or the list.
    Run(String),
}

/// Which deploy slash command was typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployCommandKind {
    Deploy,
    Status,
    Rollback,
}

/// Text that is not a command, kept for the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCommand(pub String);

impl Command {
    /// The text after `@bot`. An empty mention asks for help.
    pub fn from_mention(text: &str) -> Result<Command, UnknownCommand> {
        // Only the bare word: "report the outage to …" stays a question for the agent.
        if text.trim().eq_ignore_ascii_case("report") {
            return Ok(Command::Report);
        }
        let word = text.split_whitespace().next().unwrap_or("help");
        match word.to_ascii_lowercase().as_str() {
            "help" | "?" => Ok(Command::Help),
            "stats" => Ok(Command::Stats),
            "echo" => {
                let rest = text.trim_start()[word.len()..].to_owned();
                Ok(Command::Echo(rest))
            }
            "aws" => {
                let rest = text.trim_start()[word.len()..].trim().to_owned();
                Ok(Command::Aws(rest))
            }
            "run" => Ok(Command::Run(
                text.trim_start()[word.len()..].trim().to_owned(),
            )),
            _ => Err(UnknownCommand(text.to_owned())),
        }
    }

    pub fn from_slash(
        slash: &SlashCommand,
        names: &CommandNames,
    ) -> Result<Command, UnknownCommand> {
        if slash.command == names.help {
            return Ok(Command::Help);
        }
        if slash.command == names.stats {
            return Ok(Command::Stats);
        }
        if slash.command == names.echo {
            return Ok(Command::Echo(slash.text.clone()));
        }
        let kind = if slash.command == names.deploy {
            Some(DeployCommandKind::Deploy)
        } else if slash.command == names.status {
            Some(DeployCommandKind::Status)
        } else if slash.command == names.rollback {
            Some(DeployCommandKind::Rollback)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Ok(Command::Deploy(kind, slash.text.clone()));
        }
        Err(UnknownCommand(
            format!("{} {}", slash.command, slash.text)
                .trim()
                .to_owned(),
        ))
    }
}

/// `@bot help`, or with the agent configured, any other text is a question to the agent.
pub async fn on_mention(ctx: &Context, mention: &Mention) -> HandlerResult {
    match (Command::from_mention(&mention.text), &ctx.conversations) {
        (Ok(Command::Report), _) => report(ctx, mention).await,
        // Without `[aws_commands]`, "aws …" is a question like any other for the agent.
        (Ok(Command::Aws(_)), Some(conversations)) if ctx.aws.is_none() => {
            ask::question(ctx, conversations, mention).await
        }
        (Ok(Command::Aws(text)), _) => {
            let typed = aws::Typed {
                channel: &mention.channel,
                user: &mention.user,
                thread: Some(mention.reply_thread()),
                text: &text,
            };
            aws::run(ctx, typed).await
        }
        // Likewise "run …" without `[[actions]]`.
        (Ok(Command::Run(_)), Some(conversations)) if ctx.custom_actions.is_none() => {
            ask::question(ctx, conversations, mention).await
        }
        (Ok(Command::Run(text)), _) => run::mention(ctx, mention, &text).await,
        (Ok(command), _) => run(ctx, command).await,
        (Err(_), Some(conversations)) => ask::question(ctx, conversations, mention).await,
        (Err(unknown), None) => Ok(Reply::Ephemeral(unknown_command(ctx, &unknown))),
    }
}

/// A DM to the bot is read like the text after `@bot`, and always answered in the DM: the help
/// text, another command's answer, or a pointer to the help.
pub async fn on_direct_message(ctx: &Context, dm: &DirectMessage) -> HandlerResult {
    match Command::from_mention(&dm.text) {
        Ok(Command::Aws(text)) => {
            let typed = aws::Typed {
                channel: &dm.channel,
                user: &dm.user,
                thread: dm.thread_ts.as_ref(),
                text: &text,
            };
            aws::run(ctx, typed).await
        }
        Ok(command) => run(ctx, command).await,
        Err(unknown) => Ok(Reply::InThread(unknown_command(ctx, &unknown))),
    }
}

pub async fn on_slash(ctx: &Context, slash: &SlashCommand) -> HandlerResult {
    if let Some(name) = run::slash_action(ctx, &slash.command) {
        return run::slash(ctx, slash, name).await;
    }
    match Command::from_slash(slash, &ctx.commands) {
        // Help asked privately is answered privately.
        Ok(Command::Help) => Ok(Reply::Ephemeral(help::message(ctx))),
        Ok(Command::Stats) => Ok(Reply::Ephemeral(stats::message(ctx).await?)),
        Ok(Command::Echo(text)) => Ok(Reply::Ephemeral(echo::message(ctx, &text))),
        // No slash command names a report (a slash command has no thread).
        Ok(Command::Report) => Ok(Reply::Ephemeral(help::message(ctx))),
        Ok(Command::Deploy(kind, text)) => deploy::slash(ctx, slash, kind, &text).await,
        // No slash command names an AWS command (its answer belongs in a thread).
        Ok(Command::Aws(_)) => Ok(Reply::Ephemeral(help::message(ctx))),
        Ok(Command::Run(_)) => Ok(Reply::Ephemeral(help::message(ctx))),
        Err(unknown) => Ok(Reply::Ephemeral(unknown_command(ctx, &unknown))),
    }
}

async fn run(ctx: &Context, command: Command) -> HandlerResult {
    match command {
        Command::Help => Ok(Reply::InThread(help::message(ctx))),
        Command::Stats => Ok(Reply::InThread(stats::message(ctx).await?)),
        Command::Echo(text) => Ok(Reply::InThread(echo::message(ctx, &text))),
        Command::Report => Err(HandlerError::User(
            "Mention me with `report` inside the thread you want reported.".into(),
        )),
        // Only slash commands make these.
        Command::Deploy(..) => Ok(Reply::InThread(help::message(ctx))),
        // Answered where it was typed (`on_mention`, `on_direct_message`).
        Command::Aws(..) => Ok(Reply::InThread(help::message(ctx))),
        // Only mentions in channels reach here with `run` (a DM has no approvers to see it).
        Command::Run(_) => Err(HandlerError::User(
            "Run actions in a channel (`@bot run …`), where their approvers can see them.".into(),
        )),
    }
}

/// `@bot report`: the thread the mention is in becomes its incident report.
async fn report(ctx: &Context, mention: &Mention) -> HandlerResult {
    let Some(thread) = &mention.thread_ts else {
        return Err(HandlerError::User(
            "Mention me with `report` inside the thread you want reported (an alarm card's thread, say).".into(),
        ));
    };
    crate::actions::report::start(ctx, &mention.channel, thread, &mention.user).await
}

fn unknown_command(ctx: &Context, unknown: &UnknownCommand) -> Message {
    let mut text = Mrkdwn::trusted(":thinking_face: I don't know the command `");
    text.push_escaped(&crate::slack::blocks::truncate(&unknown.0, 200));
    text.push(&format!(
        "`. Try `@{}` `help` or `{}`.",
        ctx.bot.name, ctx.commands.help
    ));
    Message::markdown(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mentions() {
        assert_eq!(Command::from_mention("help"), Ok(Command::Help));
        assert_eq!(Command::from_mention("  HELP me"), Ok(Command::Help));
        assert_eq!(Command::from_mention(""), Ok(Command::Help));
        assert_eq!(Command::from_mention(" Stats "), Ok(Command::Stats));
        assert_eq!(
            Command::from_mention("  ECHO  hello  world "),
            Ok(Command::Echo("  hello  world ".into()))
        );
        assert_eq!(
            Command::from_mention("echo"),
            Ok(Command::Echo(String::new()))
        );
        assert_eq!(Command::from_mention(" Report "), Ok(Command::Report));
        assert_eq!(
            Command::from_mention(" AWS  ec2 describe-instances --region eu-west-1 "),
            Ok(Command::Aws(
                "ec2 describe-instances --region eu-west-1".into()
            ))
        );
        assert_eq!(
            Command::from_mention("run  scale-web 4 "),
            Ok(Command::Run("scale-web 4".into()))
        );
        assert_eq!(
            Command::from_mention("RUN"),
            Ok(Command::Run(String::new()))
        );
        assert_eq!(
            Command::from_mention("report the outage"),
            Err(UnknownCommand("report the outage".into()))
        );
        assert_eq!(
            Command::from_mention("deploy v1"),
            Err(UnknownCommand("deploy v1".into()))
        );
    }
}

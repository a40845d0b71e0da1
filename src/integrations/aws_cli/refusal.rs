//! `Refusal`: why a command was not run, in words for the person who typed it.

/// Why a command was not run. `Display` is the user-facing reason (plain text: the caller
/// escapes it before it goes into mrkdwn).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("say which service and operation to run, such as `aws ec2 describe-instances`")]
    Empty,
    #[error("a quote ({quote}) is not closed")]
    UnclosedQuote { quote: char },
    #[error("{what} must be lower-case letters, digits and `-`, such as `{example}`; got `{got}`")]
    BadName {
        what: &'static str,
        example: &'static str,
        got: String,
    },
    #[error("{shown} is not allowed in an argument{context}: the command is never run by a shell, and such characters are refused rather than passed on")]
    BadCharacter { shown: String, context: String },
    #[error("argument {position} is {length} bytes long; at most {max} are allowed")]
    TooLong {
        position: usize,
        length: usize,
        max: usize,
    },
    #[error("the command has {count} arguments; at most {max} are allowed")]
    TooMany { count: usize, max: usize },
    #[error("`{flag}` is not allowed: {why}")]
    RejectedFlag { flag: String, why: &'static str },
    #[error("`{flag}` looks like an abbreviation of `{of}`, which is not allowed: {why}")]
    AbbreviatedFlag {
        flag: String,
        of: &'static str,
        why: &'static str,
    },
    #[error("`{flag}` is not an option: options are `--` and lower-case letters, digits and `-`")]
    BadFlag { flag: String },
    #[error("`file://` and `fileb://` are not allowed: a command never reads files on the bot's machine")]
    FileReference,
    #[error("`--region` must be a region code such as `eu-west-1`; got `{got}`")]
    BadRegion { got: String },
    #[error("`{flag}` is given twice")]
    Repeated { flag: &'static str },
    #[error("`{flag}` needs a value")]
    MissingValue { flag: &'static str },
    #[error("`{service} {operation}` is never run from chat: {why}")]
    Denied {
        service: String,
        operation: String,
        why: &'static str,
    },
    #[error("`{service} {operation}` is not allowed in this channel (allowed here: {allowed})")]
    NotAllowed {
        service: String,
        operation: String,
        allowed: String,
    },
    #[error("{running} AWS commands are already running; try again in a moment")]
    Busy { running: usize },
    #[error("AWS commands are not enabled in this channel: an operator adds it as an `[[aws_commands.channels]]` entry in bot.toml (see docs/aws-commands.md)")]
    ChannelNotEnabled,
}

impl Refusal {
    /// A short, stable name for the audit record and logs (`bad_character`, `denied`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty",
            Refusal::UnclosedQuote { .. } => "unclosed_quote",
            Refusal::BadName { .. } => "bad_name",
            Refusal::BadCharacter { .. } => "bad_character",
            Refusal::TooLong { .. } => "too_long",
            Refusal::TooMany { .. } => "too_many",
            Refusal::RejectedFlag { .. } => "rejected_flag",
            Refusal::AbbreviatedFlag { .. } => "abbreviated_flag",
            Refusal::BadFlag { .. } => "bad_flag",
            Refusal::FileReference => "file_reference",
            Refusal::BadRegion { .. } => "bad_region",
            Refusal::Repeated { .. } => "repeated",
            Refusal::MissingValue { .. } => "missing_value",
            Refusal::Denied { .. } => "denied",
            Refusal::NotAllowed { .. } => "not_allowed",
            Refusal::Busy { .. } => "busy",
            Refusal::ChannelNotEnabled => "channel_not_enabled",
        }
    }
}

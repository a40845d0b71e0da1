//! `AwsCommand`: the words after `aws`, split without a shell and checked one by one (characters, lengths, options). Pure.
//!
//! Words are separated by spaces (or tabs). A word may hold `"…"` or `'…'` sections, which keep
//! their spaces (Slack's curly quotes count as straight ones, and an em or en dash starting a
//! word as `--`, as phones type it); there are no escapes, and nothing else is special. Every
//! word is then checked:
//!
//! - no control characters (C0, DEL, C1; a newline inside a quoted value too), and no invisible
//!   formatting characters (zero-width, bidirectional overrides);
//! - none of `;` `|` `&` `$` `` ` `` `>` `<`, except inside the `--query` value, where JMESPath
//!   needs `` ` `` (literals), `|` (pipes), `&&` and `<`/`>` (comparisons); `;` and `$` stay
//!   refused there too;
//! - at most [`MAX_ARGUMENT_BYTES`] bytes, at most [`MAX_ARGUMENTS`] words;
//! - no `file://` or `fileb://` anywhere (any case);
//! - options are `--name` or `--name=value` in lower case; [`REJECTED_FLAGS`] and anything
//!   that could abbreviate one are refused; `--region` is taken out and checked.

use crate::config::looks_like_region_code;

use super::refusal::Refusal;

/// The longest argument, in bytes.
pub const MAX_ARGUMENT_BYTES: usize = 1024;
/// The most words after `aws`.
pub const MAX_ARGUMENTS: usize = 64;
/// Characters a shell would give a meaning; refused everywhere but in `--query`.
const SHELL_CHARACTERS: [char; 7] = [';', '|', '&', '$', '`', '>', '<'];
/// Of those, the ones a JMESPath `--query` needs.
const QUERY_CHARACTERS: [char; 5] = ['`', '|', '&', '>', '<'];

/// Options a command may never carry, and why (shown to the user).
pub const REJECTED_FLAGS: [(&str, &str); 12] = [
    (
        "--endpoint-url",
        "it would send the request somewhere other than AWS",
    ),
    ("--profile", "commands run only as the bot's read-only role"),
    (
        "--cli-input-json",
        "the request is built from the typed options only",
    ),
    (
        "--cli-input-yaml",
        "the request is built from the typed options only",
    ),
    (
        "--cli-binary-format",
        "it changes how blobs and files are read",
    ),
    ("--debug", "it prints signed requests and credentials"),
    (
        "--ca-bundle",
        "it changes which certificates AWS is checked against",
    ),
    ("--no-verify-ssl", "it turns off checking AWS's certificate"),
    ("--output", "the bot always asks for JSON"),
    (
        "--no-sign-request",
        "it changes the credentials a command runs with",
    ),
    ("--cli-auto-prompt", "nobody can answer a prompt"),
    ("--no-cli-auto-prompt", "nobody can answer a prompt"),
];

/// A checked command: `aws <service> <operation> <args…>`, with `--region` taken out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsCommand {
    service: String,
    operation: String,
    args: Vec<String>,
    region: Option<String>,
}

impl AwsCommand {
    /// The text typed after `aws` (Slack's markup already turned into plain text).
    pub fn parse(text: &str) -> Result<Self, Refusal> {
        Self::from_words(split_words(text)?)
    }

    /// Words already split (an action's argv template, filled in), checked the same way.
    pub fn from_words(words: Vec<String>) -> Result<Self, Refusal> {
        if words.len() > MAX_ARGUMENTS {
            return Err(Refusal::TooMany {
                count: words.len(),
                max: MAX_ARGUMENTS,
            });
        }
        for (index, word) in words.iter().enumerate() {
            if word.len() > MAX_ARGUMENT_BYTES {
                return Err(Refusal::TooLong {
                    position: index + 1,
                    length: word.len(),
                    max: MAX_ARGUMENT_BYTES,
                });
            }
        }
        let mut words = words.into_iter();
        let service = words.next().ok_or(Refusal::Empty)?;
        check_name("the service", "ec2", &service)?;
        let operation = words.next().ok_or(Refusal::Empty)?;
        check_name("the operation", "describe-instances", &operation)?;
        let mut args = Vec::new();
        let mut region = None;
        let mut words = words.peekable();
        let mut previous_flag: Option<String> = None;
        while let Some(word) = words.next() {
            if !word.starts_with("--") {
                check_characters(&word, previous_flag.as_deref() == Some("--query"))?;
                // `-` alone is a value (stdout, stdin); a negative number too.
                if word.starts_with('-') && word != "-" && !is_number(&word) {
                    return Err(Refusal::BadFlag { flag: word });
                }
                args.push(word);
                previous_flag = None;
                continue;
            }
            let (name, inline_value) = match word.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (word.clone(), None),
            };
            check_characters(&name, false)?;
            check_flag(&name)?;
            if let Some(value) = &inline_value {
                check_characters(value, name == "--query")?;
            }
            if name == "--region" {
                let value = match inline_value {
                    Some(value) => value,
                    None => match words.next_if(|next| !next.starts_with("--")) {
                        Some(value) => {
                            check_characters(&value, false)?;
                            value
                        }
                        None => return Err(Refusal::MissingValue { flag: "--region" }),
                    },
                };
                if !looks_like_region_code(&value) {
                    return Err(Refusal::BadRegion { got: value });
                }
                if region.replace(value).is_some() {
                    return Err(Refusal::Repeated { flag: "--region" });
                }
                previous_flag = None;
                continue;
            }
            previous_flag = inline_value.is_none().then(|| name.clone());
            args.push(word);
        }
        Ok(Self {
            service,
            operation,
            args,
            region,
        })
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The words after the operation, `--region` left out.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// `--region`'s value, when given.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Whether an option is present as `flag`, `flag=…`, or anything that could abbreviate it.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.args.iter().any(|arg| {
            let name = arg.split_once('=').map_or(arg.as_str(), |(name, _)| name);
            name.len() > 2 && name.starts_with("--") && flag.starts_with(name)
        })
    }

    /// What runs after `aws`: service, operation, then the arguments (`--region` and
    /// `--output` are the runner's).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.service.clone(), self.operation.clone()];
        argv.extend(self.args.iter().cloned());
        argv
    }

    /// The command as it reads: `aws ec2 describe-instances --region eu-west-1 …`, words with
    /// spaces or quotes shown quoted.
    pub fn shown(&self) -> String {
        let mut shown = format!("aws {} {}", self.service, self.operation);
        if let Some(region) = &self.region {
            shown.push_str(&format!(" --region {region}"));
        }
        for arg in &self.args {
            shown.push(' ');
            shown.push_str(&quoted(arg));
        }
        shown
    }
}

/// Splits on spaces and tabs, keeping `"…"`/`'…'` sections (curly quotes read as straight).
pub fn split_words(text: &str) -> Result<Vec<String>, Refusal> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        let c = match c {
            '\u{201C}' | '\u{201D}' => '"',
            '\u{2018}' | '\u{2019}' => '\'',
            other => other,
        };
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => current.get_or_insert_with(String::new).push(c),
            None if c == ' ' || c == '\t' => words.extend(current.take()),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                current.get_or_insert_with(String::new);
            }
            // A phone's "smart punctuation" makes `--region` `—region`: a dash starting a word
            // is the option's `--`.
            None if current.is_none() && (c == '\u{2014}' || c == '\u{2013}') => {
                current = Some("--".to_owned());
            }
            None => current.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(quote) = quote {
        return Err(Refusal::UnclosedQuote { quote });
    }
    words.extend(current);
    Ok(words)
}

fn check_name(what: &'static str, example: &'static str, word: &str) -> Result<(), Refusal> {
    let ok = (1..=64).contains(&word.len())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !word.starts_with('-');
    if ok {
        Ok(())
    } else {
        check_characters(word, false)?;
        Err(Refusal::BadName {
            what,
            example,
            got: word.to_owned(),
        })
    }
}

/// Refuses control and invisible characters, shell characters (some allowed in a `--query`
/// value) and `file://`/`fileb://`.
pub fn check_characters(word: &str, in_query: bool) -> Result<(), Refusal> {
    let context = if in_query {
        " (not even in `--query`)".to_owned()
    } else {
        String::new()
    };
    for c in word.chars() {
        let shown = if c.is_control() || is_invisible(c) {
            Some(format!("the control character U+{:04X}", c as u32))
        } else if SHELL_CHARACTERS.contains(&c) && !(in_query && QUERY_CHARACTERS.contains(&c)) {
            Some(format!("`{c}`"))
        } else {
            None
        };
        if let Some(shown) = shown {
            let context = if in_query || !QUERY_CHARACTERS.contains(&c) {
                context
            } else {
                " (only a `--query` value may hold it)".to_owned()
            };
            return Err(Refusal::BadCharacter { shown, context });
        }
    }
    let lower = word.to_ascii_lowercase();
    if lower.contains("file://") || lower.contains("fileb://") {
        return Err(Refusal::FileReference);
    }
    Ok(())
}

/// Zero-width and bidirectional formatting characters, which hide or reorder what a reader sees.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn check_flag(name: &str) -> Result<(), Refusal> {
    let body = &name[2..];
    let well_formed = !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !well_formed {
        return Err(Refusal::BadFlag {
            flag: name.to_owned(),
        });
    }
    for (rejected, why) in REJECTED_FLAGS {
        if name == rejected {
            return Err(Refusal::RejectedFlag {
                flag: name.to_owned(),
                why,
            });
        }
        // The CLI's parser may accept a unique prefix of an option.
        if rejected.starts_with(name) {
            return Err(Refusal::AbbreviatedFlag {
                flag: name.to_owned(),
                of: rejected,
                why,
            });
        }
    }
    Ok(())
}

fn is_number(word: &str) -> bool {
    word[1..].parse::<f64>().is_ok()
}

fn quoted(word: &str) -> String {
    if word.is_empty() || word.contains([' ', '\t', '"', '\'']) {
        if word.contains('\'') {
            format!("\"{word}\"")
        } else {
            format!("'{word}'")
        }
    } else {
        word.to_owned()
    }
}

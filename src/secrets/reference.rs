//! What a config string may refer to: `env:NAME`, `file:PATH`, `credential:NAME`, `aws-secretsmanager:ID#key` (pure).

use std::fmt;
use std::path::PathBuf;

/// Written before a value that must be taken as is although it starts like a reference:
/// `"literal:env:prod"` is the value `env:prod`, `"literal:literal:x"` is `literal:x`.
pub const LITERAL_PREFIX: &str = "literal:";

const ENV: &str = "env";
const FILE: &str = "file";
const CREDENTIAL: &str = "credential";
const SECRETS_MANAGER: &str = "aws-secretsmanager";

/// Where a config value is read from instead of being written in the file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    /// `env:NAME`: the environment variable `NAME`.
    Env(String),
    /// `file:PATH`: the file's text (an absolute path), trailing line breaks dropped.
    File(PathBuf),
    /// `credential:NAME`: `$CREDENTIALS_DIRECTORY/NAME`, which systemd's `LoadCredential=` fills.
    Credential(String),
    /// `aws-secretsmanager:ID#key`: the string at `key` in the JSON object that is the secret's
    /// SecretString; without `#key`, the whole SecretString. `ID` is the name or the ARN.
    SecretsManager { id: String, key: Option<String> },
}

/// What one config string turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// An ordinary value.
    Plain,
    /// `literal:…`: the rest, to be taken as written.
    Escaped(&'a str),
    /// A reference to resolve.
    Reference(Reference),
    /// Starts like a reference but is not a usable one; the message never quotes the value.
    Malformed(String),
}

impl Reference {
    /// The secret id of a Secrets Manager reference.
    pub fn secret_id(&self) -> Option<&str> {
        match self {
            Self::SecretsManager { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "{ENV}:{name}"),
            Self::File(path) => write!(f, "{FILE}:{}", path.display()),
            Self::Credential(name) => write!(f, "{CREDENTIAL}:{name}"),
            Self::SecretsManager { id, key: None } => write!(f, "{SECRETS_MANAGER}:{id}"),
            Self::SecretsManager { id, key: Some(key) } => {
                write!(f, "{SECRETS_MANAGER}:{id}#{key}")
            }
        }
    }
}

/// Reads one config string: a reference, an escaped literal, or an ordinary value.
pub fn parse(text: &str) -> Parsed<'_> {
    if let Some(rest) = text.strip_prefix(LITERAL_PREFIX) {
        return Parsed::Escaped(rest);
    }
    let Some((scheme, rest)) = text.split_once(':') else {
        return Parsed::Plain;
    };
    let parsed = match scheme {
        ENV => env(rest),
        FILE => file(rest),
        CREDENTIAL => credential(rest),
        SECRETS_MANAGER => secrets_manager(rest),
        _ => return Parsed::Plain,
    };
    match parsed {
        Ok(reference) => Parsed::Reference(reference),
        Err(why) => Parsed::Malformed(format!(
            "is not a usable {scheme}: reference: {why} (a value that only starts like one is \
             written \"{LITERAL_PREFIX}{scheme}:…\")"
        )),
    }
}

fn env(name: &str) -> Result<Reference, String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(Reference::Env(name.to_owned()))
    } else {
        Err("it needs a variable name (letters, digits, '_'), such as env:SLACK_BOT_TOKEN".into())
    }
}

fn file(path: &str) -> Result<Reference, String> {
    if path.starts_with('/') && path.len() > 1 {
        Ok(Reference::File(PathBuf::from(path)))
    } else {
        Err("it needs an absolute path, such as file:/etc/chatops-bot/slack_bot_token".into())
    }
}

fn credential(name: &str) -> Result<Reference, String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(Reference::Credential(name.to_owned()))
    } else {
        Err(
            "it needs the name given to LoadCredential= (no '/'), such as \
             credential:slack_bot_token"
                .into(),
        )
    }
}

fn secrets_manager(rest: &str) -> Result<Reference, String> {
    let (id, key) = match rest.split_once('#') {
        Some((id, key)) => (id, Some(key)),
        None => (rest, None),
    };
    let usable =
        |text: &str| !text.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if !usable(id) {
        return Err("it needs a secret name or ARN, such as \
                    aws-secretsmanager:wn/chatops/secret#slack_token"
            .into());
    }
    if key.is_some_and(|key| !usable(key)) {
        return Err(
            "nothing usable follows '#': name the JSON key, or leave '#' out for the \
                    whole SecretString"
                .into(),
        );
    }
    Ok(Reference::SecretsManager {
        id: id.to_owned(),
        key: key.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(text: &str) -> Reference {
        match parse(text) {
            Parsed::Reference(reference) => reference,
            other => panic!("{text:?} should be a reference, got {other:?}"),
        }
    }

    #[test]
    fn every_kind_parses_and_prints_back() {
        for text in [
            "env:SLACK_BOT_TOKEN",
            "file:/etc/chatops-bot/token",
            "credential:slack_app_token",
            "aws-secretsmanager:wn/chatops/secret#slack_token",
            "aws-secretsmanager:wn/chatops/secret",
            "aws-secretsmanager:arn:aws:secretsmanager:eu-west-1:111122223333:secret:wn-AbCdEf#k",
        ] {
            assert_eq!(reference(text).to_string(), text);
        }
        assert_eq!(
            reference("aws-secretsmanager:wn/chatops/secret#wiki_url"),
            Reference::SecretsManager {
                id: "wn/chatops/secret".into(),
                key: Some("wiki_url".into())
            }
        );
    }

    #[test]
    fn ordinary_values_stay_plain_and_the_escape_is_dropped_once() {
        for text in [
            "xoxb-1-abc",
            "https://example.com/wiki",
            "",
            "vault:x",
            "eu-west-1",
        ] {
            assert_eq!(parse(text), Parsed::Plain, "{text:?}");
        }
        assert_eq!(parse("literal:env:prod"), Parsed::Escaped("env:prod"));
        assert_eq!(parse("literal:literal:x"), Parsed::Escaped("literal:x"));
        assert_eq!(parse("literal:"), Parsed::Escaped(""));
    }

    #[test]
    fn malformed_references_say_why_without_quoting_the_value() {
        for text in [
            "env:",
            "env:1ABC",
            "env:A-B",
            "file:relative/path",
            "file:/",
            "credential:",
            "credential:a/b",
            "aws-secretsmanager:",
            "aws-secretsmanager:#key",
            "aws-secretsmanager:id#",
            "aws-secretsmanager:id with space",
        ] {
            let Parsed::Malformed(message) = parse(text) else {
                panic!("{text:?} should be malformed");
            };
            let (_, rest) = text.split_once(':').unwrap();
            assert!(
                rest.len() < 3 || !message.contains(rest),
                "{message} quotes {rest:?}"
            );
            assert!(message.contains("literal:"), "{message}");
        }
    }
}

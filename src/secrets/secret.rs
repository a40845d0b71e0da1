//! `Secret`: a secret value that can be swapped while the bot runs, and where it came from; `Debug` and `Display` show only where.

use std::fmt;
use std::sync::{Arc, OnceLock, Weak};

use arc_swap::ArcSwap;
use async_trait::async_trait;

use super::reference::Reference;

/// Where a secret's value came from. Shown by `check`, `Debug` and logs instead of the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Written as is in the configuration file named.
    Literal { file: String },
    /// Read through a reference; a variable layered into the config (`SLACK_BOT_TOKEN`,
    /// `CHATOPS_…`) counts as `env:NAME`.
    Reference(Reference),
    /// Handed over in code (tests and tools), not read from a configuration.
    Given,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal { file } => write!(f, "literal in {file}"),
            Self::Reference(reference) => reference.fmt(f),
            Self::Given => f.write_str("given in code"),
        }
    }
}

/// What fetching a refused secret again brought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// A new value is in place: the call is worth one more try.
    Renewed,
    /// Fetched again, and it is the same; or there is nothing to fetch (a literal, `env:`).
    Unchanged,
    /// Fetched again less than [`super::REFRESH_INTERVAL`] ago: not fetched.
    TooSoon,
    /// The fetch failed (logged).
    Failed,
}

impl Refreshed {
    /// Whether a new value is in place.
    pub fn renewed(self) -> bool {
        self == Self::Renewed
    }
}

/// Fetches a secret's value again; one per secret id or file, shared by every key that reads it.
#[async_trait]
pub(super) trait Renew: Send + Sync {
    /// Called after `secret` (whose value was generation `seen`) was refused.
    async fn renew(&self, secret: &Secret, seen: u64) -> Refreshed;
}

/// A secret value (a token, a key) and where it came from. Clones share the value, so a value
/// fetched again after a rotation reaches every holder. Reading it is a few atomic operations,
/// without locks or allocation.
#[derive(Clone)]
pub struct Secret {
    shared: Arc<Shared>,
}

struct Shared {
    source: Source,
    version: ArcSwap<Version>,
    renewal: OnceLock<Arc<dyn Renew>>,
}

struct Version {
    value: Box<str>,
    generation: u64,
}

/// The value of a secret at one moment. Holding it keeps that value, even if it is replaced.
pub struct Current(Arc<Version>);

impl Current {
    /// The value itself: hand it to the one call that needs it, never to a log or a message.
    pub fn expose(&self) -> &str {
        &self.0.value
    }

    /// Which value this is: it grows by one each time the value is replaced.
    pub fn generation(&self) -> u64 {
        self.0.generation
    }
}

impl Secret {
    /// A secret holding `value`, read from `source`.
    pub fn new(value: impl Into<String>, source: Source) -> Self {
        Self {
            shared: Arc::new(Shared {
                source,
                version: ArcSwap::from_pointee(Version {
                    value: value.into().into_boxed_str(),
                    generation: 0,
                }),
                renewal: OnceLock::new(),
            }),
        }
    }

    /// Where the value came from.
    pub fn source(&self) -> &Source {
        &self.shared.source
    }

    /// The value now.
    pub fn current(&self) -> Current {
        Current(self.shared.version.load_full())
    }

    /// The generation of the value now (see [`Current::generation`]).
    pub fn generation(&self) -> u64 {
        self.shared.version.load().generation
    }

    /// After an integration refused generation `seen` of this secret: `Renewed` at once when
    /// the value has changed since; otherwise the value is fetched again where it came from
    /// (at most once a minute per secret id or file), and `Renewed` when it changed.
    pub async fn refresh(&self, seen: u64) -> Refreshed {
        if self.generation() != seen {
            return Refreshed::Renewed;
        }
        match self.shared.renewal.get() {
            Some(renewal) => renewal.renew(self, seen).await,
            None => Refreshed::Unchanged,
        }
    }

    /// Whether this secret can be fetched again (it came from a file, a credential or
    /// Secrets Manager, and a rotation adopted it).
    pub fn renewable(&self) -> bool {
        self.shared.renewal.get().is_some()
    }

    /// Lets `renewal` fetch this secret again; the first one set stays.
    pub(super) fn renew_with(&self, renewal: Arc<dyn Renew>) {
        let _ = self.shared.renewal.set(renewal);
    }

    /// Puts `value` in place as the next generation.
    pub(super) fn replace(&self, value: String) {
        let value = value.into_boxed_str();
        self.shared.version.rcu(|old| Version {
            value: value.clone(),
            generation: old.generation + 1,
        });
    }

    /// A handle that does not keep the secret alive.
    pub(super) fn downgrade(&self) -> WeakSecret {
        WeakSecret(Arc::downgrade(&self.shared))
    }
}

/// A [`Secret`] that may be gone.
pub(super) struct WeakSecret(Weak<Shared>);

impl WeakSecret {
    pub(super) fn upgrade(&self) -> Option<Secret> {
        self.0.upgrade().map(|shared| Secret { shared })
    }
}

/// A secret handed over in code, such as a test's token.
impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value, Source::Given)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value, Source::Given)
    }
}

/// Only the source: `Secret(aws-secretsmanager:wn/chatops/secret#slack_token)`.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.shared.source)
    }
}

/// Only the source, as `check` lists it.
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.source.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_show_the_source_never_the_value() {
        let secret = Secret::new(
            "xoxb-never-shown",
            Source::Reference(Reference::SecretsManager {
                id: "wn/chatops/secret".into(),
                key: Some("slack_token".into()),
            }),
        );
        let shown = format!("{secret:?} {secret} {:?}", Some(&secret));
        assert!(!shown.contains("never-shown"), "{shown}");
        assert!(shown.contains("aws-secretsmanager:wn/chatops/secret#slack_token"));
        let literal = Secret::new(
            "x",
            Source::Literal {
                file: "bot.toml".into(),
            },
        );
        assert_eq!(literal.to_string(), "literal in bot.toml");
    }

    #[tokio::test]
    async fn clones_share_a_replaced_value_and_old_readers_keep_theirs() {
        let secret = Secret::from("old");
        let clone = secret.clone();
        let before = secret.current();
        secret.replace("new".into());
        assert_eq!(before.expose(), "old");
        assert_eq!(clone.current().expose(), "new");
        assert_eq!(clone.generation(), 1);
        assert_eq!(
            clone.refresh(0).await,
            Refreshed::Renewed,
            "changed since 0"
        );
        assert_eq!(
            clone.refresh(1).await,
            Refreshed::Unchanged,
            "nothing to fetch"
        );
    }
}

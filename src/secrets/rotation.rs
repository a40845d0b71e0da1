//! Fetching secrets again after an integration refused one: at most once a minute per secret id or file, every key that reads it updated from that one fetch.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::{info, warn};

use super::reference::Reference;
use super::resolve::{fetch_document, read_text, Document};
use super::secret::{Refreshed, Renew, Secret, Source, WeakSecret};
use super::store::SecretStore;

/// The least time between two fetches of one secret id (or file) after refusals. The fetch at
/// start-up does not count: a token that worked then and is refused later was likely rotated.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Where one group of secrets is fetched from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Origin {
    SecretsManager(String),
    File(PathBuf),
}

/// The secrets of one configuration that can be fetched again, grouped by where they come from.
#[derive(Clone)]
pub struct Rotation {
    store: Option<Arc<dyn SecretStore>>,
    credentials_dir: Option<PathBuf>,
    interval: Duration,
    groups: Arc<Mutex<HashMap<Origin, Arc<Group>>>>,
}

impl Rotation {
    /// `store` fetches `aws-secretsmanager:` secrets again; `credentials_dir` is where
    /// `credential:` files are.
    pub fn new(store: Option<Arc<dyn SecretStore>>, credentials_dir: Option<PathBuf>) -> Self {
        Self {
            store,
            credentials_dir,
            interval: REFRESH_INTERVAL,
            groups: Arc::default(),
        }
    }

    /// The same rotation with another least time between fetches (tests).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Lets `secret`, the value of `key_path`, be fetched again after a refusal, when it came
    /// from a file, a credential or Secrets Manager. Literals and `env:` stay as they are.
    pub fn adopt(&self, key_path: &str, secret: &Secret) {
        let Source::Reference(reference) = secret.source() else {
            return;
        };
        let (origin, pick) = match reference {
            Reference::SecretsManager { id, key } => {
                if self.store.is_none() {
                    return;
                }
                (Origin::SecretsManager(id.clone()), key.clone())
            }
            Reference::File(path) => (Origin::File(path.clone()), None),
            Reference::Credential(name) => match &self.credentials_dir {
                Some(dir) => (Origin::File(dir.join(name)), None),
                None => return,
            },
            Reference::Env(_) => return,
        };
        let group = {
            let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
            groups
                .entry(origin.clone())
                .or_insert_with(|| {
                    Arc::new(Group {
                        label: label(&origin),
                        origin,
                        store: self.store.clone(),
                        interval: self.interval,
                        last_fetch: tokio::sync::Mutex::new(None),
                        members: Mutex::new(Vec::new()),
                    })
                })
                .clone()
        };
        group
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Member {
                key_path: key_path.to_owned(),
                pick,
                secret: secret.downgrade(),
            });
        secret.renew_with(group);
    }
}

fn label(origin: &Origin) -> String {
    match origin {
        Origin::SecretsManager(id) => format!("aws-secretsmanager:{id}"),
        Origin::File(path) => format!("file:{}", path.display()),
    }
}

/// The secrets read from one secret id or file.
struct Group {
    origin: Origin,
    label: String,
    store: Option<Arc<dyn SecretStore>>,
    interval: Duration,
    /// When it was last fetched after a refusal. Held through a fetch, so refusals at the same
    /// moment wait for one fetch and then see its value.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    members: Mutex<Vec<Member>>,
}

struct Member {
    key_path: String,
    /// The JSON key, for a Secrets Manager secret that is an object.
    pick: Option<String>,
    secret: WeakSecret,
}

impl Group {
    async fn fetch(&self) -> Result<Document, String> {
        match (&self.origin, &self.store) {
            (Origin::SecretsManager(id), Some(store)) => fetch_document(store.as_ref(), id).await,
            (Origin::SecretsManager(id), None) => Err(format!("no store to fetch {id} from")),
            (Origin::File(path), _) => {
                let text = read_text(path)?;
                Ok(Document::new(text.into()))
            }
        }
    }

    /// Puts each member's value from `document` in place where it changed; the keys changed.
    fn update(&self, document: &Document) -> Vec<String> {
        let id = match &self.origin {
            Origin::SecretsManager(id) => id.as_str(),
            Origin::File(_) => "",
        };
        let members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = Vec::new();
        for member in members.iter() {
            let Some(secret) = member.secret.upgrade() else {
                continue;
            };
            match document.pick(id, member.pick.as_deref()) {
                Ok(value) if value != secret.current().expose() => {
                    secret.replace(value);
                    changed.push(member.key_path.clone());
                }
                Ok(_) => {}
                Err(why) => {
                    warn!(key = %member.key_path, error = %why, "A secret fetched again has no value for this key; the old one stays.")
                }
            }
        }
        changed
    }
}

#[async_trait]
impl Renew for Group {
    async fn renew(&self, secret: &Secret, seen: u64) -> Refreshed {
        let mut last_fetch = self.last_fetch.lock().await;
        if secret.generation() != seen {
            return Refreshed::Renewed;
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.interval) {
            info!(source = %self.label, "A refused secret was fetched again less than a minute ago; not fetching it again yet.");
            return Refreshed::TooSoon;
        }
        *last_fetch = Some(Instant::now());
        let document = match self.fetch().await {
            Ok(document) => document,
            Err(why) => {
                warn!(source = %self.label, error = %why, "Could not fetch a refused secret again.");
                return Refreshed::Failed;
            }
        };
        let changed = self.update(&document);
        info!(source = %self.label, changed = ?changed, "Fetched a refused secret again.");
        if secret.generation() != seen {
            Refreshed::Renewed
        } else {
            Refreshed::Unchanged
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use secrecy::SecretString;

    use super::*;
    use crate::secrets::store::StoreError;

    /// A store whose secret can be changed, counting fetches.
    struct Store {
        value: Mutex<String>,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl SecretStore for Store {
        async fn secret_string(&self, _id: &str) -> Result<SecretString, StoreError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            Ok(SecretString::from(self.value.lock().unwrap().clone()))
        }
    }

    fn from_manager(key: &str, value: &str) -> Secret {
        let reference = Reference::SecretsManager {
            id: "wn/chatops/secret".into(),
            key: Some(key.into()),
        };
        Secret::new(value, Source::Reference(reference))
    }

    #[tokio::test(start_paused = true)]
    async fn one_fetch_a_minute_per_id_renews_every_key_that_reads_it() {
        let store = Arc::new(Store {
            value: Mutex::new(r#"{"slack_token":"bot-2","wiki_api_key":"wiki-2"}"#.into()),
            fetches: AtomicUsize::new(0),
        });
        let rotation = Rotation::new(Some(store.clone()), None);
        let (bot, wiki) = (
            from_manager("slack_token", "bot-1"),
            from_manager("wiki_api_key", "wiki-1"),
        );
        rotation.adopt("slack.bot_token", &bot);
        rotation.adopt("confluence.api_token", &wiki);
        let literal = Secret::from("lit");
        rotation.adopt("github.token", &literal);
        assert!(bot.renewable() && wiki.renewable() && !literal.renewable());

        let (first, second) = tokio::join!(bot.refresh(0), bot.refresh(0));
        assert_eq!((first, second), (Refreshed::Renewed, Refreshed::Renewed));
        assert_eq!(
            store.fetches.load(Ordering::SeqCst),
            1,
            "refusals at once share a fetch"
        );
        assert_eq!(bot.current().expose(), "bot-2");
        assert_eq!(
            wiki.refresh(0).await,
            Refreshed::Renewed,
            "renewed by the same fetch"
        );
        assert_eq!(wiki.current().expose(), "wiki-2");

        assert_eq!(bot.refresh(1).await, Refreshed::TooSoon);
        tokio::time::advance(REFRESH_INTERVAL).await;
        assert_eq!(
            bot.refresh(1).await,
            Refreshed::Unchanged,
            "fetched, same value"
        );
        *store.value.lock().unwrap() = r#"{"slack_token":"bot-3"}"#.into();
        tokio::time::advance(REFRESH_INTERVAL).await;
        assert_eq!(bot.refresh(1).await, Refreshed::Renewed);
        assert_eq!(
            wiki.current().expose(),
            "wiki-2",
            "a key gone keeps its value"
        );
        assert_eq!(store.fetches.load(Ordering::SeqCst), 3);
        assert_eq!(literal.refresh(0).await, Refreshed::Unchanged);
    }

    #[tokio::test]
    async fn a_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one\n").unwrap();
        let secret = Secret::new("one", Source::Reference(Reference::File(path.clone())));
        Rotation::new(None, None).adopt("github.token", &secret);
        std::fs::write(&path, "two\n").unwrap();
        assert_eq!(secret.refresh(0).await, Refreshed::Renewed);
        assert_eq!(secret.current().expose(), "two");
    }
}

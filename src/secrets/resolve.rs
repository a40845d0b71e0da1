//! Resolving references: `env:`, `file:` and `credential:` read at once; every Secrets Manager secret id fetched once, however many keys refer to it, all ids at the same time.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::reference::Reference;
use super::store::SecretStore;

/// The variable systemd sets to the directory of a unit's `LoadCredential=` files.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";
/// Most JSON keys named when a key is missing.
const MAX_KEYS_SHOWN: usize = 20;

/// A reference's value, or why there is none (a message that starts with the reference and
/// never quotes a value).
pub type Resolution = Result<String, String>;

/// Resolves references against one environment and, for `aws-secretsmanager:`, one store.
pub struct Resolver {
    env: HashMap<String, String>,
    store: Option<Arc<dyn SecretStore>>,
}

impl Resolver {
    /// `env` is the environment the configuration was layered with.
    pub fn new(env: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            env: env.into_iter().collect(),
            store: None,
        }
    }

    /// Fetches `aws-secretsmanager:` references from `store` from now on.
    pub fn set_store(&mut self, store: Arc<dyn SecretStore>) {
        self.store = Some(store);
    }

    /// The store, for rotations that fetch again later.
    pub fn store(&self) -> Option<Arc<dyn SecretStore>> {
        self.store.clone()
    }

    /// `$CREDENTIALS_DIRECTORY`, when set.
    pub fn credentials_dir(&self) -> Option<PathBuf> {
        self.env
            .get(CREDENTIALS_DIRECTORY)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
    }

    /// A reference that needs no network (`env:`, `file:`, `credential:`), resolved now;
    /// `None` for a Secrets Manager reference.
    pub fn resolve_local(&self, reference: &Reference) -> Option<Resolution> {
        Some(match reference {
            Reference::Env(name) => match self.env.get(name).filter(|value| !value.is_empty()) {
                Some(value) => Ok(value.clone()),
                None => Err(format!(
                    "{reference}: the variable is not set (or is empty)"
                )),
            },
            Reference::File(path) => read_text(path).map_err(|why| format!("{reference}: {why}")),
            Reference::Credential(name) => self.credential(reference, name),
            Reference::SecretsManager { .. } => return None,
        })
    }

    fn credential(&self, reference: &Reference, name: &str) -> Resolution {
        let Some(dir) = self.credentials_dir() else {
            return Err(format!(
                "{reference}: ${CREDENTIALS_DIRECTORY} is not set; systemd sets it for a unit \
                 with LoadCredential={name}:/path/to/the/file (is the bot running outside systemd?)"
            ));
        };
        read_text(&dir.join(name)).map_err(|why| {
            format!(
                "{reference}: {why}; the unit needs LoadCredential={name}:/path/to/the/file \
                 (${CREDENTIALS_DIRECTORY} is {})",
                dir.display()
            )
        })
    }

    /// Resolves every reference, in order: the local ones at once, then each Secrets Manager
    /// secret id fetched once (all ids at the same time), its keys picked from that one answer.
    pub async fn resolve(&self, references: &[Reference]) -> Vec<Resolution> {
        let ids: Vec<&str> = {
            let mut ids: Vec<&str> = references.iter().filter_map(Reference::secret_id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let fetched = futures_util::future::join_all(ids.iter().map(|id| self.fetch(id))).await;
        let documents: HashMap<&str, Result<Document, String>> =
            ids.into_iter().zip(fetched).collect();
        references
            .iter()
            .map(|reference| match reference {
                Reference::SecretsManager { id, key } => match &documents[id.as_str()] {
                    Ok(document) => document.pick(id, key.as_deref()),
                    Err(why) => Err(why.clone()),
                },
                local => self
                    .resolve_local(local)
                    .expect("every other reference is local"),
            })
            .collect()
    }

    async fn fetch(&self, id: &str) -> Result<Document, String> {
        match &self.store {
            Some(store) => fetch_document(store.as_ref(), id).await,
            None => Err(format!(
                "aws-secretsmanager:{id} is not fetched by this loader: Secrets Manager is read \
                 when the bot runs (chatops-bot run, check, manifest)"
            )),
        }
    }
}

/// One GetSecretValue, its SecretString kept as is and, when it is a JSON object, as keys.
pub(super) async fn fetch_document(store: &dyn SecretStore, id: &str) -> Result<Document, String> {
    match store.secret_string(id).await {
        Ok(text) => Ok(Document::new(text)),
        Err(error) => Err(format!("aws-secretsmanager:{id} {error}")),
    }
}

/// A file's text without its trailing line breaks (`echo … > file` adds one).
pub(super) fn read_text(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim_end_matches(['\n', '\r']).to_owned()),
        Err(error) => Err(match error.kind() {
            io::ErrorKind::NotFound => "the file does not exist".to_owned(),
            io::ErrorKind::PermissionDenied => {
                "the file cannot be read: permission denied".to_owned()
            }
            io::ErrorKind::InvalidData => "the file is not UTF-8 text".to_owned(),
            _ => format!("the file cannot be read: {error}"),
        }),
    }
}

/// A secret's SecretString: the whole text, and its keys when it is a JSON object.
pub(super) struct Document {
    text: SecretString,
    keys: Option<BTreeMap<String, Value>>,
}

impl Document {
    pub(super) fn new(text: SecretString) -> Self {
        let keys = match serde_json::from_str::<Value>(text.expose_secret()) {
            Ok(Value::Object(map)) => Some(map.into_iter().collect()),
            _ => None,
        };
        Self { text, keys }
    }

    /// The whole SecretString (`key` `None`), or the string at `key`; numbers and booleans as
    /// written. Messages name keys, never values.
    pub(super) fn pick(&self, id: &str, key: Option<&str>) -> Resolution {
        let Some(key) = key else {
            return Ok(self.text.expose_secret().to_owned());
        };
        let Some(keys) = &self.keys else {
            return Err(format!(
                "aws-secretsmanager:{id} is not a JSON object, so it has no key {key:?}: write \
                 aws-secretsmanager:{id} without #{key} for the whole SecretString"
            ));
        };
        match keys.get(key) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            Some(Value::Bool(flag)) => Ok(flag.to_string()),
            Some(other) => Err(format!(
                "aws-secretsmanager:{id} key {key:?} holds {}, not a string",
                match other {
                    Value::Null => "null",
                    Value::Array(_) => "an array",
                    _ => "an object",
                }
            )),
            None => Err(format!(
                "aws-secretsmanager:{id} has no key {key:?} ({})",
                shown_keys(keys)
            )),
        }
    }
}

fn shown_keys(keys: &BTreeMap<String, Value>) -> String {
    if keys.is_empty() {
        return "it holds no keys".to_owned();
    }
    let mut names: Vec<&str> = keys
        .keys()
        .map(String::as_str)
        .take(MAX_KEYS_SHOWN)
        .collect();
    if keys.len() > MAX_KEYS_SHOWN {
        names.push("…");
    }
    format!("keys: {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Document {
        Document::new(SecretString::from(text.to_owned()))
    }

    #[test]
    fn keys_are_picked_and_misses_name_the_keys_not_the_values() {
        let secret = document(r#"{"slack_token":"xoxb-hidden-1","wiki_url":"https://w","port":8}"#);
        assert_eq!(secret.pick("s", Some("wiki_url")).unwrap(), "https://w");
        assert_eq!(secret.pick("s", Some("port")).unwrap(), "8");
        let miss = secret
            .pick("wn/chatops/secret", Some("slack_tokn"))
            .unwrap_err();
        assert_eq!(
            miss,
            "aws-secretsmanager:wn/chatops/secret has no key \"slack_tokn\" \
             (keys: port, slack_token, wiki_url)"
        );
        assert!(secret.pick("s", None).unwrap().contains("xoxb-hidden-1"));
    }

    #[test]
    fn a_plain_string_secret_has_no_keys() {
        let secret = document("xoxb-plain-hidden");
        assert_eq!(secret.pick("s", None).unwrap(), "xoxb-plain-hidden");
        let why = secret.pick("s", Some("k")).unwrap_err();
        assert!(
            why.contains("not a JSON object") && !why.contains("hidden"),
            "{why}"
        );
        let nested = document(r#"{"k":{"a":"hidden"}}"#).pick("s", Some("k"));
        assert!(nested.unwrap_err().contains("an object"));
    }

    #[test]
    fn local_references_say_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bot"), "xoxb-from-credential\n").unwrap();
        let env = [
            ("TOKEN".to_owned(), "xoxb-from-env".to_owned()),
            (
                CREDENTIALS_DIRECTORY.to_owned(),
                dir.path().display().to_string(),
            ),
        ];
        let resolver = Resolver::new(env);
        let local = |reference| resolver.resolve_local(&reference).unwrap();
        assert_eq!(
            local(Reference::Env("TOKEN".into())).unwrap(),
            "xoxb-from-env"
        );
        assert_eq!(
            local(Reference::Credential("bot".into())).unwrap(),
            "xoxb-from-credential"
        );
        let file = Reference::File(dir.path().join("bot"));
        assert_eq!(local(file).unwrap(), "xoxb-from-credential");
        let unset = local(Reference::Env("NOPE".into())).unwrap_err();
        assert_eq!(unset, "env:NOPE: the variable is not set (or is empty)");
        let missing = local(Reference::Credential("app".into())).unwrap_err();
        assert!(missing.contains("LoadCredential=app:"), "{missing}");
        let outside = Resolver::new([]).resolve_local(&Reference::Credential("app".into()));
        assert!(outside.unwrap().unwrap_err().contains("is not set"));
    }
}

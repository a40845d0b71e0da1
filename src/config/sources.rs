//! Where each secret, and each value written as a reference, came from (what `check` lists), and the warning for literal secrets in a file others can read.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{Config, GitHubAuth};
use crate::secrets::{Secret, Source};

/// Group and others may read (`mode & 0o044`).
const READABLE_BY_OTHERS: u32 = 0o044;

/// One key and where its value came from; never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueSource {
    /// The dotted key path, such as `slack.bot_token`.
    pub key: String,
    /// `aws-secretsmanager:wn/chatops/secret#slack_token`, `credential:slack_app_token`,
    /// `env:SLACK_BOT_TOKEN`, `literal in bot.toml`…
    pub source: String,
    /// Whether the key holds a secret (a token or a key).
    pub secret: bool,
}

impl Config {
    /// Every secret in the configuration, with its key path.
    pub fn secrets(&self) -> Vec<(&'static str, &Secret)> {
        let mut secrets = Vec::new();
        let slack = [
            ("slack.app_token", &self.slack.app_token),
            ("slack.bot_token", &self.slack.bot_token),
        ];
        for (key, secret) in slack {
            if let Some(secret) = secret {
                secrets.push((key, secret));
            }
        }
        if let Some(confluence) = &self.confluence {
            secrets.push(("confluence.api_token", &confluence.api_token));
        }
        match self.github.as_ref().map(|github| &github.auth) {
            Some(GitHubAuth::Token(token)) => secrets.push(("github.token", token)),
            Some(GitHubAuth::App { private_key, .. }) => {
                secrets.push(("github.private_key", private_key));
            }
            None => {}
        }
        secrets
    }

    /// Every secret key and every other key whose value was written as a reference, with where
    /// it came from, sorted by key. Never a value.
    pub fn sources(&self) -> Vec<ValueSource> {
        let mut sources: Vec<ValueSource> = self
            .secrets()
            .into_iter()
            .map(|(key, secret)| ValueSource {
                key: key.to_owned(),
                source: secret.source().to_string(),
                secret: true,
            })
            .collect();
        for (key, reference) in &self.references {
            if !sources.iter().any(|source| &source.key == key) {
                sources.push(ValueSource {
                    key: key.clone(),
                    source: reference.to_string(),
                    secret: false,
                });
            }
        }
        sources.sort_by(|a, b| a.key.cmp(&b.key));
        sources
    }

    /// One warning for each secret written as is in `file` when its group or others may read the
    /// file. Each names the key and the file, never the value.
    pub fn literal_secret_warnings(&self, file: &Path) -> Vec<String> {
        let Ok(metadata) = std::fs::metadata(file) else {
            return Vec::new();
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & READABLE_BY_OTHERS == 0 {
            return Vec::new();
        }
        self.secrets()
            .into_iter()
            .filter(|(_, secret)| matches!(secret.source(), Source::Literal { .. }))
            .map(|(key, _)| {
                format!(
                    "{key} is written as is in {}, which its group or others can read (mode \
                     {mode:04o}): chmod 600 the file, or move the secret out of it with \
                     credential:, file:, env: or aws-secretsmanager:",
                    file.display()
                )
            })
            .collect()
    }
}

//! Secrets Manager's rows: each secret id the config reads, and the keys that read it.

use std::collections::BTreeMap;

use super::ProbeResult;
use crate::config::Config;

/// The rows' name.
const SECRETS_MANAGER: &str = "Secrets Manager";

/// One ✓ row per secret id the config reads, naming the keys that read it; no row without
/// `aws-secretsmanager:` references. The config was loaded with every reference resolved (one
/// GetSecretValue per secret id, moments ago), so a secret that could not be read, or a key it
/// lacks, already stopped the check with a problem at its key: what is left to show is what
/// resolved.
pub(super) fn probe(config: &Config) -> Vec<ProbeResult> {
    let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, reference) in &config.references {
        if let Some(id) = reference.secret_id() {
            by_id.entry(id).or_default().push(key);
        }
    }
    by_id
        .into_iter()
        .map(|(id, keys)| {
            let plural = if keys.len() == 1 { "" } else { "s" };
            let detail = format!(
                "{id}: {} key{plural} resolved ({})",
                keys.len(),
                keys.join(", ")
            );
            ProbeResult::ok(SECRETS_MANAGER, detail)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::Status;
    use crate::secrets::Reference;

    #[test]
    fn one_row_per_secret_id_with_its_keys_and_none_without_references() {
        let mut config = Config::default();
        assert!(probe(&config).is_empty());
        let team = |key: &str| Reference::SecretsManager {
            id: "wn/chatops/secret".into(),
            key: Some(key.into()),
        };
        config.references.extend([
            ("slack.bot_token".to_owned(), team("slack_token")),
            ("confluence.base_url".to_owned(), team("wiki_url")),
            (
                "slack.app_token".to_owned(),
                Reference::Credential("app".into()),
            ),
        ]);
        let rows = probe(&config);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, Status::Ok);
        assert_eq!(
            rows[0].detail,
            "wn/chatops/secret: 2 keys resolved (confluence.base_url, slack.bot_token)"
        );
    }
}

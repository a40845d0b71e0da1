//! Loading with references resolved: after the merge and before the typed readers, every `env:`, `file:`, `credential:` and `aws-secretsmanager:` value is read, so problems keep their key paths and all are reported at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ::config::{Map, Value, ValueKind};
use url::Url;

use super::aws::{parse_endpoint_url, region_of_queue_url};
use super::errors::{ConfigErrors, ConfigProblem};
use super::references::{self, Found};
use super::vocabulary::looks_like_region_code;
use super::{load, Config, ProxySettings, Purpose};
use crate::secrets::{AwsTarget, Reference, Resolution, Resolver, Rotation, SecretStore};

impl Config {
    /// Loads `path` layered with `env`, resolving references; `connect` makes the store
    /// `aws-secretsmanager:` references are fetched from (called only when there are some).
    pub async fn load_resolved_with<C>(
        path: impl AsRef<Path>,
        env: impl IntoIterator<Item = (String, String)>,
        purpose: Purpose,
        connect: C,
    ) -> Result<Self, ConfigErrors>
    where
        C: FnOnce(AwsTarget) -> Arc<dyn SecretStore> + Send,
    {
        let (file, text) = super::read_text(path.as_ref())?;
        Self::resolve_from_str(&file, &text, env, purpose, connect).await
    }

    /// TOML `text` (named `file` in messages) layered with `env`, every reference resolved.
    pub async fn resolve_from_str<C>(
        file: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        purpose: Purpose,
        connect: C,
    ) -> Result<Self, ConfigErrors>
    where
        C: FnOnce(AwsTarget) -> Arc<dyn SecretStore> + Send,
    {
        let mut pending = Pending::new(file, text, env.into_iter().collect())?;
        pending.fetch_remote(connect).await;
        pending.finish(purpose)
    }
}

/// A configuration between the merge and the typed readers.
pub(super) struct Pending {
    file: String,
    tree: Map<String, Value>,
    problems: Vec<ConfigProblem>,
    /// `aws-secretsmanager:` references not resolved yet.
    remote: Vec<Found>,
    resolver: Resolver,
    references: BTreeMap<String, Reference>,
    /// The proxy variables of the same environment, read or found wrong.
    proxy: Result<ProxySettings, Vec<ConfigProblem>>,
}

impl Pending {
    /// Merges `text` with `env`, finds the references and resolves the local ones.
    pub(super) fn new(
        file: &str,
        text: &str,
        env: Vec<(String, String)>,
    ) -> Result<Self, ConfigErrors> {
        let mut tree = load::merge(text, env.iter().cloned()).map_err(|problem| ConfigErrors {
            file: file.to_owned(),
            problems: vec![problem],
        })?;
        let (found, mut problems) = references::find(&mut tree);
        let proxy = ProxySettings::from_env_vars(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let resolver = Resolver::new(env);
        let references = found
            .iter()
            .map(|found| (found.key.clone(), found.reference.clone()))
            .collect();
        let mut local = Vec::new();
        let mut remote = Vec::new();
        for found in found {
            match resolver.resolve_local(&found.reference) {
                Some(outcome) => local.push((found, outcome)),
                None => remote.push(found),
            }
        }
        problems.extend(references::apply(&mut tree, local));
        Ok(Self {
            file: file.to_owned(),
            tree,
            problems,
            remote,
            resolver,
            references,
            proxy,
        })
    }

    /// Every `aws-secretsmanager:` reference becomes a problem: `why` it is not fetched.
    pub(super) fn refuse_remote(&mut self, why: &str) {
        let refused = std::mem::take(&mut self.remote).into_iter().map(|found| {
            let message = format!("{}: {why}", found.reference);
            (found, Err(message))
        });
        let problems = references::apply(&mut self.tree, refused);
        self.problems.extend(problems);
    }

    /// Fetches every `aws-secretsmanager:` reference, one GetSecretValue per secret id, from the
    /// store `connect` makes for `aws.region` and `aws.endpoint_url`.
    async fn fetch_remote<C>(&mut self, connect: C)
    where
        C: FnOnce(AwsTarget) -> Arc<dyn SecretStore>,
    {
        let remote = std::mem::take(&mut self.remote);
        if remote.is_empty() {
            return;
        }
        let (own, remote): (Vec<Found>, Vec<Found>) = remote
            .into_iter()
            .partition(|found| found.key == "aws" || found.key.starts_with("aws."));
        let refused = own.into_iter().map(|found| {
            let message = format!(
                "{}: cannot come from Secrets Manager, as it says how Secrets Manager is \
                 reached; use env:, file: or credential: here",
                found.reference
            );
            (found, Err(message))
        });
        let problems = references::apply(&mut self.tree, refused);
        self.problems.extend(problems);
        let mut outcomes: Vec<(Found, Resolution)> = Vec::new();
        match aws_target(&self.tree) {
            Err(why) => outcomes.extend(remote.into_iter().map(|found| {
                let message = format!("{} was not fetched: {why}", found.reference);
                (found, Err(message))
            })),
            Ok(target) => {
                self.resolver.set_store(connect(target));
                let references: Vec<Reference> =
                    remote.iter().map(|found| found.reference.clone()).collect();
                let resolved = self.resolver.resolve(&references).await;
                outcomes.extend(remote.into_iter().zip(resolved));
            }
        }
        let problems = references::apply(&mut self.tree, outcomes);
        self.problems.extend(problems);
    }

    /// Reads the resolved tree; every problem, resolution's first, is reported at once. The
    /// config's secrets that came from a file, a credential or Secrets Manager can be fetched
    /// again after a refusal.
    pub(super) fn finish(self, purpose: Purpose) -> Result<Config, ConfigErrors> {
        let Self {
            file,
            tree,
            mut problems,
            remote,
            resolver,
            references,
            proxy,
        } = self;
        debug_assert!(remote.is_empty(), "fetched or refused before finishing");
        let rotation = Rotation::new(resolver.store(), resolver.credentials_dir());
        let proxy = proxy.unwrap_or_else(|more| {
            problems.extend(more);
            ProxySettings::default()
        });
        match Config::from_tree(tree, purpose, &file) {
            Ok(mut config) if problems.is_empty() => {
                config.references = references;
                config.proxy = proxy;
                for (key, secret) in config.secrets() {
                    rotation.adopt(key, secret);
                }
                Ok(config)
            }
            Ok(_) => Err(ConfigErrors { file, problems }),
            Err(typed) => {
                problems.extend(typed);
                Err(ConfigErrors { file, problems })
            }
        }
    }
}

/// Where Secrets Manager is: `aws.region` (else the region of `alarms.queue_url`, else the
/// SDK's default) and `aws.endpoint_url`. An unusable one of these is an error: fetching
/// elsewhere than configured would mislead.
fn aws_target(tree: &Map<String, Value>) -> Result<AwsTarget, String> {
    let own_endpoint = references::string_at(tree, "aws.endpoints.secretsmanager");
    let endpoint_url = match own_endpoint
        .map_or_else(|| string_setting(tree, "aws.endpoint_url"), |e| Ok(Some(e)))?
    {
        None => None,
        Some(raw) => Some(
            parse_endpoint_url(raw.to_owned())
                .map_err(|_| "aws.endpoint_url is not a usable URL (see its problem)")?,
        ),
    };
    let region = match string_setting(tree, "aws.region")? {
        Some(region) if looks_like_region_code(region) => Some(region.to_owned()),
        Some(_) => return Err("aws.region is not a region code (see its problem)".to_owned()),
        None => string_setting(tree, "alarms.queue_url")
            .ok()
            .flatten()
            .and_then(|url| Url::parse(url).ok())
            .and_then(|url| region_of_queue_url(&url).map(str::to_owned)),
    };
    Ok(AwsTarget {
        region,
        endpoint_url,
    })
}

/// The string at `path`: `None` when absent, an error when present but not a usable string.
fn string_setting<'t>(tree: &'t Map<String, Value>, path: &str) -> Result<Option<&'t str>, String> {
    if let Some(text) = references::string_at(tree, path) {
        return Ok(Some(text));
    }
    let (section, key) = path.split_once('.').unwrap_or((path, ""));
    let present = tree.get(section).is_some_and(|value| match &value.kind {
        ValueKind::Table(entries) => entries.contains_key(key),
        _ => false,
    });
    if present {
        Err(format!("{path} could not be read (see its problem)"))
    } else {
        Ok(None)
    }
}

//! Secrets: the `Secret` type, the references a config value may be (`env:`, `file:`, `credential:`, `aws-secretsmanager:`), and fetching them again after a refusal.
//!
//! A config string such as `"aws-secretsmanager:wn/chatops/secret#slack_token"` is a
//! [`Reference`]; the [`Resolver`] reads every reference of a configuration at start-up (one
//! GetSecretValue per secret id, through the [`SecretStore`] trait), and the config keeps each
//! secret as a [`Secret`]: its value, swappable while the bot runs, and its [`Source`], which is
//! all `Debug`, `Display` and `check` ever show. A [`Rotation`] lets a secret that an
//! integration refused be fetched again, at most once a minute per secret id or file.
//!
//! This module sits below `config` and imports no other module of the bot.

mod reference;
mod resolve;
mod rotation;
mod secret;
mod store;

pub use reference::{parse, Parsed, Reference, LITERAL_PREFIX};
pub use resolve::{Resolution, Resolver, CREDENTIALS_DIRECTORY};
pub use rotation::{Rotation, REFRESH_INTERVAL};
pub use secret::{Current, Refreshed, Secret, Source};
pub use store::{AwsTarget, SecretStore, SecretsManagerStore, StoreError, FETCH_TIMEOUT};

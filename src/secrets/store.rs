//! `SecretStore`: where `aws-secretsmanager:` references are fetched (GetSecretValue), with `SecretsManagerStore`, the real one, beside it.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use secrecy::SecretString;
use tokio::sync::OnceCell;
use url::Url;

/// How long one GetSecretValue may take, connecting and retries included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to Secrets Manager may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a secret's SecretString could not be had. Messages name what to fix; never a value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "does not exist (ResourceNotFoundException) in {region}: check the secret's name or ARN, \
         and aws.region"
    )]
    NotFound { region: String },
    #[error(
        "cannot be read (AccessDeniedException): the bot's role needs secretsmanager:GetSecretValue \
         on it, and kms:Decrypt when a customer-managed KMS key encrypts it"
    )]
    AccessDenied,
    #[error(
        "cannot be decrypted (DecryptionFailure): the bot's role needs kms:Decrypt on the \
         secret's KMS key"
    )]
    Decryption,
    #[error(
        "holds a binary value (SecretBinary), not text: store it as a SecretString (a JSON object \
         of strings)"
    )]
    Binary,
    #[error("was not fetched: Secrets Manager did not answer within {}", humantime::format_duration(*limit))]
    TimedOut { limit: Duration },
    #[error("was not fetched: {detail}")]
    Failed { detail: String },
}

/// Secret strings by secret id: the one trait the bot reads Secrets Manager through.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// The SecretString of the secret's current version (`AWSCURRENT`): one GetSecretValue.
    async fn secret_string(&self, id: &str) -> Result<SecretString, StoreError>;
}

/// Where the real store sends its calls: `aws.region` and `aws.endpoint_url`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsTarget {
    /// `None`: the SDK's default chain (`AWS_REGION`, the profile, instance metadata).
    pub region: Option<String>,
    pub endpoint_url: Option<Url>,
}

/// AWS Secrets Manager through aws-sdk-secretsmanager, with the standard credential chain.
/// The client is built on the first fetch, so a config without references never loads AWS
/// credentials for it.
pub struct SecretsManagerStore {
    target: AwsTarget,
    timeout: Duration,
    client: OnceCell<aws_sdk_secretsmanager::Client>,
}

impl SecretsManagerStore {
    pub fn new(target: AwsTarget) -> Self {
        Self {
            target,
            timeout: FETCH_TIMEOUT,
            client: OnceCell::new(),
        }
    }

    /// The same store with another bound on each fetch.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn client(&self) -> &aws_sdk_secretsmanager::Client {
        self.client
            .get_or_init(|| async {
                let timeouts = TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT.min(self.timeout))
                    .operation_timeout(self.timeout)
                    .build();
                let mut loader =
                    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
                if let Some(region) = &self.target.region {
                    loader = loader.region(Region::new(region.clone()));
                }
                // TODO(endpoints): aws.endpoints.secretsmanager, once it exists, wins over aws.endpoint_url.
                if let Some(endpoint) = &self.target.endpoint_url {
                    loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
                }
                aws_sdk_secretsmanager::Client::new(&loader.load().await)
            })
            .await
    }

    fn region(&self) -> String {
        self.target
            .region
            .clone()
            .unwrap_or_else(|| "the default region".to_owned())
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn secret_string(&self, id: &str) -> Result<SecretString, StoreError> {
        let fetch = async {
            let client = self.client().await;
            client.get_secret_value().secret_id(id).send().await
        };
        let output = match tokio::time::timeout(self.timeout, fetch).await {
            Err(_) => {
                return Err(StoreError::TimedOut {
                    limit: self.timeout,
                })
            }
            Ok(Err(error)) => return Err(self.describe(error)),
            Ok(Ok(output)) => output,
        };
        match (output.secret_string, output.secret_binary) {
            (Some(text), _) => Ok(SecretString::from(text)),
            (None, Some(_)) => Err(StoreError::Binary),
            (None, None) => Err(StoreError::Failed {
                detail: "the answer holds neither a SecretString nor a SecretBinary".to_owned(),
            }),
        }
    }
}

impl SecretsManagerStore {
    fn describe<E, R>(&self, error: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        if let SdkError::TimeoutError(_) = &error {
            return StoreError::TimedOut {
                limit: self.timeout,
            };
        }
        if let Some(service) = error.as_service_error() {
            match service.code() {
                Some("ResourceNotFoundException") => {
                    return StoreError::NotFound {
                        region: self.region(),
                    }
                }
                Some("AccessDeniedException") => return StoreError::AccessDenied,
                Some("DecryptionFailure") => return StoreError::Decryption,
                _ => {}
            }
        }
        StoreError::Failed {
            // The whole cause chain: service code and message, or the transport's error.
            detail: DisplayErrorContext(&error).to_string(),
        }
    }
}

//! The `[bedrock]` section: which Bedrock backend answers questions about alarms (an agent, an
//! AgentCore runtime or a model: `bedrock_backend.rs`), and its limits. The section absent
//! means the feature is off.

use std::time::Duration;

use url::Url;

use super::aws::{parse_endpoint_url, AwsConfig};
pub use super::bedrock_backend::{
    AgentBackend, AgentCoreBackend, Backend, Guardrail, ModelBackend, PromptSource, Temperature,
    DEFAULT_HISTORY_MAX_CHARS, DEFAULT_MAX_TOKENS, DEFAULT_SYSTEM_PROMPT,
};
use super::table::{nonzero, show_duration, within, Table};
use super::vocabulary::looks_like_region_code;

/// `[bedrock]`, once read: every default filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BedrockConfig {
    /// `bedrock.backend` and its own keys: who answers.
    pub backend: Backend,
    /// `bedrock.region`, else `aws.region`.
    pub region: String,
    /// `bedrock.endpoint_url`, else the backend's `aws.endpoints` entry
    /// (`bedrock_agent_runtime`, `bedrock_agentcore` or `bedrock_runtime`), else
    /// `aws.endpoint_url`.
    pub endpoint_url: Option<Url>,
    /// The overall limit for one answer, retries included.
    pub timeout: Duration,
    /// The longest wait for the response or for the next event of its stream. Below `timeout`.
    pub idle_timeout: Duration,
    /// Most answers being written at once; the rest wait in a queue.
    pub max_concurrent: usize,
    /// Most questions one user may ask in an hour.
    pub per_user_per_hour: u32,
    /// Most questions asked in one channel in an hour.
    pub per_channel_per_hour: u32,
}

/// Defaults of the optional keys.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_CONCURRENT: usize = 4;
pub const DEFAULT_PER_USER_PER_HOUR: u32 = 20;
pub const DEFAULT_PER_CHANNEL_PER_HOUR: u32 = 60;

impl BedrockConfig {
    /// Reads a present `[bedrock]` table. `aws` is `None` when `[aws]` was invalid (its problems
    /// are reported already), and then the region fallback is not judged.
    pub(crate) fn read(table: &mut Table, aws: Option<&AwsConfig>) -> Option<Self> {
        let backend = Backend::read(table);
        let region = table.string("region", check_region).optional();
        let endpoint_url = table.string("endpoint_url", parse_endpoint_url).optional();
        let timeout = table.duration("timeout", nonzero).or(DEFAULT_TIMEOUT);
        let idle_timeout = table
            .duration("idle_timeout", nonzero)
            .or(DEFAULT_IDLE_TIMEOUT);
        if let (Some(total), Some(idle)) = (timeout, idle_timeout) {
            if idle >= total {
                let message = format!(
                    "must be shorter than {} ({}), got {}",
                    table.key_path("timeout"),
                    show_duration(total),
                    show_duration(idle)
                );
                table.report("idle_timeout", message);
            }
        }
        let max_concurrent = table
            .integer("max_concurrent", within(1..=64))
            .or(DEFAULT_MAX_CONCURRENT);
        let per_user_per_hour = table
            .integer("per_user_per_hour", within(1..=10_000))
            .or(DEFAULT_PER_USER_PER_HOUR);
        let per_channel_per_hour = table
            .integer("per_channel_per_hour", within(1..=100_000))
            .or(DEFAULT_PER_CHANNEL_PER_HOUR);
        let region = match (region?, aws) {
            (Some(region), _) => Some(region),
            (None, Some(aws)) => aws.region.clone(),
            (None, None) => return None,
        };
        let Some(region) = region else {
            table.report(
                "region",
                "is required when [bedrock] is set and aws.region is not",
            );
            return None;
        };
        let backend = backend?;
        let endpoint_url =
            endpoint_url?.or_else(|| aws.and_then(|aws| aws.endpoint(backend.service()).cloned()));
        let idle_timeout = idle_timeout?;
        let timeout = timeout?;
        if idle_timeout >= timeout {
            return None;
        }
        Some(Self {
            backend,
            region,
            endpoint_url,
            timeout,
            idle_timeout,
            max_concurrent: max_concurrent?,
            per_user_per_hour: per_user_per_hour?,
            per_channel_per_hour: per_channel_per_hour?,
        })
    }
}

pub(super) fn check_region(region: String) -> Result<String, String> {
    if looks_like_region_code(&region) {
        Ok(region)
    } else {
        Err(format!(
            "must be a region code such as \"us-east-1\", got {region:?}"
        ))
    }
}

impl BedrockConfig {
    /// One line for `check` and the start-up log: which backend answers, and where.
    pub fn describe(&self) -> String {
        format!(
            "backend {:?}: {} in {}",
            self.backend.name(),
            self.backend.describe(),
            self.region
        )
    }
}

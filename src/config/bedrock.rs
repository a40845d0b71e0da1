//! The `[bedrock]` section: which Bedrock agent answers questions about alarms, and its limits.
//! The section absent means the feature is off.

use std::time::Duration;

use url::Url;

use super::aws::{parse_endpoint_url, AwsConfig, AwsService};
use super::table::{nonzero, show_duration, within, Table};
use super::vocabulary::looks_like_region_code;

/// The longest agent id and agent alias id InvokeAgent takes.
pub const MAX_AGENT_ID_LEN: usize = 10;

/// `[bedrock]`, once read: every default filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BedrockConfig {
    /// `bedrock.agent_id` (the team's secret calls it `bedrock_agent`).
    pub agent_id: String,
    /// `bedrock.agent_alias_id` (the secret's `bedrock_agent_alias`; `TSTALIASID` is the draft).
    pub agent_alias_id: String,
    /// `bedrock.region`, else `aws.region`.
    pub region: String,
    /// `bedrock.endpoint_url`, else `aws.endpoints.bedrock_agent_runtime`, else `aws.endpoint_url`.
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
        let agent_id = required(table, "agent_id");
        let agent_alias_id = required(table, "agent_alias_id");
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
        let endpoint_url = endpoint_url?
            .or_else(|| aws.and_then(|aws| aws.endpoint(AwsService::BedrockAgentRuntime).cloned()));
        let idle_timeout = idle_timeout?;
        let timeout = timeout?;
        if idle_timeout >= timeout {
            return None;
        }
        Some(Self {
            agent_id: agent_id?,
            agent_alias_id: agent_alias_id?,
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

/// An agent or alias id: required, 1..=10 letters and digits (InvokeAgent's pattern).
fn required(table: &mut Table, key: &str) -> Option<String> {
    match table.string(key, check_agent_id).optional()? {
        Some(id) => Some(id),
        None => {
            table.report(key, "is required when [bedrock] is set");
            None
        }
    }
}

fn check_agent_id(id: String) -> Result<String, String> {
    let id_ok = !id.is_empty()
        && id.len() <= MAX_AGENT_ID_LEN
        && id.chars().all(|c| c.is_ascii_alphanumeric());
    if id_ok {
        Ok(id)
    } else {
        Err(format!(
            "must be 1 to {MAX_AGENT_ID_LEN} letters and digits (as in the Bedrock console), \
             got {id:?}"
        ))
    }
}

fn check_region(region: String) -> Result<String, String> {
    if looks_like_region_code(&region) {
        Ok(region)
    } else {
        Err(format!(
            "must be a region code such as \"us-east-1\", got {region:?}"
        ))
    }
}

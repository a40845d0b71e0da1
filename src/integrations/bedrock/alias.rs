//! `check --live` against Bedrock's control plane: GetAgentAlias (aws-sdk-bedrockagent) says
//! whether the configured agent and alias exist, and the alias's status. Nothing is invoked.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::Region;
use aws_sdk_bedrockagent::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::error::{bedrock_arn_in, AgentTarget};
use crate::config::{AgentBackend, BedrockConfig};

/// The alias as the control plane describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AliasInfo {
    pub name: String,
    /// `PREPARED`, `CREATING`, `UPDATING`, `FAILED`, `DELETING`, `DISSOCIATED`.
    pub status: String,
    /// `ACCEPT_INVOCATIONS` or `REJECT_INVOCATIONS`, when AWS says.
    pub invocation_state: Option<String>,
    /// Why the alias failed, when it did.
    pub failure_reasons: Vec<String>,
}

impl AliasInfo {
    /// Whether InvokeAgent can use the alias as it is.
    pub fn usable(&self) -> bool {
        self.status == "PREPARED" && self.invocation_state.as_deref() != Some("REJECT_INVOCATIONS")
    }

    /// Whether the alias is on its way to usable (being created or updated).
    pub fn settling(&self) -> bool {
        matches!(self.status.as_str(), "CREATING" | "UPDATING")
    }
}

/// Why the alias could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AliasCheckError {
    /// ResourceNotFoundException: the agent or the alias is not there, in this region.
    #[error("{} not found in {}", target.describe(), target.region())]
    NotFound { target: AgentTarget, detail: String },
    /// AccessDeniedException: the credentials lack bedrock:GetAgentAlias.
    #[error("access denied: the bot's credentials need bedrock:GetAgentAlias on {resource}")]
    AccessDenied { resource: String, detail: String },
    #[error("GetAgentAlias failed: {detail}")]
    Failed { detail: String },
}

/// GetAgentAlias for `bedrock`'s agent and alias at `endpoint` (`None`: the control plane's
/// own regional endpoint), within `timeout`, without retries.
pub async fn agent_alias(
    sdk: &aws_config::SdkConfig,
    bedrock: &BedrockConfig,
    agent: &AgentBackend,
    endpoint: Option<&url::Url>,
    timeout: Duration,
) -> Result<AliasInfo, AliasCheckError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(timeout)
        .operation_timeout(timeout)
        .build();
    let mut config = aws_sdk_bedrockagent::config::Builder::from(sdk)
        .region(Region::new(bedrock.region.clone()))
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    let client = aws_sdk_bedrockagent::Client::from_conf(config.build());
    let target = AgentTarget::Agent {
        agent_id: agent.agent_id.clone(),
        agent_alias_id: agent.agent_alias_id.clone(),
        region: bedrock.region.clone(),
    };
    let output = client
        .get_agent_alias()
        .agent_id(&agent.agent_id)
        .agent_alias_id(&agent.agent_alias_id)
        .send()
        .await
        .map_err(|error| {
            let detail = error.message().unwrap_or_default().to_owned();
            match error.code() {
                Some("ResourceNotFoundException") => AliasCheckError::NotFound {
                    target: target.clone(),
                    detail,
                },
                Some("AccessDeniedException") => AliasCheckError::AccessDenied {
                    resource: bedrock_arn_in(&detail).unwrap_or_else(|| target.resource_arn()),
                    detail,
                },
                _ => AliasCheckError::Failed {
                    detail: DisplayErrorContext(&error).to_string(),
                },
            }
        })?;
    let Some(alias) = output.agent_alias() else {
        return Err(AliasCheckError::Failed {
            detail: "GetAgentAlias answered without an alias".to_owned(),
        });
    };
    Ok(AliasInfo {
        name: alias.agent_alias_name().to_owned(),
        status: alias.agent_alias_status().as_str().to_owned(),
        invocation_state: alias
            .alias_invocation_state()
            .map(|state| state.as_str().to_owned()),
        failure_reasons: alias.failure_reasons().to_vec(),
    })
}

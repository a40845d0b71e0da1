//! `AgentError`: why an answer failed, in variants a caller branches on, each with one short
//! message that says what to check. Messages carry ids, regions and AWS's own error text, never
//! credentials.

use std::time::Duration;

use aws_sdk_bedrockagentruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Which backend a call went to, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentTarget {
    /// A Bedrock agent alias (InvokeAgent).
    Agent {
        agent_id: String,
        agent_alias_id: String,
        region: String,
    },
    /// An AgentCore runtime (InvokeAgentRuntime).
    Runtime {
        runtime_arn: String,
        qualifier: Option<String>,
        region: String,
    },
    /// A model or inference profile (ConverseStream).
    Model { model_id: String, region: String },
}

impl AgentTarget {
    /// The region it is called in.
    pub fn region(&self) -> &str {
        match self {
            AgentTarget::Agent { region, .. }
            | AgentTarget::Runtime { region, .. }
            | AgentTarget::Model { region, .. } => region,
        }
    }

    /// The IAM action an answer needs.
    pub fn action(&self) -> &'static str {
        match self {
            AgentTarget::Agent { .. } => "bedrock:InvokeAgent",
            AgentTarget::Runtime { .. } => "bedrock-agentcore:InvokeAgentRuntime",
            AgentTarget::Model { .. } => "bedrock:InvokeModelWithResponseStream",
        }
    }

    /// What it is, for messages: "agent alias A of agent B", "AgentCore runtime arn:…",
    /// "model m".
    pub fn describe(&self) -> String {
        match self {
            AgentTarget::Agent {
                agent_id,
                agent_alias_id,
                ..
            } => format!("agent alias {agent_alias_id} of agent {agent_id}"),
            AgentTarget::Runtime {
                runtime_arn,
                qualifier,
                ..
            } => match qualifier {
                Some(qualifier) => {
                    format!("AgentCore runtime {runtime_arn} (endpoint {qualifier})")
                }
                None => format!("AgentCore runtime {runtime_arn}"),
            },
            AgentTarget::Model { model_id, .. } => format!("model {model_id}"),
        }
    }

    /// The resource the IAM policy must name. The account is not known to the bot, so it reads
    /// `<account>`: `arn:<partition>:bedrock:<region>:<account>:agent-alias/<agent>/<alias>`,
    /// the runtime's own ARN, `arn:<partition>:bedrock:<region>::foundation-model/<id>` or, for
    /// an inference profile id (`us.…`, `eu.…`, `global.…`),
    /// `arn:<partition>:bedrock:<region>:<account>:inference-profile/<id>`.
    pub fn resource_arn(&self) -> String {
        let region = self.region();
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        match self {
            AgentTarget::Agent {
                agent_id,
                agent_alias_id,
                ..
            } => format!(
                "arn:{partition}:bedrock:{region}:<account>:agent-alias/{agent_id}/{agent_alias_id}"
            ),
            AgentTarget::Runtime { runtime_arn, .. } => runtime_arn.clone(),
            AgentTarget::Model { model_id, .. } if model_id.starts_with("arn:") => model_id.clone(),
            AgentTarget::Model { model_id, .. } if is_inference_profile(model_id) => {
                format!("arn:{partition}:bedrock:{region}:<account>:inference-profile/{model_id}")
            }
            AgentTarget::Model { model_id, .. } => {
                format!("arn:{partition}:bedrock:{region}::foundation-model/{model_id}")
            }
        }
    }
}

/// A cross-region inference profile id starts with its geography: `us.`, `eu.`, `apac.`, …
fn is_inference_profile(model_id: &str) -> bool {
    let Some((prefix, rest)) = model_id.split_once('.') else {
        return false;
    };
    rest.contains('.')
        && ["us", "eu", "apac", "global", "us-gov", "ca", "jp", "au"].contains(&prefix)
}

/// Why the agent gave no (complete) answer.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The agent, runtime or model does not exist in the region (resourceNotFoundException).
    #[error("{} not found in {}", target.describe(), target.region())]
    NotFound { target: AgentTarget, detail: String },
    /// The bot's role may not call it (accessDeniedException). `resource` is the ARN AWS named
    /// in its message, or one built from the config.
    #[error("access denied: the bot's role needs {action} on {resource}")]
    AccessDenied {
        action: &'static str,
        resource: String,
        detail: String,
    },
    /// The account has not been given access to the model in this region.
    #[error(
        "model {model_id} is not enabled in {region}: enable model access (Bedrock console → \
         Model access)"
    )]
    ModelNotEnabled { model_id: String, region: String },
    /// Still throttled after `attempts` tries, or throttled after part of the answer was sent
    /// (`after_text`: a retry would repeat the text already shown, so it is not retried).
    #[error("{}", throttled_message(*attempts, *after_text))]
    Throttled { attempts: u32, after_text: bool },
    /// The whole answer took longer than `timeout`.
    #[error("the agent did not finish within {}", show(*limit))]
    TimedOut { limit: Duration },
    /// Nothing arrived for `idle_timeout`.
    #[error("the agent sent nothing for {}", show(*idle))]
    Stalled { idle: Duration },
    /// The request was refused as malformed (validationException, conflictException, a bad
    /// session id): a bug or a misconfiguration on our side.
    #[error("the agent refused the request: {detail}")]
    Invalid { detail: String },
    /// Anything else: the agent's dependencies, a 5xx, the connection.
    #[error("the agent failed: {detail}")]
    Upstream { detail: String },
}

impl AgentError {
    /// The one short, human line to show in Slack: what went wrong and what to check.
    pub fn human_message(&self) -> String {
        self.to_string()
    }

    /// Whether another attempt may succeed (only throttling, and only before any text).
    pub(super) fn is_retryable_throttle(&self) -> bool {
        matches!(
            self,
            Self::Throttled {
                after_text: false,
                ..
            }
        )
    }
}

/// The service's error kinds that change what the caller is told.
pub(super) enum Kind {
    NotFound,
    AccessDenied,
    Throttled,
    Invalid,
    Other,
}

impl Kind {
    /// The kind of an exception named by its code (`throttlingException`, `ThrottlingException`).
    pub(super) fn of_code(code: &str) -> Kind {
        let code = code.to_ascii_lowercase();
        if code.contains("throttl") {
            Kind::Throttled
        } else if code.contains("accessdenied") {
            Kind::AccessDenied
        } else if code.contains("resourcenotfound") {
            Kind::NotFound
        } else if code.contains("validation") || code.contains("conflict") {
            Kind::Invalid
        } else {
            Kind::Other
        }
    }
}

/// The error for a failed call of any of the three SDKs: a service error sorted by `kind_of`
/// (its kind, and a name to show when AWS's metadata carries no code: an in-stream exception's
/// metadata comes from its JSON payload, which rarely names it); anything else (a timeout, a
/// lost connection) is `Upstream` with the whole cause chain.
pub(super) fn from_sdk<E, R>(
    error: SdkError<E, R>,
    target: &AgentTarget,
    after_text: bool,
    kind_of: impl FnOnce(&E) -> (Kind, Option<&'static str>),
) -> AgentError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let Some(service) = error.as_service_error() else {
        let detail = format!("{}", DisplayErrorContext(&error));
        return AgentError::Upstream { detail };
    };
    let (kind, name) = kind_of(service);
    let code = service.code().or(name);
    classified(kind, code, service.message(), target, after_text)
}

/// The error for a service failure of `kind`, with AWS's code and message.
pub(super) fn classified(
    kind: Kind,
    code: Option<&str>,
    message: Option<&str>,
    target: &AgentTarget,
    after_text: bool,
) -> AgentError {
    let message = message.unwrap_or("no message").to_owned();
    if let AgentTarget::Model { model_id, region } = target {
        let lower = message.to_ascii_lowercase();
        let not_enabled = match kind {
            Kind::AccessDenied => lower.contains("access to the model"),
            Kind::NotFound => lower.contains("use case"),
            _ => false,
        };
        if not_enabled {
            return AgentError::ModelNotEnabled {
                model_id: model_id.clone(),
                region: region.clone(),
            };
        }
        if matches!(kind, Kind::Invalid) && lower.contains("model identifier is invalid") {
            return AgentError::NotFound {
                target: target.clone(),
                detail: message,
            };
        }
    }
    match kind {
        Kind::NotFound => AgentError::NotFound {
            target: target.clone(),
            detail: message,
        },
        Kind::AccessDenied => AgentError::AccessDenied {
            action: target.action(),
            resource: bedrock_arn_in(&message).unwrap_or_else(|| target.resource_arn()),
            detail: message,
        },
        Kind::Throttled => AgentError::Throttled {
            attempts: 1,
            after_text,
        },
        Kind::Invalid => AgentError::Invalid { detail: message },
        Kind::Other => AgentError::Upstream {
            detail: match code {
                Some(code) => format!("{code}: {message}"),
                None => message,
            },
        },
    }
}

fn throttled_message(attempts: u32, after_text: bool) -> String {
    if after_text {
        "the agent was throttled in the middle of the answer; the text above is incomplete, \
         ask again in a minute"
            .to_owned()
    } else {
        format!("the agent is throttled (gave up after {attempts} attempts); try again in a minute")
    }
}

fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// The Bedrock ARN in an AWS access-denied message ("User: arn:aws:sts::… is not authorized to
/// perform: bedrock:InvokeAgent on resource: arn:aws:bedrock:…"): the first `arn:…:bedrock:…` word.
pub(super) fn bedrock_arn_in(message: &str) -> Option<String> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '(' | ')'))
        .map(|word| word.trim_end_matches('.'))
        .find(|word| {
            word.starts_with("arn:")
                && (word.contains(":bedrock:") || word.contains(":bedrock-agentcore:"))
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> AgentTarget {
        AgentTarget::Agent {
            agent_id: "AGENT1".into(),
            agent_alias_id: "TSTALIASID".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn messages_say_what_to_check() {
        let not_found = AgentError::NotFound {
            target: target(),
            detail: "x".into(),
        };
        assert_eq!(
            not_found.human_message(),
            "agent alias TSTALIASID of agent AGENT1 not found in us-east-1"
        );
        let denied = AgentError::AccessDenied {
            action: target().action(),
            resource: target().resource_arn(),
            detail: String::new(),
        };
        assert_eq!(
            denied.human_message(),
            "access denied: the bot's role needs bedrock:InvokeAgent on \
             arn:aws:bedrock:us-east-1:<account>:agent-alias/AGENT1/TSTALIASID"
        );
        let stalled = AgentError::Stalled {
            idle: Duration::from_secs(30),
        };
        assert_eq!(stalled.human_message(), "the agent sent nothing for 30 s");
        let short = AgentError::Stalled {
            idle: Duration::from_millis(300),
        };
        assert_eq!(short.human_message(), "the agent sent nothing for 300 ms");
    }

    #[test]
    fn arn_is_taken_from_the_aws_message() {
        let message = "User: arn:aws:sts::123456789012:assumed-role/bot/i is not authorized to \
                       perform: bedrock:InvokeAgent on resource: \
                       arn:aws:bedrock:us-east-1:123456789012:agent-alias/AGENT1/TSTALIASID";
        let resource = bedrock_arn_in(message);
        assert_eq!(
            resource.as_deref(),
            Some("arn:aws:bedrock:us-east-1:123456789012:agent-alias/AGENT1/TSTALIASID")
        );
        assert_eq!(bedrock_arn_in("no arn: here arn:aws:sts::1:x"), None);
    }

    #[test]
    fn partitions_follow_the_region() {
        let china = AgentTarget::Agent {
            agent_id: "AGENT1".into(),
            agent_alias_id: "TSTALIASID".into(),
            region: "cn-north-1".into(),
        };
        assert!(china
            .resource_arn()
            .starts_with("arn:aws-cn:bedrock:cn-north-1:"));
    }

    #[test]
    fn model_resources_are_foundation_models_or_inference_profiles() {
        let model = |id: &str| AgentTarget::Model {
            model_id: id.into(),
            region: "us-east-1".into(),
        };
        assert_eq!(
            model("anthropic.claude-3-5-haiku-20241022-v1:0").resource_arn(),
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        assert_eq!(
            model("us.anthropic.claude-3-5-haiku-20241022-v1:0").resource_arn(),
            "arn:aws:bedrock:us-east-1:<account>:inference-profile/\
             us.anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        let not_enabled = classified(
            Kind::AccessDenied,
            None,
            Some("You don't have access to the model with the specified model ID."),
            &model("anthropic.claude-v2"),
            false,
        );
        assert_eq!(
            not_enabled.human_message(),
            "model anthropic.claude-v2 is not enabled in us-east-1: enable model access \
             (Bedrock console → Model access)"
        );
    }
}

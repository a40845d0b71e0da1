//! AWS's rows: the alarm queue and its dead-letter queue (SQS), the Bedrock backend (the agent
//! alias through GetAgentAlias; an AgentCore runtime or a model are not probed without
//! `--invoke`, and the row says why), and with `--invoke` one real question to the backend.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{show_duration, ProbeResult};
use url::Url;

use crate::config::{AgentBackend, AwsService, Backend, BedrockConfig, Config};
use crate::integrations::bedrock::{
    agent_alias, connect, AgentError, AgentRequest, AliasCheckError, RetryBackoff, SessionId,
};
use crate::notify::queue_health::{inspect, DeadLetter, Depth, QueueCheckError};

pub(super) const QUEUE: &str = "SQS alarm queue";
const DLQ: &str = "SQS dead-letter queue";
pub(super) const ALIAS: &str = "Bedrock agent alias";
const RUNTIME: &str = "Bedrock AgentCore runtime";
const MODEL: &str = "Bedrock model";
pub(super) const INVOKE: &str = "Bedrock invocation";
pub(super) const HINT: &str = "check the network path to AWS (proxy, VPC endpoint, security \
     group) and the endpoint overrides (aws.endpoints.*, aws.endpoint_url, bedrock.endpoint_url)";

/// The one word the agent is asked with `--invoke`.
const INVOKE_WORD: &str = "ping";

const CREDENTIALS: &str = "check the bot's AWS credentials: the instance role, AWS_PROFILE, or \
     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// GetQueueAttributes on `alarms.queue_url`, then on its dead-letter queue.
pub(super) async fn queue(config: &Config) -> Vec<ProbeResult> {
    let Some(queue_url) = &config.alarms.queue_url else {
        return vec![ProbeResult::skipped(
            QUEUE,
            "not configured (alarms.queue_url is not set)",
        )];
    };
    let Some(region) = config.aws.region.as_deref() else {
        return vec![ProbeResult::fail(
            QUEUE,
            "aws.region is not set",
            "set aws.region to the queue's region",
        )];
    };
    let endpoint = config.aws.endpoint(AwsService::Sqs);
    let sdk = crate::notify::sqs::sdk_config(region, endpoint, &config.proxy).await;
    let name = queue_url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or(queue_url.as_str())
        .to_owned();
    let health = match inspect(&sdk, queue_url.as_str()).await {
        Ok(health) => health,
        Err(error) => {
            let fix = queue_fix(&error, region);
            return vec![ProbeResult::fail(QUEUE, error.to_string(), fix)];
        }
    };
    let queue_row = ProbeResult::ok(QUEUE, format!("{name}: {}", depth(health.depth)));
    let dlq_row = match health.dead_letter {
        DeadLetter::NotSet => ProbeResult::warn(
            DLQ,
            format!("no dead-letter queue: {name} has no redrive policy"),
            Some(
                "give the queue a redrive policy (maxReceiveCount 5, say) to a dead-letter \
                 queue, so an alarm that keeps failing is kept instead of coming back until \
                 it expires"
                    .to_owned(),
            ),
        ),
        DeadLetter::Found {
            name: dlq,
            max_receive_count,
            depth: dlq_depth,
        } => {
            let after = max_receive_count
                .map(|count| format!(" after {count} receives"))
                .unwrap_or_default();
            let held = dlq_depth.waiting + dlq_depth.in_flight;
            if held == 0 {
                ProbeResult::ok(DLQ, format!("{dlq}: empty (a message goes there{after})"))
            } else {
                ProbeResult::warn(
                    DLQ,
                    format!("{dlq} holds {held} message(s) that failed{after}"),
                    Some(format!(
                        "read them in the SQS console, fix the cause, then redrive them to \
                         {name}"
                    )),
                )
            }
        }
        DeadLetter::Unreadable { arn, error } => {
            let fix = queue_fix(&error, region);
            ProbeResult::fail(DLQ, format!("{arn}: {error}"), fix)
        }
    };
    vec![queue_row, dlq_row]
}

fn depth(depth: Depth) -> String {
    format!("{} waiting, {} in flight", depth.waiting, depth.in_flight)
}

fn queue_fix(error: &QueueCheckError, region: &str) -> String {
    match error {
        QueueCheckError::NotFound { .. } => format!(
            "check alarms.queue_url and aws.region ({region}): the queue must exist in that \
             region, in the account of the bot's credentials"
        ),
        QueueCheckError::AccessDenied { action, .. } => format!(
            "allow {action} on the queue in the bot's IAM policy (the bot also needs \
             sqs:ReceiveMessage, sqs:DeleteMessage and sqs:ChangeMessageVisibility)"
        ),
        QueueCheckError::Credentials { .. } => CREDENTIALS.to_owned(),
        QueueCheckError::Failed { .. } => format!("{HINT}; {CREDENTIALS}"),
    }
}

/// GetAgentAlias on the configured agent and alias.
async fn alias_row(
    config: &Config,
    bedrock: &BedrockConfig,
    agent: &AgentBackend,
    limit: Duration,
) -> ProbeResult {
    let sdk = bedrock_sdk(config, bedrock).await;
    let endpoint = control_plane_endpoint(config, bedrock);
    let ids = format!("{}/{}", agent.agent_id, agent.agent_alias_id);
    match agent_alias(&sdk, bedrock, agent, endpoint, limit).await {
        Ok(alias) => {
            let accepts = match alias.invocation_state.as_deref() {
                Some("REJECT_INVOCATIONS") => ", rejects invocations",
                Some(_) => ", accepts invocations",
                None => "",
            };
            let detail = format!("{ids} ({}) {}{accepts}", alias.name, alias.status);
            if alias.usable() {
                ProbeResult::ok(ALIAS, detail)
            } else if alias.settling() {
                ProbeResult::warn(
                    ALIAS,
                    detail,
                    Some("wait until the alias is PREPARED, then check again".to_owned()),
                )
            } else {
                let reasons = if alias.failure_reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", alias.failure_reasons.join("; "))
                };
                ProbeResult::fail(
                    ALIAS,
                    format!("{detail}{reasons}"),
                    "prepare the agent and point the alias at a prepared version (Bedrock \
                     console → Agents → the agent → Aliases), and let it accept invocations",
                )
            }
        }
        Err(error) => {
            let fix = match &error {
                AliasCheckError::NotFound { .. } => not_found_fix(bedrock),
                AliasCheckError::AccessDenied { resource, .. } => format!(
                    "allow bedrock:GetAgentAlias on {resource} (only `check --live` needs it; \
                     the bot itself needs bedrock:InvokeAgent there)"
                ),
                AliasCheckError::Failed { .. } => format!("{HINT}; {CREDENTIALS}"),
            };
            ProbeResult::fail(ALIAS, error.to_string(), fix)
        }
    }
}

/// The backend's own row: GetAgentAlias for an agent; for the other two, what was not probed.
pub(super) async fn alias(config: &Config, limit: Duration) -> Vec<ProbeResult> {
    let Some(bedrock) = &config.bedrock else {
        return vec![ProbeResult::not_configured("Bedrock agent", "[bedrock]")];
    };
    let row = match &bedrock.backend {
        Backend::Agent(agent) => alias_row(config, bedrock, agent, limit).await,
        Backend::AgentCore(runtime) => ProbeResult::skipped(
            RUNTIME,
            format!(
                "{} not probed: GetAgentRuntime needs the AgentCore control-plane SDK, which \
                 the bot does not carry; `--invoke` sends one real request",
                runtime.runtime_arn
            ),
        ),
        Backend::Model(model) => ProbeResult::skipped(
            MODEL,
            format!(
                "{} not probed: GetFoundationModel and GetInferenceProfile need the Bedrock \
                 control-plane SDK, which the bot does not carry, and model access is only \
                 seen by invoking; `--invoke` asks the model one word",
                model.model_id
            ),
        ),
    };
    vec![row]
}

fn not_found_fix(bedrock: &BedrockConfig) -> String {
    match &bedrock.backend {
        Backend::Agent(_) => format!(
            "check bedrock.agent_id, bedrock.agent_alias_id and the region ({}): the agent and \
             its alias must exist there",
            bedrock.region
        ),
        Backend::AgentCore(_) => format!(
            "check bedrock.agent_runtime_arn, bedrock.qualifier and the region ({}): the \
             runtime and its endpoint must exist there",
            bedrock.region
        ),
        Backend::Model(_) => format!(
            "check bedrock.model_id and the region ({}): the model (or inference profile) must \
             be offered there",
            bedrock.region
        ),
    }
}

/// With `--invoke`, one word to the agent through the bot's own `Agent`; without, a row that
/// says why it did not run.
pub(super) async fn invoke(config: &Config, invoke: bool) -> Vec<ProbeResult> {
    let Some(bedrock) = &config.bedrock else {
        return Vec::new();
    };
    if !invoke {
        return vec![ProbeResult::skipped(
            INVOKE,
            "not run: `--invoke` asks the agent one word (a real, billed invocation)",
        )];
    }
    let sdk = bedrock_sdk(config, bedrock).await;
    let agent = connect(&sdk, bedrock, None, RetryBackoff::default());
    let session = SessionId::parse(&format!("chatops-check-{}", uuid::Uuid::new_v4()))
        .unwrap_or_else(|| SessionId::for_thread("check", "live"));
    let request = AgentRequest {
        session_id: session,
        input_text: INVOKE_WORD.to_owned(),
        session_attributes: BTreeMap::new(),
        alarm: None,
    };
    let (pieces, _unread) = tokio::sync::mpsc::unbounded_channel();
    let row = match agent.ask(request, pieces).await {
        Ok(answer) => ProbeResult::ok(
            INVOKE,
            format!(
                "asked {INVOKE_WORD:?}, answered in {}: {}",
                show_duration(answer.duration),
                excerpt(&answer.text)
            ),
        ),
        Err(error) => {
            let fix = match &error {
                AgentError::NotFound { .. } => not_found_fix(bedrock),
                AgentError::AccessDenied {
                    action, resource, ..
                } => format!("allow {action} on {resource} in the bot's IAM policy"),
                AgentError::ModelNotEnabled { .. } => "request access to the model in the \
                    Bedrock console (Model access) in this region, or pick a model that is \
                    enabled"
                    .to_owned(),
                _ => format!("{HINT}; {CREDENTIALS}"),
            };
            ProbeResult::fail(INVOKE, error.human_message(), fix)
        }
    };
    vec![row]
}

/// The answer on one line, at most 60 characters.
fn excerpt(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 60 {
        format!("“{line}”")
    } else {
        let cut: String = line.chars().take(59).collect();
        format!("“{cut}…”")
    }
}

/// The agent's AWS configuration, as the daemon builds it (app.rs): its own region and the
/// proxy routes; the clients take their endpoints themselves (`bedrock.endpoint_url` for the
/// runtime, [`control_plane_endpoint`] for GetAgentAlias).
async fn bedrock_sdk(config: &Config, bedrock: &BedrockConfig) -> aws_config::SdkConfig {
    crate::egress::aws::aws_config_loader(&bedrock.region, &config.proxy)
        .load()
        .await
}

/// Where GetAgentAlias goes: `aws.endpoints.bedrock_agent`; else `bedrock.endpoint_url` when
/// it is not the runtime's VPC endpoint (`aws.endpoints.bedrock_agent_runtime`, another
/// service), e.g. a fake serving both APIs; else `aws.endpoint_url`; else Bedrock's own.
fn control_plane_endpoint<'a>(config: &'a Config, bedrock: &'a BedrockConfig) -> Option<&'a Url> {
    let runtime_vpc_endpoint = config.aws.endpoints.get(&AwsService::BedrockAgentRuntime);
    let own = bedrock
        .endpoint_url
        .as_ref()
        .filter(|url| Some(*url) != runtime_vpc_endpoint);
    config
        .aws
        .endpoints
        .get(&AwsService::BedrockAgent)
        .or(own)
        .or(config.aws.endpoint_url.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Purpose;

    fn endpoint_for_alias(aws: &str, bedrock: &str) -> Option<String> {
        let text = format!(
            "[aws]\nregion = \"eu-west-1\"\n{aws}\n[bedrock]\nagent_id = \"A1\"\n\
             agent_alias_id = \"TSTALIASID\"\n{bedrock}"
        );
        let config = Config::load_from_str("inline", &text, Vec::new(), Purpose::Manifest)
            .unwrap_or_else(|errors| panic!("{errors}"));
        let bedrock = config.bedrock.as_ref().unwrap();
        control_plane_endpoint(&config, bedrock).map(|url| url.to_string())
    }

    #[test]
    fn get_agent_alias_never_goes_to_the_runtimes_vpc_endpoint() {
        let runtime = "[aws.endpoints]\nbedrock_agent_runtime = \"https://vpce-r.example\"\n";
        assert_eq!(
            endpoint_for_alias(runtime, ""),
            None,
            "Bedrock's own control plane"
        );
        let both = "endpoint_url = \"http://127.0.0.1:4566\"\n[aws.endpoints]\n\
                    bedrock_agent_runtime = \"https://vpce-r.example\"\n";
        assert_eq!(
            endpoint_for_alias(both, "").as_deref(),
            Some("http://127.0.0.1:4566/")
        );
        let control = "[aws.endpoints]\nbedrock_agent = \"https://vpce-c.example\"\n";
        let own = "endpoint_url = \"http://127.0.0.1:4567\"\n";
        assert_eq!(
            endpoint_for_alias(control, own).as_deref(),
            Some("https://vpce-c.example/")
        );
        assert_eq!(
            endpoint_for_alias("", own).as_deref(),
            Some("http://127.0.0.1:4567/"),
            "a fake serving both APIs"
        );
    }
}

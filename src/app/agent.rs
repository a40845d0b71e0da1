//! Wiring of the agent: the `Agent` backend for `[bedrock]`, the conversations that use it, and CloudWatch for the alarm's own data in its prompt.

use std::sync::Arc;

use anyhow::Context as _;
use tracing::info;

use crate::config::{AwsService, Config};
use crate::conversation::evidence::EVIDENCE_BUDGET;
use crate::conversation::Conversations;
use crate::integrations::bedrock::{self, Agent, RetryBackoff};
use crate::integrations::cloudwatch::{AlarmEvidence, CloudWatchEvidence};
use crate::slack::messenger::Messenger;
use crate::store::answers::AnswerLog;
use crate::store::model_turns::ModelTurns;
use crate::store::{Blocking, SqliteStore};
use crate::telemetry::instrumented::Instrumented;
use crate::telemetry::latency::Latencies;
use crate::telemetry::metrics::Metrics;

/// The Bedrock backend `bedrock.backend` names, when `[bedrock]` is set: it answers questions
/// and writes report summaries. Chosen here, once; nothing above knows which it is.
pub(super) async fn agent(
    config: &Config,
    store: &Arc<SqliteStore>,
    metrics: &Metrics,
) -> Option<Arc<dyn Agent>> {
    let bedrock = config.bedrock.as_ref()?;
    // Its own AWS config: the SQS one bounds each attempt for long polls, which would cut a
    // streamed answer short. Each backend sets the region, endpoint and timeouts.
    let sdk = crate::egress::aws::aws_config_loader(&bedrock.region, &config.proxy)
        .load()
        .await;
    let turns = Blocking::new(store.clone() as Arc<dyn ModelTurns>);
    let agent = bedrock::connect(&sdk, bedrock, Some(turns), RetryBackoff::default());
    Some(Arc::new(Instrumented::new(
        agent,
        metrics.integrations.clone(),
    )))
}

/// The conversations with the agent, when `[bedrock]` is set.
pub(super) async fn conversations(
    config: &Config,
    agent: Option<Arc<dyn Agent>>,
    slack: Arc<dyn Messenger>,
    store: &Arc<SqliteStore>,
    latencies: &Latencies,
) -> anyhow::Result<Option<Arc<Conversations>>> {
    let (Some(bedrock), Some(agent)) = (&config.bedrock, agent) else {
        info!("[bedrock] is not set: the agent is off.");
        return Ok(None);
    };
    let answers: Arc<dyn AnswerLog> = store.clone();
    let answers = Blocking::new(answers);
    let alarm_data = alarm_data(config, &bedrock.region).await;
    let conversations = Conversations::new(
        agent,
        slack,
        answers,
        bedrock,
        latencies.clone(),
        alarm_data,
    )
    .await
    .context("Failed to start the agent conversations")?;
    info!(backend = bedrock.backend.name(), target = %bedrock.describe(), "Bedrock on.");
    Ok(Some(conversations))
}

/// CloudWatch for the alarm's own data in the agent's prompt: with alarms on and
/// `alarms.agent_data` (the default). Each call is bounded well inside the 2 s budget.
async fn alarm_data(config: &Config, region: &str) -> Option<Arc<dyn AlarmEvidence>> {
    if config.alarms.queue_url.is_none() || !config.alarms.agent_data {
        return None;
    }
    let region = config.aws.region.as_deref().unwrap_or(region);
    let sdk = crate::egress::aws::aws_config_loader(region, &config.proxy)
        .load()
        .await;
    let endpoint = config.aws.endpoint(AwsService::CloudWatch);
    let evidence = CloudWatchEvidence::new(&sdk, endpoint, EVIDENCE_BUDGET);
    Some(Arc::new(evidence))
}

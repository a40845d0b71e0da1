//! The three Bedrock backends for tests that run every scenario against each: a backend's
//! `[bedrock]` keys (or typed config) pointed at one `FakeBedrock`, which speaks all three
//! APIs, and what the bot says of it in its messages. `each_backend!` makes one test per
//! backend from one scenario function.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockagentruntime::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};
use chatops_bot::config::{
    AgentBackend, AgentCoreBackend, Backend, BedrockConfig, ModelBackend, PromptSource,
    DEFAULT_HISTORY_MAX_CHARS, DEFAULT_MAX_TOKENS, DEFAULT_SYSTEM_PROMPT,
};
use chatops_bot::integrations::bedrock::{connect, Agent, RetryBackoff, SessionId};
use chatops_bot::store::model_turns::ModelTurns;
use chatops_bot::store::{Blocking, SqliteStore};
use chatops_sandbox::bedrock::{FakeApi, FakeBedrock, RuntimeResponse};

pub const AGENT_ID: &str = "AGENT1";
pub const AGENT_ALIAS_ID: &str = "TSTALIASID";
pub const RUNTIME_ARN: &str =
    "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/chatops_agent-AbC123xyz";
pub const QUALIFIER: &str = "live";
pub const MODEL_ID: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

/// `[bedrock]` for `backend` at `fake`, in us-east-1, with the given limits.
pub fn bedrock_config(
    backend: Backend,
    fake: &FakeBedrock,
    timeout: Duration,
    idle_timeout: Duration,
) -> BedrockConfig {
    BedrockConfig {
        backend,
        region: "us-east-1".into(),
        endpoint_url: Some(fake.endpoint_url().parse().expect("the fake's URL parses")),
        timeout,
        idle_timeout,
        max_concurrent: 4,
        per_user_per_hour: 20,
        per_channel_per_hour: 60,
    }
}

/// The backend `config` names, as the bot's wiring builds it (test credentials, short
/// retries), keeping the model's turns in `turns`.
pub fn connect_to(config: &BedrockConfig, turns: Arc<SqliteStore>) -> Arc<dyn Agent> {
    let credentials = Credentials::new("AKIDSANDBOX", "sandbox-secret", None, None, "tests");
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build();
    let turns: Arc<dyn ModelTurns> = turns;
    connect(
        &sdk,
        config,
        Some(Blocking::new(turns)),
        RetryBackoff {
            first: Duration::from_millis(20),
            max: Duration::from_millis(100),
            max_attempts: 5,
        },
    )
}

/// Asks `agent` and collects every piece sent while the answer streamed; the answer must end
/// within 20 s.
pub async fn ask(
    agent: &Arc<dyn Agent>,
    request: chatops_bot::integrations::bedrock::AgentRequest,
) -> (
    Result<
        chatops_bot::integrations::bedrock::AgentAnswer,
        chatops_bot::integrations::bedrock::AgentError,
    >,
    Vec<String>,
) {
    let (pieces_tx, mut pieces_rx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = tokio::time::timeout(Duration::from_secs(20), agent.ask(request, pieces_tx))
        .await
        .expect("ask ends on its own");
    let mut pieces = Vec::new();
    while let Ok(piece) = pieces_rx.try_recv() {
        pieces.push(piece);
    }
    (outcome, pieces)
}

/// A backend, and for AgentCore how the runtime answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Agent,
    AgentCoreSse,
    AgentCoreJson,
    Model,
}

impl BackendKind {
    /// Whether text arrives while the answer is written (not for a whole JSON answer).
    pub fn streams(self) -> bool {
        self != BackendKind::AgentCoreJson
    }

    /// The API the fake records its requests under.
    pub fn api(self) -> FakeApi {
        match self {
            BackendKind::Agent => FakeApi::InvokeAgent,
            BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => FakeApi::InvokeAgentRuntime,
            BackendKind::Model => FakeApi::ConverseStream,
        }
    }

    /// Sets the fake up to answer the way this backend's service does.
    pub fn prepare(self, fake: &FakeBedrock) {
        let response = match self {
            BackendKind::AgentCoreJson => RuntimeResponse::WholeJson,
            _ => RuntimeResponse::EventStream,
        };
        fake.set_runtime_response(response);
    }

    /// Its keys in `[bedrock]`.
    pub fn toml(self) -> String {
        match self {
            BackendKind::Agent => {
                format!("agent_id = \"{AGENT_ID}\"\nagent_alias_id = \"{AGENT_ALIAS_ID}\"\n")
            }
            BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => format!(
                "backend = \"agentcore\"\nagent_runtime_arn = \"{RUNTIME_ARN}\"\n\
                 qualifier = \"{QUALIFIER}\"\n"
            ),
            BackendKind::Model => format!("backend = \"model\"\nmodel_id = \"{MODEL_ID}\"\n"),
        }
    }

    /// Its typed config, with every default.
    pub fn config(self) -> Backend {
        match self {
            BackendKind::Agent => Backend::Agent(AgentBackend {
                agent_id: AGENT_ID.into(),
                agent_alias_id: AGENT_ALIAS_ID.into(),
            }),
            BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => {
                Backend::AgentCore(AgentCoreBackend {
                    runtime_arn: RUNTIME_ARN.into(),
                    qualifier: Some(QUALIFIER.into()),
                })
            }
            BackendKind::Model => Backend::Model(ModelBackend {
                model_id: MODEL_ID.into(),
                system_prompt: DEFAULT_SYSTEM_PROMPT.into(),
                prompt_source: PromptSource::Default,
                max_tokens: DEFAULT_MAX_TOKENS,
                temperature: None,
                guardrail: None,
                history_max_chars: DEFAULT_HISTORY_MAX_CHARS,
            }),
        }
    }

    /// The session id the fake records for the bot's session `session`.
    pub fn session_sent(self, session: &str) -> String {
        match self {
            BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => SessionId::parse(session)
                .expect("a valid session id")
                .runtime_session_id(),
            _ => session.to_owned(),
        }
    }

    /// What the bot calls it in messages ("… not found in us-east-1").
    pub fn described(self) -> String {
        match self {
            BackendKind::Agent => format!("agent alias {AGENT_ALIAS_ID} of agent {AGENT_ID}"),
            BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => {
                format!("AgentCore runtime {RUNTIME_ARN} (endpoint {QUALIFIER})")
            }
            BackendKind::Model => format!("model {MODEL_ID}"),
        }
    }

    /// The IAM action an answer needs.
    pub fn action(self) -> &'static str {
        match self {
            BackendKind::Agent => "bedrock:InvokeAgent",
            BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => {
                "bedrock-agentcore:InvokeAgentRuntime"
            }
            BackendKind::Model => "bedrock:InvokeModelWithResponseStream",
        }
    }

    /// The resource the bot names when AWS's message names none (`account` for the account).
    pub fn resource(self, account: &str) -> String {
        match self {
            BackendKind::Agent => format!(
                "arn:aws:bedrock:us-east-1:{account}:agent-alias/{AGENT_ID}/{AGENT_ALIAS_ID}"
            ),
            BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => RUNTIME_ARN.to_owned(),
            BackendKind::Model => format!("arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}"),
        }
    }
}

/// `each_backend!(scenario)`: a module named after the scenario with one `#[tokio::test]` per
/// backend (`agent`, `agentcore_sse`, `agentcore_json`, `model`), each calling
/// `scenario(BackendKind::…)`. `each_backend!(scenario, streaming)` leaves out the whole-JSON
/// AgentCore answer, for scenarios about text arriving while it is written.
#[macro_export]
macro_rules! each_backend {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn agent() {
                super::$scenario(super::BackendKind::Agent).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn agentcore_sse() {
                super::$scenario(super::BackendKind::AgentCoreSse).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn agentcore_json() {
                super::$scenario(super::BackendKind::AgentCoreJson).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn model() {
                super::$scenario(super::BackendKind::Model).await
            }
        }
    };
    ($scenario:ident, streaming) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn agent() {
                super::$scenario(super::BackendKind::Agent).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn agentcore_sse() {
                super::$scenario(super::BackendKind::AgentCoreSse).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn model() {
                super::$scenario(super::BackendKind::Model).await
            }
        }
    };
}

//! `bedrock.backend` and the keys of each backend: an agent (InvokeAgent), an AgentCore runtime
//! (InvokeAgentRuntime) or a model (ConverseStream). A key of another backend is a problem.

use std::path::PathBuf;

use super::aws::AwsService;
use super::table::{within, Table};

/// The longest agent id and agent alias id InvokeAgent takes.
pub const MAX_AGENT_ID_LEN: usize = 10;
/// `bedrock.max_tokens` when not set.
pub const DEFAULT_MAX_TOKENS: u32 = 2048;
/// `bedrock.history_max_chars` when not set: the earlier turns a follow-up sends.
pub const DEFAULT_HISTORY_MAX_CHARS: usize = 20_000;

/// The `model` backend's system prompt when neither `system_prompt` nor `system_prompt_file`
/// is set (bot.toml shows it).
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are an experienced site reliability engineer \
helping an on-call team in Slack. You are given a CloudWatch alarm (its name, state, metric, \
threshold and recent history) and questions about it. Give the most likely causes first, \
ranked, each with the evidence for it; then what to check first, as concrete steps (console \
pages, CLI commands, metrics, logs); then how to mitigate. Say plainly what you cannot know \
from the data given, and never invent metrics, log lines or resource names. Be brief: short \
paragraphs and lists in Markdown, no greeting, no closing remarks.";

const AGENT_KEYS: [&str; 2] = ["agent_id", "agent_alias_id"];
const AGENTCORE_KEYS: [&str; 2] = ["agent_runtime_arn", "qualifier"];
const MODEL_KEYS: [&str; 8] = [
    "model_id",
    "system_prompt",
    "system_prompt_file",
    "max_tokens",
    "temperature",
    "guardrail_id",
    "guardrail_version",
    "history_max_chars",
];

/// Who answers: one of three backends, each with its own keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `"agent"`: a Bedrock agent (Agents Classic) through InvokeAgent.
    Agent(AgentBackend),
    /// `"agentcore"`: an agent hosted in AgentCore Runtime, through InvokeAgentRuntime.
    AgentCore(AgentCoreBackend),
    /// `"model"`: a model (or inference profile) through ConverseStream.
    Model(ModelBackend),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentBackend {
    /// `bedrock.agent_id` (the team's secret calls it `bedrock_agent`).
    pub agent_id: String,
    /// `bedrock.agent_alias_id` (the secret's `bedrock_agent_alias`; `TSTALIASID` is the draft).
    pub agent_alias_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentCoreBackend {
    /// `bedrock.agent_runtime_arn`.
    pub runtime_arn: String,
    /// `bedrock.qualifier`: an endpoint name or version; `None` is the runtime's default.
    pub qualifier: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelBackend {
    /// `bedrock.model_id`: a model id, an inference profile id or an ARN.
    pub model_id: String,
    /// The system prompt's text, from `system_prompt`, `system_prompt_file` or the default.
    pub system_prompt: String,
    /// Where the system prompt came from.
    pub prompt_source: PromptSource,
    pub max_tokens: u32,
    pub temperature: Option<Temperature>,
    pub guardrail: Option<Guardrail>,
    /// The most characters of earlier turns a follow-up sends (oldest dropped first).
    pub history_max_chars: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptSource {
    Default,
    Inline,
    File(PathBuf),
}

/// `bedrock.temperature`, 0 to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Temperature(pub f32);

impl Eq for Temperature {}

/// `bedrock.guardrail_id` and `bedrock.guardrail_version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guardrail {
    pub id: String,
    pub version: String,
}

impl Backend {
    /// Reads `bedrock.backend` (default: `agent` when `agent_id` is set, else the backend
    /// whose main key is set, else `agent`) and that backend's keys; the keys of the other
    /// two are reported.
    pub(super) fn read(table: &mut Table) -> Option<Self> {
        let named = table.string("backend", check_backend_name).optional();
        let name = named.flatten().unwrap_or(if table.has("agent_id") {
            "agent"
        } else if table.has("agent_runtime_arn") {
            "agentcore"
        } else if table.has("model_id") {
            "model"
        } else {
            "agent"
        });
        for (owner, keys) in [
            ("agent", &AGENT_KEYS[..]),
            ("agentcore", &AGENTCORE_KEYS[..]),
            ("model", &MODEL_KEYS[..]),
        ] {
            if owner == name {
                continue;
            }
            for key in keys {
                table.reject(
                    key,
                    format!("belongs to bedrock.backend = {owner:?}, but the backend is {name:?}"),
                );
            }
        }
        let backend = match name {
            "agentcore" => read_agentcore(table).map(Backend::AgentCore),
            "model" => read_model(table).map(Backend::Model),
            _ => read_agent(table).map(Backend::Agent),
        };
        // An invalid `backend` was reported; the keys were still read, so none is "unknown".
        named.and(backend)
    }

    /// `"agent"`, `"agentcore"` or `"model"`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Agent(_) => "agent",
            Backend::AgentCore(_) => "agentcore",
            Backend::Model(_) => "model",
        }
    }

    /// The AWS service its answers come from (its key in `[aws.endpoints]`).
    pub fn service(&self) -> AwsService {
        match self {
            Backend::Agent(_) => AwsService::BedrockAgentRuntime,
            Backend::AgentCore(_) => AwsService::BedrockAgentCore,
            Backend::Model(_) => AwsService::BedrockRuntime,
        }
    }

    /// What it calls, for `check` and logs.
    pub fn describe(&self) -> String {
        match self {
            Backend::Agent(agent) => format!(
                "InvokeAgent on agent {} alias {}",
                agent.agent_id, agent.agent_alias_id
            ),
            Backend::AgentCore(runtime) => format!(
                "InvokeAgentRuntime on {} ({})",
                runtime.runtime_arn,
                match &runtime.qualifier {
                    Some(qualifier) => format!("endpoint {qualifier}"),
                    None => "its default endpoint".to_owned(),
                }
            ),
            Backend::Model(model) => format!(
                "ConverseStream on {} (max_tokens {}{}, history {} chars, system prompt {}{})",
                model.model_id,
                model.max_tokens,
                match model.temperature {
                    Some(Temperature(t)) => format!(", temperature {t}"),
                    None => String::new(),
                },
                model.history_max_chars,
                match &model.prompt_source {
                    PromptSource::Default => "the default".to_owned(),
                    PromptSource::Inline => "from bedrock.system_prompt".to_owned(),
                    PromptSource::File(path) => format!("from {}", path.display()),
                },
                match &model.guardrail {
                    Some(guardrail) => {
                        format!(", guardrail {} v{}", guardrail.id, guardrail.version)
                    }
                    None => String::new(),
                }
            ),
        }
    }
}

fn check_backend_name(name: String) -> Result<&'static str, String> {
    match name.as_str() {
        "agent" => Ok("agent"),
        "agentcore" => Ok("agentcore"),
        "model" => Ok("model"),
        _ => Err(format!(
            "must be \"agent\", \"agentcore\" or \"model\", got {name:?}"
        )),
    }
}

fn read_agent(table: &mut Table) -> Option<AgentBackend> {
    let agent_id = required(table, "agent_id", check_agent_id);
    let agent_alias_id = required(table, "agent_alias_id", check_agent_id);
    Some(AgentBackend {
        agent_id: agent_id?,
        agent_alias_id: agent_alias_id?,
    })
}

fn read_agentcore(table: &mut Table) -> Option<AgentCoreBackend> {
    let runtime_arn = required(table, "agent_runtime_arn", check_runtime_arn);
    let qualifier = table.string("qualifier", check_qualifier).optional();
    Some(AgentCoreBackend {
        runtime_arn: runtime_arn?,
        qualifier: qualifier?,
    })
}

fn read_model(table: &mut Table) -> Option<ModelBackend> {
    let model_id = required(table, "model_id", check_model_id);
    let inline = table.string("system_prompt", check_prompt).optional();
    let file = table
        .string("system_prompt_file", |raw| Ok(PathBuf::from(raw)))
        .optional();
    let max_tokens = table
        .integer("max_tokens", within(1..=200_000))
        .or(DEFAULT_MAX_TOKENS);
    let temperature = table.float("temperature", check_temperature).optional();
    let guardrail_id = table.string("guardrail_id", check_guardrail_id).optional();
    let guardrail_version = table
        .string("guardrail_version", check_guardrail_version)
        .optional();
    let history_max_chars = table
        .integer("history_max_chars", within(0..=1_000_000))
        .or(DEFAULT_HISTORY_MAX_CHARS);
    let (system_prompt, prompt_source) = match (inline?, file?) {
        (Some(_), Some(_)) => {
            table.report(
                "system_prompt_file",
                format!(
                    "cannot be set together with {}: keep one",
                    table.key_path("system_prompt")
                ),
            );
            return None;
        }
        (Some(text), None) => (text, PromptSource::Inline),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => (text, PromptSource::File(path)),
            Ok(_) => {
                table.report("system_prompt_file", format!("{} is empty", path.display()));
                return None;
            }
            Err(error) => {
                table.report(
                    "system_prompt_file",
                    format!("cannot read {}: {error}", path.display()),
                );
                return None;
            }
        },
        (None, None) => (DEFAULT_SYSTEM_PROMPT.to_owned(), PromptSource::Default),
    };
    let guardrail = match (guardrail_id?, guardrail_version?) {
        (Some(id), Some(version)) => Some(Guardrail { id, version }),
        (None, None) => None,
        (Some(_), None) => {
            let message = format!("is required when {} is set", table.key_path("guardrail_id"));
            table.report("guardrail_version", message);
            return None;
        }
        (None, Some(_)) => {
            let other = table.key_path("guardrail_version");
            table.report("guardrail_id", format!("is required when {other} is set"));
            return None;
        }
    };
    Some(ModelBackend {
        model_id: model_id?,
        system_prompt,
        prompt_source,
        max_tokens: max_tokens?,
        temperature: temperature?,
        guardrail,
        history_max_chars: history_max_chars?,
    })
}

/// A key the backend cannot do without.
fn required<T>(
    table: &mut Table,
    key: &str,
    check: impl FnOnce(String) -> Result<T, String>,
) -> Option<T> {
    match table.string(key, check).optional()? {
        Some(value) => Some(value),
        None => {
            table.report(key, "is required when [bedrock] is set");
            None
        }
    }
}

/// An agent or alias id: 1..=10 letters and digits (InvokeAgent's pattern).
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

/// `arn:<partition>:bedrock-agentcore:<region>:<account>:runtime/<id>`.
fn check_runtime_arn(arn: String) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "bedrock-agentcore"
        && !parts[3].is_empty()
        && parts[5].starts_with("runtime/")
        && parts[5].len() > "runtime/".len();
    if ok {
        Ok(arn)
    } else {
        Err(format!(
            "must be an AgentCore runtime ARN such as \
             \"arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-abc123\", \
             got {arn:?}"
        ))
    }
}

/// An endpoint name or a version: 1..=48 letters, digits and underscores.
fn check_qualifier(qualifier: String) -> Result<String, String> {
    let ok = (1..=48).contains(&qualifier.len())
        && qualifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(qualifier)
    } else {
        Err(format!(
            "must be an endpoint name or version (letters, digits, _), got {qualifier:?}"
        ))
    }
}

fn check_model_id(id: String) -> Result<String, String> {
    let ok = (1..=2048).contains(&id.len()) && !id.chars().any(char::is_whitespace);
    if ok {
        Ok(id)
    } else {
        Err(format!(
            "must be a model id, an inference profile id or an ARN, such as \
             \"anthropic.claude-3-5-haiku-20241022-v1:0\", got {id:?}"
        ))
    }
}

fn check_prompt(text: String) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty (leave it out for the default prompt)".to_owned())
    } else {
        Ok(text)
    }
}

fn check_temperature(value: f64) -> Result<Temperature, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(Temperature(value as f32))
    } else {
        Err(format!("must be between 0 and 1, got {value}"))
    }
}

fn check_guardrail_id(id: String) -> Result<String, String> {
    let ok = (1..=2048).contains(&id.len()) && !id.chars().any(char::is_whitespace);
    if ok {
        Ok(id)
    } else {
        Err(format!("must be a guardrail id or ARN, got {id:?}"))
    }
}

fn check_guardrail_version(version: String) -> Result<String, String> {
    let ok = version == "DRAFT"
        || (!version.is_empty()
            && version.len() <= 8
            && version.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(version)
    } else {
        Err(format!(
            "must be \"DRAFT\" or a version number such as \"1\", got {version:?}"
        ))
    }
}

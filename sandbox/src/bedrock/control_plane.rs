//! The fake's Bedrock Agents control plane, as far as `check --live` reads it: GetAgentAlias
//! (`GET /agents/{agentId}/agentaliases/{agentAliasId}/`, REST JSON), answered from the aliases
//! the fake knows; an unknown pair is `ResourceNotFoundException` (404).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::bedrock::server::error_response;
use crate::bedrock::shared::{lock, Shared};
use crate::bedrock::FakeBedrock;

/// The agent the fake knows from the start, with its draft alias (bot.toml's example ids).
pub const FAKE_AGENT_ID: &str = "AGENT12345";
pub const FAKE_AGENT_ALIAS_ID: &str = "TSTALIASID";

/// One alias the fake knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FakeAlias {
    pub(crate) agent_id: String,
    pub(crate) alias_id: String,
    /// `PREPARED`, `CREATING`, `FAILED`…
    pub(crate) status: String,
}

impl FakeAlias {
    pub(crate) fn prepared(agent_id: &str, alias_id: &str) -> Self {
        Self {
            agent_id: agent_id.to_owned(),
            alias_id: alias_id.to_owned(),
            status: "PREPARED".to_owned(),
        }
    }
}

pub(crate) async fn get_agent_alias(
    State(shared): State<Arc<Shared>>,
    Path((agent_id, alias_id)): Path<(String, String)>,
) -> Response {
    lock(&shared.alias_lookups).push((agent_id.clone(), alias_id.clone()));
    let known = lock(&shared.aliases)
        .iter()
        .find(|alias| alias.agent_id == agent_id && alias.alias_id == alias_id)
        .cloned();
    let Some(alias) = known else {
        return error_response(
            404,
            "ResourceNotFoundException",
            &format!("Agent Alias {alias_id} of agent {agent_id} does not exist."),
        );
    };
    let now = "2026-01-05T09:00:00Z";
    Json(json!({
        "agentAlias": {
            "agentId": alias.agent_id,
            "agentAliasId": alias.alias_id,
            "agentAliasName": if alias.alias_id == FAKE_AGENT_ALIAS_ID { "AgentTestAlias" } else { "live" },
            "agentAliasArn": format!(
                "arn:aws:bedrock:eu-west-1:123456789012:agent-alias/{}/{}",
                alias.agent_id, alias.alias_id
            ),
            "agentAliasStatus": alias.status,
            "aliasInvocationState": "ACCEPT_INVOCATIONS",
            "routingConfiguration": [{ "agentVersion": "1" }],
            "createdAt": now,
            "updatedAt": now,
        }
    }))
    .into_response()
}

impl FakeBedrock {
    /// Makes GetAgentAlias find `alias_id` of `agent_id` with `status` (`PREPARED`, `CREATING`,
    /// `FAILED`…), replacing what the fake knew of that pair.
    pub fn add_agent_alias(&self, agent_id: &str, alias_id: &str, status: &str) {
        let mut aliases = lock(&self.shared.aliases);
        aliases.retain(|alias| !(alias.agent_id == agent_id && alias.alias_id == alias_id));
        aliases.push(FakeAlias {
            status: status.to_owned(),
            ..FakeAlias::prepared(agent_id, alias_id)
        });
    }

    /// Forgets every alias, [`FAKE_AGENT_ALIAS_ID`] of [`FAKE_AGENT_ID`] included.
    pub fn clear_agent_aliases(&self) {
        lock(&self.shared.aliases).clear();
    }

    /// Every GetAgentAlias asked so far, as (agent id, alias id).
    pub fn alias_lookups(&self) -> Vec<(String, String)> {
        lock(&self.shared.alias_lookups).clone()
    }
}

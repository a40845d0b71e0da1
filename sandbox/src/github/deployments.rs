//! The fake's GitHub Deployments: one per successful deploy run (or seeded), each with statuses,
//! newest last; a newer success makes the older successes `inactive`, as GitHub does.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::github::runs::stamp;

/// One deployment and its statuses (oldest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeDeployment {
    pub id: u64,
    pub environment: String,
    /// `payload.version`; `None` makes the payload empty (the client falls back to `ref`).
    pub version: Option<String>,
    pub git_ref: String,
    pub created_at: OffsetDateTime,
    /// (state, at), oldest first.
    pub statuses: Vec<(String, OffsetDateTime)>,
}

impl FakeDeployment {
    /// The latest status's state.
    pub fn state(&self) -> Option<&str> {
        self.statuses.last().map(|(state, _)| state.as_str())
    }

    pub(crate) fn to_json(&self, repo: &str, api: &str) -> Value {
        let payload = match &self.version {
            Some(version) => json!({"version": version}),
            None => json!({}),
        };
        json!({
            "id": self.id,
            "url": format!("{api}/repos/{repo}/deployments/{}", self.id),
            "ref": self.git_ref,
            "sha": "0000000000000000000000000000000000000000",
            "task": "deploy",
            "environment": self.environment,
            "payload": payload,
            "creator": {"login": "github-actions[bot]", "type": "Bot"},
            "created_at": stamp(self.created_at),
            "updated_at": stamp(self.created_at),
        })
    }

    /// Statuses newest first, as `GET …/deployments/{id}/statuses` shows them.
    pub(crate) fn statuses_json(&self, per_page: usize) -> Value {
        let statuses: Vec<Value> = self
            .statuses
            .iter()
            .enumerate()
            .rev()
            .take(per_page)
            .map(|(index, (state, at))| {
                json!({"id": self.id * 100 + index as u64, "state": state,
                       "environment": self.environment, "created_at": stamp(*at)})
            })
            .collect();
        Value::Array(statuses)
    }
}

/// Every deployment, in creation order.
#[derive(Default)]
pub(crate) struct Deployments {
    pub(crate) all: Vec<FakeDeployment>,
}

impl Deployments {
    /// Records a deployment with one status; a `success` makes older successes of the
    /// environment `inactive`.
    pub(crate) fn record(
        &mut self,
        id: u64,
        environment: &str,
        version: Option<String>,
        state: &str,
        at: OffsetDateTime,
    ) {
        if state == "success" {
            for older in self.all.iter_mut().filter(|d| d.environment == environment) {
                if older.state() == Some("success") {
                    older.statuses.push(("inactive".to_owned(), at));
                }
            }
        }
        self.all.push(FakeDeployment {
            id,
            environment: environment.to_owned(),
            git_ref: "main".to_owned(),
            version,
            created_at: at,
            statuses: vec![(state.to_owned(), at)],
        });
    }
}

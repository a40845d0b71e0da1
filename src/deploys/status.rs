//! `/<prefix>-status [env]`: per environment the current version (GitHub's deployments, else
//! the bot's own records), any request in progress or waiting, and the linked alarms firing;
//! and `/<prefix>-status audit [n]`, the audit trail, for approvers only.

use std::time::SystemTime;

use time::OffsetDateTime;

use super::command::EnvName;
use super::policy::Audience;
use super::service::{DeployError, Deploys};
use crate::integrations::github::{DeploymentRecord, DeploymentState};
use crate::slack::message::{escape, Block, Message, Mrkdwn};
use crate::slack::time_text::{format_duration, format_time};
use crate::store::deploys::{AuditEntry, DeployState};

/// How many of an environment's GitHub deployments are read to find its current version.
const DEPLOYMENTS_READ: u8 = 10;
/// Room for the audit trail's lines in one section (Slack allows 3,000 characters).
const AUDIT_TEXT_MAX: usize = 2_800;

/// The state as a phrase for sentences: "waiting for approval", "running".
pub fn state_phrase(state: DeployState) -> &'static str {
    match state {
        DeployState::PendingApproval => "waiting for approval",
        DeployState::Approved => "approved and starting",
        DeployState::Dispatched => "sent to GitHub",
        DeployState::Running => "running",
        DeployState::Succeeded => "finished (succeeded)",
        DeployState::Failed => "finished (failed)",
        DeployState::Cancelled => "cancelled",
        DeployState::Rejected => "rejected",
        DeployState::Expired => "expired",
        DeployState::RunNotFound => "sent, without a run found",
        DeployState::DispatchFailed => "refused by GitHub",
    }
}

impl Deploys {
    /// The status of one environment, or of every environment.
    pub async fn status(&self, environment: Option<&EnvName>) -> Result<Message, DeployError> {
        let names: Vec<String> = match environment {
            Some(env) => vec![env.as_str().to_owned()],
            None => self.config.environments.keys().cloned().collect(),
        };
        let mut blocks = vec![Block::Header(format!("Deploy status · {}", self.repo))];
        let mut text = String::new();
        for name in names {
            let section = self.environment_status(&name).await?;
            text.push_str(section.as_str());
            text.push('\n');
            blocks.push(Block::Section {
                text: section,
                fields: vec![],
            });
        }
        Ok(Message {
            text,
            blocks,
            accent: None,
            post_id: None,
            standing: Default::default(),
        })
    }

    async fn environment_status(&self, name: &str) -> Result<Mrkdwn, DeployError> {
        let mut text = Mrkdwn::trusted(format!("*`{name}`*\n"));
        text.push(&self.current_version(name).await?);
        let env = name.to_owned();
        let active = self.store.run(move |s| s.active_request(&env)).await?;
        match active {
            Some(request) => {
                let link = self.thread_link(&request).await;
                text.push(&format!(
                    "\n• {}: {} by <@{}>{link}",
                    escape(&super::card::title(&request)),
                    state_phrase(request.state),
                    request.requested_by
                ));
            }
            None => text.push("\n• Nothing in progress or waiting for approval."),
        }
        let firing = self.firing_alarms(name).await;
        if firing.is_empty() {
            if !self.environment(name)?.alarm_routes.is_empty() {
                text.push("\n• No linked alarm is firing.");
            }
        } else {
            text.push(&format!(
                "\n• :rotating_light: {} linked alarm(s) firing: ",
                firing.len()
            ));
            let now = SystemTime::now();
            let shown: Vec<String> = firing
                .iter()
                .take(10)
                .map(|alarm| {
                    let age = now.duration_since(alarm.since).unwrap_or_default();
                    format!("{} ({})", escape(&alarm.name), format_duration(age))
                })
                .collect();
            text.push(&shown.join(", "));
        }
        Ok(text)
    }

    /// `• Current: v1.2.3, deployed 2026-12-07 06:00:00 UTC by <@U…>` from GitHub's
    /// deployments, else from the bot's records (said so), else that nothing is known.
    async fn current_version(&self, name: &str) -> Result<String, DeployError> {
        let github = self.github.deployments(name, DEPLOYMENTS_READ).await;
        let env = name.to_owned();
        let ours = self.store.run(move |s| s.last_successes(&env)).await?;
        if let Ok(deployments) = &github {
            if let Some(current) = current_deployment(deployments) {
                let at = current
                    .latest
                    .as_ref()
                    .map(|s| s.at)
                    .unwrap_or(current.created_at);
                // Who asked, when the bot's own last success is this version.
                let asked = ours
                    .current
                    .as_ref()
                    .filter(|r| r.effective_version() == current.version)
                    .map(|r| format!(", asked for by <@{}>", r.requested_by))
                    .unwrap_or_default();
                return Ok(format!(
                    "• Current: `{}`, deployed {} by {}{asked} (GitHub)",
                    escape(&current.version),
                    format_time(at),
                    escape(&current.creator)
                ));
            }
        }
        let note = match &github {
            Ok(_) => String::new(),
            Err(e) => format!(" (GitHub: {})", escape(&e.human_message())),
        };
        Ok(match ours.current {
            Some(request) => format!(
                "• Current: `{}`, deployed {} for <@{}> (the bot's records){note}",
                escape(request.effective_version()),
                format_time(OffsetDateTime::from(request.updated_at)),
                request.requested_by
            ),
            None => format!("• Current: unknown, no successful deployment recorded{note}"),
        })
    }

    /// The newest `limit` audit entries, to approvers of any environment only.
    pub async fn audit_trail(&self, user: &str, limit: u16) -> Result<Message, DeployError> {
        let mut groups = Vec::new();
        let mut is_approver = false;
        for env in self.config.environments.values() {
            let approvers = Audience::from_ids(env.approvers.iter().map(|p| p.id()));
            is_approver |= approvers.users.iter().any(|u| u == user);
            groups.extend(approvers.groups);
        }
        if !is_approver && !groups.is_empty() {
            is_approver = self.directory.members(&groups).await?.contains(user);
        }
        if !is_approver {
            return Err(DeployError::Refused(
                "The audit trail is shown to approvers only.".into(),
            ));
        }
        let entries = self
            .store
            .run(move |s| s.recent_audit(limit as usize))
            .await?;
        Ok(audit_message(&entries))
    }
}

/// The newest deployment whose latest status is success.
fn current_deployment(deployments: &[DeploymentRecord]) -> Option<&DeploymentRecord> {
    deployments.iter().find(|d| {
        d.latest
            .as_ref()
            .is_some_and(|s| s.state == DeploymentState::Success)
    })
}

/// Lines newest first; as many as fit in one section (Slack's 3,000 characters), then a count.
fn audit_message(entries: &[AuditEntry]) -> Message {
    let mut text = Mrkdwn::trusted(format!(
        "*Deploy audit: the last {} entries*",
        entries.len()
    ));
    if entries.is_empty() {
        text.push("\nNothing recorded yet.");
    }
    for (shown, entry) in entries.iter().enumerate() {
        let actor = if entry.actor == "bot" {
            "the bot".to_owned()
        } else {
            format!("<@{}>", escape(&entry.actor))
        };
        let line = format!(
            "\n• {} · {actor} · {} · {} · {}",
            format_time(OffsetDateTime::from(entry.at)),
            entry.kind.as_str(),
            escape(&entry.detail),
            escape(&entry.result)
        );
        if text.as_str().len() + line.len() > AUDIT_TEXT_MAX {
            text.push(&format!(
                "\n… and {} older entries not shown.",
                entries.len() - shown
            ));
            break;
        }
        text.push(&line);
    }
    Message::markdown(text)
}

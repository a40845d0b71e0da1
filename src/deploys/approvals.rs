//! ✅ Approve, ✖ Reject and expiry. The request is found from the message the button sits on
//! (its value is never trusted); only approvers' clicks count, each person once, never the
//! requester's own unless allowed; every click that counts or not is audited.

use std::time::{Duration, SystemTime};

use tracing::info;

use super::policy::{judge_approval, may_reject, ApprovalRules, ApprovalVerdict, Audience};
use super::service::{detail_of, DeployError, Deploys};
use crate::slack::message::Mrkdwn;
use crate::store::deploys::{
    ApprovalOutcome, AuditEntry, AuditKind, DeployRequest, DeployState, StateChange,
};

/// How long a click on a message the bot has not recorded yet waits for the record.
const CARD_RECORD_WAIT: Duration = Duration::from_secs(2);

/// What a click did, for the clicker (shown ephemerally).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClickOutcome {
    /// Counted; `have` of `need` now. At `need` the run starts.
    Approved {
        have: u32,
        need: u32,
    },
    /// This person had already approved.
    AlreadyApproved,
    Rejected,
}

impl ClickOutcome {
    pub fn human_message(&self) -> String {
        match self {
            ClickOutcome::Approved { have, need } if have >= need => {
                "Approved: that was the last approval needed, so the workflow starts now.".into()
            }
            ClickOutcome::Approved { have, need } => {
                format!("Approved ({have} of {need}); waiting for more approvers.")
            }
            ClickOutcome::AlreadyApproved => "You have already approved this request.".into(),
            ClickOutcome::Rejected => "Rejected; the request is closed.".into(),
        }
    }
}

impl Deploys {
    /// The request whose root message or approval card is (`channel`, `ts`). A click can beat
    /// the bot's own record of a card it has just posted, so a miss is looked up again for a
    /// moment before it is refused.
    async fn clicked(&self, channel: &str, ts: &str) -> Result<DeployRequest, DeployError> {
        let deadline = tokio::time::Instant::now() + CARD_RECORD_WAIT;
        loop {
            let (c, t) = (channel.to_owned(), ts.to_owned());
            if let Some(request) = self
                .store
                .run(move |s| s.request_by_message(&c, &t))
                .await?
            {
                return Ok(request);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DeployError::Refused("This is not a deploy request I know (maybe from before my store was reset). Nothing was done.".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Who approves `request`'s environment, with the members of its approver groups.
    fn rules_for<'a>(
        &self,
        request: &'a DeployRequest,
        approvers: &'a Audience,
        members: &'a std::collections::HashSet<String>,
    ) -> ApprovalRules<'a> {
        ApprovalRules {
            approvers,
            group_members: members,
            requester: &request.requested_by,
            allow_self_approval: self.config.allow_self_approval,
            need: request.approvals_needed as u32,
        }
    }

    fn approvers_of(&self, environment: &str) -> Result<Audience, DeployError> {
        let env = self.environment(environment)?;
        Ok(Audience::from_ids(env.approvers.iter().map(|p| p.id())))
    }

    /// ✅ Approve on the message (`channel`, `ts`) by `user`.
    pub async fn approve(
        self: &std::sync::Arc<Self>,
        channel: &str,
        ts: &str,
        user: &str,
    ) -> Result<ClickOutcome, DeployError> {
        let request = self.clicked(channel, ts).await?;
        self.still_waiting(&request, user).await?;
        let approvers = self.approvers_of(&request.environment)?;
        let members = self.directory.members(&approvers.groups).await?;
        let rules = self.rules_for(&request, &approvers, &members);
        let counted: Vec<String> = {
            let id = request.request_id.clone();
            let approvals = self.store.run(move |s| s.approvals(&id)).await?;
            approvals.into_iter().map(|a| a.user).collect()
        };
        match judge_approval(&rules, user, &counted) {
            ApprovalVerdict::Refused(refusal) => {
                self.audit_click(
                    &request,
                    user,
                    AuditKind::ApprovalRefused,
                    &format!("{refusal:?}"),
                )
                .await;
                Err(DeployError::Refused(
                    refusal.human_message(&request.environment),
                ))
            }
            ApprovalVerdict::AlreadyCounted => Ok(ClickOutcome::AlreadyApproved),
            ApprovalVerdict::Counted { .. } => self.count(request, user).await,
        }
    }

    /// Records `user`'s approval; the last one needed moves the request on and starts its run.
    async fn count(
        self: &std::sync::Arc<Self>,
        request: DeployRequest,
        user: &str,
    ) -> Result<ClickOutcome, DeployError> {
        let (id, who, at) = (
            request.request_id.clone(),
            user.to_owned(),
            SystemTime::now(),
        );
        let outcome = self
            .store
            .run(move |s| s.add_approval(&id, &who, at))
            .await?;
        let approvers = match outcome {
            ApprovalOutcome::Added(approvers) => approvers,
            ApprovalOutcome::AlreadyApproved(_) => return Ok(ClickOutcome::AlreadyApproved),
            ApprovalOutcome::NotPending(state) => return Err(not_waiting(state)),
        };
        let (have, need) = (approvers.len() as u32, request.approvals_needed as u32);
        self.audit_click(
            &request,
            user,
            AuditKind::Approved,
            &format!("approved {have}/{need}"),
        )
        .await;
        if have >= need {
            let (id, who, at) = (
                request.request_id.clone(),
                user.to_owned(),
                SystemTime::now(),
            );
            let moved = self
                .store
                .run(move |s| {
                    let change = StateChange {
                        at,
                        decided_by: Some(&who),
                    };
                    s.transition(
                        &id,
                        &[DeployState::PendingApproval],
                        DeployState::Approved,
                        change,
                    )
                })
                .await?;
            if moved {
                info!(request_id = %request.request_id, approver = user, "Deploy request approved.");
                let approved = self.load(&request.request_id).await?;
                self.refresh_decision(&approved).await;
                self.drive(approved.request_id.clone(), false);
            }
        } else {
            let current = self.load(&request.request_id).await?;
            self.refresh_decision(&current).await;
        }
        Ok(ClickOutcome::Approved { have, need })
    }

    /// ✖ Reject on the message (`channel`, `ts`) by `user`: approvers and the requester may.
    pub async fn reject(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
    ) -> Result<ClickOutcome, DeployError> {
        let request = self.clicked(channel, ts).await?;
        self.still_waiting(&request, user).await?;
        let approvers = self.approvers_of(&request.environment)?;
        let members = self.directory.members(&approvers.groups).await?;
        let rules = self.rules_for(&request, &approvers, &members);
        if !may_reject(&rules, user) {
            self.audit_click(&request, user, AuditKind::ApprovalRefused, "may not reject")
                .await;
            return Err(DeployError::Refused(format!(
                "Only the approvers of {} (or the requester) can reject this request; nothing was done.",
                request.environment
            )));
        }
        let (id, who) = (request.request_id.clone(), user.to_owned());
        let at = SystemTime::now();
        let moved = self
            .store
            .run(move |s| {
                s.transition(
                    &id,
                    &[DeployState::PendingApproval],
                    DeployState::Rejected,
                    StateChange {
                        at,
                        decided_by: Some(&who),
                    },
                )
            })
            .await?;
        if !moved {
            let now = self.load(&request.request_id).await?;
            return Err(not_waiting(Some(now.state)));
        }
        self.audit_click(&request, user, AuditKind::Rejected, "rejected")
            .await;
        let rejected = self.load(&request.request_id).await?;
        self.refresh_decision(&rejected).await;
        let text = Mrkdwn::trusted(format!(":no_entry: Rejected by <@{user}>."));
        self.note(&rejected, "rejected", text, None).await;
        Ok(ClickOutcome::Rejected)
    }

    /// Refuses (and audits) a click on a request that no longer waits for approvals.
    async fn still_waiting(&self, request: &DeployRequest, user: &str) -> Result<(), DeployError> {
        if request.state == DeployState::PendingApproval && request.expires_at > SystemTime::now() {
            return Ok(());
        }
        self.audit_click(
            request,
            user,
            AuditKind::ApprovalRefused,
            &format!("too late: {}", request.state.as_str()),
        )
        .await;
        Err(not_waiting(Some(request.state)))
    }

    /// Expires every request still waiting past its `approval_timeout`: the card says so and
    /// its buttons go.
    pub(super) async fn expire_due(&self, now: SystemTime) -> Result<usize, DeployError> {
        let due = self.store.run(move |s| s.expired_requests(now)).await?;
        let mut expired = 0;
        for request in due {
            if !self
                .move_to(
                    &request,
                    &[DeployState::PendingApproval],
                    DeployState::Expired,
                )
                .await?
            {
                continue;
            }
            expired += 1;
            let approvals = {
                let id = request.request_id.clone();
                self.store.run(move |s| s.approvals(&id)).await?.len()
            };
            self.audit(AuditEntry {
                at: now,
                request_id: Some(request.request_id.clone()),
                environment: request.environment.clone(),
                actor: "bot".into(),
                kind: AuditKind::Expired,
                detail: detail_of(&request.action, &request.version, &request.environment),
                result: format!(
                    "expired with {approvals} of {} approvals",
                    request.approvals_needed
                ),
            })
            .await;
            let request = self.load(&request.request_id).await?;
            self.refresh_decision(&request).await;
            let text = Mrkdwn::trusted(format!(
                ":alarm_clock: Expired: not enough approvals within {}. Ask again if it is still wanted.",
                crate::slack::time_text::format_duration(self.config.approval_timeout)
            ));
            self.note(&request, "expired", text, None).await;
        }
        Ok(expired)
    }

    async fn audit_click(
        &self,
        request: &DeployRequest,
        user: &str,
        kind: AuditKind,
        result: &str,
    ) {
        self.audit(AuditEntry {
            at: SystemTime::now(),
            request_id: Some(request.request_id.clone()),
            environment: request.environment.clone(),
            actor: user.to_owned(),
            kind,
            detail: detail_of(&request.action, &request.version, &request.environment),
            result: result.to_owned(),
        })
        .await;
    }
}

fn not_waiting(state: Option<DeployState>) -> DeployError {
    DeployError::Refused(match state {
        Some(state) => format!(
            "This request no longer waits for approvals: it is {}. Nothing was done.",
            super::status::state_phrase(state)
        ),
        None => "This request no longer exists. Nothing was done.".into(),
    })
}

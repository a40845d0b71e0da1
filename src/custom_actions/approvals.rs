//! ✅ Approve and ✖ Reject on an action's approval card: the request is found from the clicked
//! message (the button's value is never trusted), judged by `deploys::policy` as deploys are,
//! and the last approval needed moves it to `Running` (compare-and-set: two clicks run once).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use tracing::info;

use super::service::{ActionError, CustomActions};
use crate::config::SlackPrincipal;
use crate::deploys::policy::{
    judge_approval, may_reject, ApprovalRules, ApprovalVerdict, Audience, Refusal,
};
use crate::store::actions::{ActionApproval, ActionRequest, ActionState};

/// How long a click on a card not recorded yet waits for the record.
const CARD_RECORD_WAIT: Duration = Duration::from_secs(2);

impl CustomActions {
    async fn clicked(&self, channel: &str, ts: &str) -> Result<ActionRequest, ActionError> {
        let deadline = tokio::time::Instant::now() + CARD_RECORD_WAIT;
        loop {
            let (c, t) = (channel.to_owned(), ts.to_owned());
            if let Some(request) = self
                .store
                .run(move |s| s.action_request_by_card(&c, &t))
                .await?
            {
                return Ok(request);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ActionError::Refused(
                    "This is not an action request I know. Nothing was done.".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A pending request past its time is expired now, whatever the sweep has not done yet.
    async fn still_pending(
        &self,
        mut request: ActionRequest,
    ) -> Result<ActionRequest, ActionError> {
        let now = SystemTime::now();
        if request.state == ActionState::Pending && request.expires_at <= now {
            let id = request.request_id.clone();
            let (from, to) = (ActionState::Pending, ActionState::Expired);
            if self
                .store
                .run(move |s| s.action_transition(&id, from, to, Some("bot"), None, now))
                .await?
            {
                request.state = to;
                self.refresh_card(&request, None).await;
            }
            return Err(ActionError::Refused(
                "This request has expired; nothing was run. Ask again if it is still needed."
                    .into(),
            ));
        }
        if request.state != ActionState::Pending {
            return Err(ActionError::Refused(format!(
                "This request is no longer waiting for approvals (it is {}).",
                super::card::state_words(request.state)
            )));
        }
        Ok(request)
    }

    async fn audience(
        &self,
        request: &ActionRequest,
    ) -> Result<(Audience, HashSet<String>, bool), ActionError> {
        let Some(action) = self.catalog.get(&request.action) else {
            return Err(ActionError::Refused(format!(
                "The action {:?} is no longer configured; nothing was run.",
                request.action
            )));
        };
        let approvers = Audience::from_ids(action.config.approvers.iter().map(SlackPrincipal::id));
        let mut members = HashSet::new();
        for group in &approvers.groups {
            let users = self.slack.group_members(group).await?;
            members.extend(users.into_iter().map(|u| u.0));
        }
        Ok((approvers, members, action.config.allow_self_approval))
    }

    /// ✅ Approve by `user` on the card at (`channel`, `ts`); what the clicker is told.
    pub async fn approve(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
    ) -> Result<String, ActionError> {
        let request = self.still_pending(self.clicked(channel, ts).await?).await?;
        let (approvers, members, allow_self_approval) = self.audience(&request).await?;
        let id = request.request_id.clone();
        let counted = self.store.run(move |s| s.action_approvers(&id)).await?;
        let rules = ApprovalRules {
            approvers: &approvers,
            group_members: &members,
            requester: &request.requested_by,
            allow_self_approval,
            need: u32::from(request.approvals_needed),
        };
        match judge_approval(&rules, user, &counted) {
            ApprovalVerdict::Refused(Refusal::NotAnApprover) => {
                info!(action = %request.action, request = %request.request_id, user, "Action approval refused: not an approver.");
                return Err(ActionError::Refused(format!(
                    "Only the approvers of `{}` can approve it; your click was not counted.",
                    request.action
                )));
            }
            ApprovalVerdict::Refused(Refusal::OwnRequest) => {
                info!(action = %request.action, request = %request.request_id, user, "Action approval refused: own request.");
                return Err(ActionError::Refused(
                    "You asked for this action, so your approval does not count.".into(),
                ));
            }
            ApprovalVerdict::AlreadyCounted => {
                return Ok("You have already approved this request.".into())
            }
            ApprovalVerdict::Counted { .. } => {}
        }
        let (id, who, at) = (
            request.request_id.clone(),
            user.to_owned(),
            SystemTime::now(),
        );
        let approved = match self
            .store
            .run(move |s| s.add_action_approval(&id, &who, at))
            .await?
        {
            ActionApproval::Added(approved) => approved,
            ActionApproval::AlreadyApproved(_) => {
                return Ok("You have already approved this request.".into())
            }
            ActionApproval::NotPending(_) => {
                return Err(ActionError::Refused(
                    "This request is no longer waiting for approvals.".into(),
                ))
            }
        };
        info!(action = %request.action, request = %request.request_id, user, have = approved.len(), need = request.approvals_needed, "Action approval counted.");
        if approved.len() < usize::from(request.approvals_needed) {
            self.refresh_card(&request, None).await;
            return Ok(format!(
                "Approved ({} of {}); waiting for more approvers.",
                approved.len(),
                request.approvals_needed
            ));
        }
        let (id, who, at) = (
            request.request_id.clone(),
            user.to_owned(),
            SystemTime::now(),
        );
        let (from, to) = (ActionState::Pending, ActionState::Running);
        let won = self
            .store
            .run(move |s| s.action_transition(&id, from, to, Some(&who), None, at))
            .await?;
        if !won {
            return Ok("Approved; the action was already started by another approval.".into());
        }
        let mut request = request;
        request.state = to;
        request.decided_by = Some(user.to_owned());
        self.refresh_card(&request, None).await;
        self.execute(request, None).await?;
        Ok("Approved: that was the last approval needed; the result is in the thread.".into())
    }

    /// ✖ Reject by `user`: an approver, or the requester withdrawing.
    pub async fn reject(&self, channel: &str, ts: &str, user: &str) -> Result<String, ActionError> {
        let request = self.still_pending(self.clicked(channel, ts).await?).await?;
        let (approvers, members, allow_self_approval) = self.audience(&request).await?;
        let rules = ApprovalRules {
            approvers: &approvers,
            group_members: &members,
            requester: &request.requested_by,
            allow_self_approval,
            need: u32::from(request.approvals_needed),
        };
        if !may_reject(&rules, user) {
            return Err(ActionError::Refused(format!(
                "Only the approvers of `{}` (or who asked) can reject it.",
                request.action
            )));
        }
        let (id, who, at) = (
            request.request_id.clone(),
            user.to_owned(),
            SystemTime::now(),
        );
        let (from, to) = (ActionState::Pending, ActionState::Rejected);
        if !self
            .store
            .run(move |s| s.action_transition(&id, from, to, Some(&who), None, at))
            .await?
        {
            return Err(ActionError::Refused(
                "This request is no longer waiting for approvals.".into(),
            ));
        }
        info!(action = %request.action, request = %request.request_id, user, "Action request rejected.");
        let mut request = request;
        request.state = to;
        request.decided_by = Some(user.to_owned());
        self.refresh_card(&request, None).await;
        Ok("Rejected; nothing was run.".into())
    }
}

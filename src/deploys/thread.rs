//! A request's thread in Slack: the root message (posted once, then updated in place), the
//! approval card, and the notes each step adds. Posts carry a client-side id, so a step
//! repeated after a restart finds its note instead of posting it twice.

use std::time::SystemTime;

use tracing::warn;
use url::Url;

use super::alarm_links::FiringAlarm;
use super::audience::mentions;
use super::card::{approval_message, root_message, ApprovalView, Progress, RootView};
use super::policy::Audience;
use super::service::{DeployError, Deploys};
use crate::buttons::approval_buttons;
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::{Message, Mrkdwn, PostId};
use crate::store::deploys::{DeployRequest, DeployState};

impl Deploys {
    /// Posts the request's root message in its channel and, when it waits for approvals, the
    /// approval card in its thread.
    pub(super) async fn open_thread(
        &self,
        request: &DeployRequest,
        firing: &[FiringAlarm],
    ) -> Result<(), DeployError> {
        let channel = ChannelId(request.channel.clone());
        let root = self.root(request, None).await?;
        let ts = self.slack.post(&channel, None, &root).await?;
        let (id, thread) = (request.request_id.clone(), ts.0.clone());
        self.store
            .run(move |s| s.set_thread_ts(&id, &thread))
            .await?;
        if request.state == DeployState::PendingApproval {
            let names: Vec<String> = firing.iter().map(|a| a.name.clone()).collect();
            let card = self.approval_card(request, &names).await?;
            let approval = self.slack.post(&channel, Some(&ts), &card).await?;
            let id = request.request_id.clone();
            self.store
                .run(move |s| s.set_approval_ts(&id, &approval.0))
                .await?;
        }
        Ok(())
    }

    /// The root message for the request as it stands.
    pub(super) async fn root(
        &self,
        request: &DeployRequest,
        progress: Option<&Progress>,
    ) -> Result<Message, DeployError> {
        let id = request.request_id.clone();
        let approvals = self.store.run(move |s| s.approvals(&id)).await?;
        Ok(root_message(&RootView {
            request,
            approvals: &approvals,
            progress,
            gif: self.gif(request.state),
        }))
    }

    /// The approval card for the request as it stands; `firing`: the linked alarms' names.
    pub(super) async fn approval_card(
        &self,
        request: &DeployRequest,
        firing: &[String],
    ) -> Result<Message, DeployError> {
        let id = request.request_id.clone();
        let approvals = self.store.run(move |s| s.approvals(&id)).await?;
        let env = self.environment(&request.environment)?;
        let approvers = mentions(&Audience::from_ids(env.approvers.iter().map(|p| p.id())));
        Ok(approval_message(&ApprovalView {
            request,
            approvals: &approvals,
            approvers: &approvers,
            firing_alarms: firing,
            approval_timeout: self.config.approval_timeout,
            buttons: approval_buttons(&request.request_id),
        }))
    }

    /// Updates the root message to the request's state. Failures are logged: the next step
    /// updates it again.
    pub(super) async fn refresh(&self, request: &DeployRequest, progress: Option<&Progress>) {
        let channel = ChannelId(request.channel.clone());
        let Some(ts) = &request.thread_ts else {
            return;
        };
        match self.root(request, progress).await {
            Ok(root) => {
                if let Err(e) = self
                    .slack
                    .update(&channel, &MessageTs(ts.clone()), &root)
                    .await
                {
                    warn!(request_id = %request.request_id, error = %e, "Failed to update a deploy request's root message.");
                }
            }
            Err(e) => {
                warn!(request_id = %request.request_id, error = %e, "Failed to render a deploy request's root message.")
            }
        }
    }

    /// Updates the root message and the approval card after an approval, a rejection or the
    /// expiry: the card shows who decided, and loses its buttons once the request stops waiting.
    pub(super) async fn refresh_decision(&self, request: &DeployRequest) {
        self.refresh(request, None).await;
        let Some(ts) = &request.approval_ts else {
            return;
        };
        let firing: Vec<String> = if request.state == DeployState::PendingApproval {
            let alarms = self.firing_alarms(&request.environment).await;
            alarms.into_iter().map(|a| a.name).collect()
        } else {
            Vec::new()
        };
        let channel = ChannelId(request.channel.clone());
        match self.approval_card(request, &firing).await {
            Ok(card) => {
                if let Err(e) = self
                    .slack
                    .update(&channel, &MessageTs(ts.clone()), &card)
                    .await
                {
                    warn!(request_id = %request.request_id, error = %e, "Failed to update a deploy request's approval card.");
                }
            }
            Err(e) => {
                warn!(request_id = %request.request_id, error = %e, "Failed to render an approval card.")
            }
        }
    }

    /// Posts `text` in the request's thread, once: `step` names the note among the request's
    /// notes; `resumed` makes the messenger look for an earlier post of it first.
    pub(super) async fn note(
        &self,
        request: &DeployRequest,
        step: &str,
        text: Mrkdwn,
        resumed: Option<SystemTime>,
    ) {
        let Some(thread) = &request.thread_ts else {
            return;
        };
        let message = Message::markdown(text).with_post_id(PostId {
            id: format!("deploy:{}:{step}", request.request_id),
            earlier_attempt: resumed,
        });
        let channel = ChannelId(request.channel.clone());
        if let Err(e) = self
            .slack
            .post(&channel, Some(&MessageTs(thread.clone())), &message)
            .await
        {
            warn!(request_id = %request.request_id, step, error = %e, "Failed to post a deploy note in its thread.");
        }
    }

    /// ` (<link|thread>)` to the request's thread, or nothing when it has none or Slack fails.
    pub(super) async fn thread_link(&self, request: &DeployRequest) -> String {
        let Some(ts) = &request.thread_ts else {
            return String::new();
        };
        let channel = ChannelId(request.channel.clone());
        match self.slack.permalink(&channel, &MessageTs(ts.clone())).await {
            Ok(url) => crate::slack::message::link_to(&url, "its thread")
                .map(|link| format!(" ({link})"))
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    fn gif(&self, state: DeployState) -> Option<&Url> {
        let gifs = &self.config.gifs;
        match state {
            DeployState::Approved | DeployState::Dispatched | DeployState::Running => {
                gifs.deploying.as_ref()
            }
            DeployState::Succeeded => gifs.success.as_ref(),
            DeployState::Failed | DeployState::RunNotFound | DeployState::DispatchFailed => {
                gifs.failure.as_ref()
            }
            DeployState::PendingApproval
            | DeployState::Cancelled
            | DeployState::Rejected
            | DeployState::Expired => None,
        }
    }
}

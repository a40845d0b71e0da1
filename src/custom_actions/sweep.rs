//! The background half of custom actions: pending requests expire, requests a stopped bot left
//! running are marked interrupted (never run again), ended requests are pruned.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::service::CustomActions;
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::{Message, Mrkdwn};
use crate::store::actions::{ActionState, ACTION_REQUEST_RETENTION};

impl CustomActions {
    /// Pending requests past their time expire; requests a stopped bot left running are marked
    /// interrupted (never run again). Called every `SWEEP_EVERY` by `sweep_loop`.
    pub async fn sweep(&self) -> anyhow::Result<()> {
        let now = SystemTime::now();
        let expired = self
            .store
            .run(move |s| s.expired_action_requests(now))
            .await?;
        for mut request in expired {
            let id = request.request_id.clone();
            let (from, to) = (ActionState::Pending, ActionState::Expired);
            let won = self
                .store
                .run(move |s| s.action_transition(&id, from, to, Some("bot"), None, now))
                .await?;
            if won {
                info!(action = %request.action, request = %request.request_id, "Action request expired.");
                request.state = to;
                self.refresh_card(&request, None).await;
            }
        }
        Ok(())
    }

    /// At start: requests left `Running` by a stopped bot are interrupted, never run again.
    pub async fn interrupt_leftovers(&self) -> anyhow::Result<()> {
        let running = self.store.run(|s| s.running_action_requests()).await?;
        for mut request in running {
            let id = request.request_id.clone();
            let (from, to, at) = (
                ActionState::Running,
                ActionState::Interrupted,
                SystemTime::now(),
            );
            if self
                .store
                .run(move |s| s.action_transition(&id, from, to, None, None, at))
                .await?
            {
                warn!(action = %request.action, request = %request.request_id, "An action was running when the bot stopped; it is not run again.");
                request.state = to;
                let note = Message::markdown(Mrkdwn::trusted(
                    ":warning: I restarted while this action ran, so its outcome is unknown. It is not run again; check AWS before asking again.",
                ));
                let (c, t) = (
                    ChannelId(request.channel.clone()),
                    MessageTs(request.thread_ts.clone()),
                );
                if let Err(e) = self.slack.post(&c, Some(&t), &note).await {
                    warn!(request = %request.request_id, error = %e, "Failed to post the interrupted note.");
                }
                self.refresh_card(&request, None).await;
            }
        }
        Ok(())
    }

    /// Forgets ended requests past their retention, 500 at a time.
    async fn prune(&self) {
        let cutoff = SystemTime::now() - ACTION_REQUEST_RETENTION;
        loop {
            match self
                .store
                .run(move |s| s.forget_action_requests_before(cutoff, 500))
                .await
            {
                Ok(500) => continue,
                Ok(_) => return,
                Err(e) => {
                    warn!(
                        error = format!("{e:#}"),
                        "Failed to prune old action requests."
                    );
                    return;
                }
            }
        }
    }
}

/// Ended requests older than `ACTION_REQUEST_RETENTION` go about once an hour.
const PRUNE_EVERY_SWEEPS: u64 = 240;

/// How often pending requests are looked at for expiry.
pub const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// Expires pending requests every `SWEEP_EVERY` until `stop`; prunes old ones.
pub async fn sweep_loop(actions: Arc<CustomActions>, stop: CancellationToken) {
    if let Err(e) = actions.interrupt_leftovers().await {
        warn!(
            error = format!("{e:#}"),
            "Failed to look for actions left running."
        );
    }
    for round in 0u64.. {
        if round % PRUNE_EVERY_SWEEPS == 0 {
            actions.prune().await;
        }
        if let Err(e) = actions.sweep().await {
            warn!(
                error = format!("{e:#}"),
                "Failed to expire action requests; the next sweep retries."
            );
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

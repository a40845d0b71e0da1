//! The card's side of metric graphs: which shown card states get one (`graph_job`, queued after the delivery commits) and putting a ready graph on the card (`show_graph`, under the card's lock).

use anyhow::Context;

use super::{card, card_state, parse_sqs_message, CardKeeper};
use crate::alarms::graph::metric_widget;
use crate::alarms::Notification;
use crate::integrations::cloudwatch::GraphRequest;
use crate::notify::graphs::{GraphJob, GraphQueue};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::messenger::SlackApiError;
use crate::store::cards::{to_millis, CardGraph, CardRecord};

/// What became of a graph brought to its card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphShown {
    /// The card shows it.
    Shown,
    /// The card is no longer at the state the graph was drawn for (or is gone, or folded).
    Stale,
    /// Slack refused the card with the image (`invalid_blocks`, …): the error code.
    Refused(String),
}

/// Slack's answers that mean "not this image block" rather than "not this card".
const IMAGE_REFUSALS: [&str; 4] = [
    "invalid_blocks",
    "invalid_blocks_format",
    "invalid_attachments",
    "invalid_slack_file",
];

impl CardKeeper {
    /// Draw metric graphs for the cards' states: queued on `queue`, drawn by `notify::graphs`.
    pub fn with_graphs(self, queue: GraphQueue) -> Self {
        Self {
            graphs: Some(queue),
            ..self
        }
    }

    /// The graph to draw for `record`, the card just shown for `n`; `None` with graphs off, for
    /// a line on a storm digest, or for anything but a metric alarm.
    pub(super) fn graph_job(&self, n: &Notification, record: &CardRecord) -> Option<GraphJob> {
        let queue = self.graphs.as_ref()?;
        if record.in_digest || record.root_ts.is_empty() {
            return None;
        }
        let alarm = n.as_alarm()?;
        Some(GraphJob {
            card_key: record.alarm_key.clone(),
            channel: record.channel.clone(),
            root_ts: record.root_ts.clone(),
            for_change: record.last_change,
            state: record.state.clone(),
            alarm_name: alarm.name.clone(),
            request: GraphRequest {
                metric_widget: metric_widget(n, queue.period)?,
            },
        })
    }

    /// Whether deliveries are in progress: graphs wait for a quiet moment (`notify::graphs`),
    /// so their Slack calls never take a card's turn in a channel's pace.
    pub fn delivering(&self) -> bool {
        self.in_progress.count() > 0
    }

    /// Queue `job` (never waits; see `GraphQueue::offer`).
    pub(super) fn queue_graph(&self, job: Option<GraphJob>) {
        if let (Some(queue), Some(job)) = (&self.graphs, job) {
            queue.offer(job);
        }
    }

    /// Show the uploaded graph `file_id` on `job`'s card, if the card is still at the state the
    /// graph was drawn for; the store keeps the file id with the card.
    pub async fn show_graph(&self, job: &GraphJob, file_id: &str) -> anyhow::Result<GraphShown> {
        let _guard = self.locks.lock(&job.card_key, &job.channel).await;
        let (key, channel) = (job.card_key.clone(), job.channel.clone());
        let found = self
            .store
            .run(move |store| store.card(&key, &channel))
            .await?;
        let Some(mut card) = found.filter(|card| {
            card.root_ts == job.root_ts
                && !card.in_digest
                && to_millis(card.last_change) == to_millis(job.for_change)
        }) else {
            return Ok(GraphShown::Stale);
        };
        card.graph = Some(CardGraph {
            file_id: file_id.to_owned(),
            for_change: card.last_change,
        });
        let n = parse_sqs_message(&card.last_body, &card.last_attributes);
        let decision = self.routes.route(&n);
        let options = self.card_options(&decision, &card).await;
        let rendered = card::card(&n, &card_state(&card), &options);
        let (channel_id, root) = (
            ChannelId(card.channel.clone()),
            MessageTs(card.root_ts.clone()),
        );
        match self
            .slack
            .update(&channel_id, &root, &rendered.message)
            .await
        {
            Ok(()) => {}
            Err(SlackApiError::Rejected { code, .. })
                if IMAGE_REFUSALS.contains(&code.as_str()) =>
            {
                return Ok(GraphShown::Refused(code));
            }
            Err(error) => return Err(error).context("Failed to update the card"),
        }
        self.store.run(move |store| store.save_card(&card)).await?;
        Ok(GraphShown::Shown)
    }
}

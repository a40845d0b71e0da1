//! What the report knows about the alarm whose card roots the thread: plain data the alarm
//! pipeline fills from its records (`context::AlarmCards::alarm_facts`).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::conversation::AlarmThread;

/// One state change of the alarm, from the store.
#[derive(Clone, Debug, PartialEq)]
pub struct StateChange {
    pub at: OffsetDateTime,
    /// `None` for the card's first notification.
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
}

/// The alarm behind a thread, for its report.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmFacts {
    /// Its name, state, metric, threshold, dimensions, account and region (what the agent is
    /// also told).
    pub thread: AlarmThread,
    /// Every state change the store holds, oldest first.
    pub changes: Vec<StateChange>,
    /// Slack user ids of the card's watchers.
    pub watchers: Vec<String>,
    /// The alarm in the AWS console, when its region is known.
    pub console_url: Option<String>,
}

/// What a report does to the alarm cards: show its link on the thread's card. The alarm
/// pipeline's `CardKeeper` implements it.
#[async_trait]
pub trait ReportLinks: Send + Sync + 'static {
    /// Show the thread's incident report `url` on the card at (`channel`, `root_ts`); false if
    /// no alarm card is there.
    async fn show_report(&self, channel: &str, root_ts: &str, url: &str) -> anyhow::Result<bool>;
}

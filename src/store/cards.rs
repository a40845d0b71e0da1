//! The alarm pipeline's durable state: delivered SQS messages and one card per (alarm, channel).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use super::digests::{DigestEntry, DigestRecord, DigestStore};

/// One alarm card: where it is and what the lifecycle knows about its alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct CardRecord {
    pub alarm_key: String,
    pub channel: String,
    pub root_ts: String,
    /// The state the card shows ("ALARM", "OK", "INSUFFICIENT_DATA", or a pipeline state).
    pub state: String,
    /// When that state began (the notification's own time where it had one).
    pub last_change: SystemTime,
    /// When the current ALARM episode began.
    pub episode_started: Option<SystemTime>,
    /// When the alarm last went OK.
    pub resolved_at: Option<SystemTime>,
    pub reopen_count: u32,
    pub watchers: Vec<String>,
    /// Whether the "nobody is watching" nudge was posted for this episode.
    pub nudged: bool,
    /// The latest notification's SQS body and attributes, so the card can be re-rendered.
    pub last_body: String,
    pub last_attributes: BTreeMap<String, String>,
    /// The alarm was folded into a storm digest: `root_ts` is the digest's message.
    pub in_digest: bool,
    /// The thread's Confluence incident report, once one was made (shown on the card).
    pub report_url: Option<String>,
    /// The metric graph drawn for a state of this card (see [`CardRecord::current_graph`]).
    pub graph: Option<CardGraph>,
}

/// A metric graph uploaded to Slack for one state of a card.
#[derive(Clone, Debug, PartialEq)]
pub struct CardGraph {
    /// The Slack file id (`F…`) the card's image block names.
    pub file_id: String,
    /// The card's `last_change` when the graph was asked for.
    pub for_change: SystemTime,
}

impl CardRecord {
    /// The graph's file id if it was drawn for the state the card shows now (a later transition
    /// makes it stale: the card drops it until the new state's graph is ready).
    pub fn current_graph(&self) -> Option<&str> {
        self.graph
            .as_ref()
            .filter(|graph| to_millis(graph.for_change) == to_millis(self.last_change))
            .map(|graph| graph.file_id.as_str())
    }
}

/// One state transition, for the thread and for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub alarm_key: String,
    pub channel: String,
    pub at: SystemTime,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: String,
}

/// Everything one delivery of a notification to a channel writes, committed together.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryCommit {
    pub message_id: String,
    pub channel: String,
    pub delivered_at: SystemTime,
    /// The card as it now is, if the delivery created or changed one.
    pub card: Option<CardRecord>,
    pub transition: Option<Transition>,
}

/// Where one delivery of a notification to a channel stands.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryState {
    /// Committed: a redelivery does nothing.
    Delivered,
    /// Never attempted.
    New,
    /// Claimed by an attempt that did not commit: it may have posted, at or after `claimed_at`.
    Claimed(DeliveryProgress),
}

/// What an uncommitted attempt recorded: when it claimed the delivery, and the posts it made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryProgress {
    pub claimed_at: Option<SystemTime>,
    /// Part name (e.g. "card") → the posted message's ts.
    pub posts: BTreeMap<String, String>,
}

/// A post a delivery in progress made, recorded as soon as Slack answered (before the delivery's
/// next Slack call). The claim before the first post is `claim_deliveries`'.
#[derive(Clone, Debug, PartialEq)]
pub struct PostedPart {
    pub message_id: String,
    pub channel: String,
    pub part: String,
    pub ts: String,
}

/// A claim of the delivery of `message_id` to `channel`, made under the card's lock before any
/// post; `card_key` asks for the card in the same transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimRequest {
    pub message_id: String,
    pub channel: String,
    pub card_key: Option<String>,
    pub at: SystemTime,
}

/// Where a claimed delivery stood (`New`: this claim is the first, and is now recorded), and the
/// card it asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimOutcome {
    pub state: DeliveryState,
    pub card: Option<CardRecord>,
}

/// What the alarm pipeline needs from the store.
pub trait CardStore: DigestStore + Send + Sync + 'static {
    /// True if this SQS message was already delivered to `channel` (SNS/SQS redelivery).
    fn was_delivered(&self, message_id: &str, channel: &str) -> anyhow::Result<bool>;
    /// Where the delivery of `message_id` to `channel` stands (read under the card's lock).
    fn delivery_state(&self, message_id: &str, channel: &str) -> anyhow::Result<DeliveryState>;
    /// Claim many deliveries in one transaction: each one's state (and card) is read and, if it is
    /// new, its claim recorded. One answer per request, in order.
    fn claim_deliveries(&self, claims: &[ClaimRequest]) -> anyhow::Result<Vec<ClaimOutcome>>;
    /// Record posts of deliveries in progress, in one transaction. Committing a delivery
    /// (`commit_deliveries`) removes its claim and posts.
    fn record_posts(&self, posts: &[PostedPart]) -> anyhow::Result<()>;
    fn card(&self, alarm_key: &str, channel: &str) -> anyhow::Result<Option<CardRecord>>;
    /// The card (not folded into a digest) whose root message is `root_ts` in `channel`.
    fn card_at(&self, channel: &str, root_ts: &str) -> anyhow::Result<Option<CardRecord>>;
    /// Insert or replace the card of (alarm_key, channel).
    fn save_card(&self, card: &CardRecord) -> anyhow::Result<()>;
    /// Apply many deliveries in one transaction: each one's card, transition and delivery mark
    /// (and the end of its claim).
    fn commit_deliveries(&self, commits: &[DeliveryCommit]) -> anyhow::Result<()>;
    fn transitions(&self, alarm_key: &str, channel: &str) -> anyhow::Result<Vec<Transition>>;
    /// Cards in ALARM since before `started_before`, with no watchers and no nudge yet.
    fn unwatched_alarms(&self, started_before: SystemTime) -> anyhow::Result<Vec<CardRecord>>;
    /// Every card whose state is `state` ("ALARM", …), digest lines included, oldest episode
    /// first (cards without one last).
    fn cards_in_state(&self, state: &str) -> anyhow::Result<Vec<CardRecord>>;
    fn forget_deliveries_before(&self, cutoff: SystemTime) -> anyhow::Result<usize>;
    /// How many notifications (SQS messages, whatever their channels) were delivered at or after
    /// `since`.
    fn notifications_delivered_since(&self, since: SystemTime) -> anyhow::Result<u64>;
}

pub(crate) fn to_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_is_current_only_for_the_state_it_was_drawn_for() {
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let mut card = CardRecord {
            alarm_key: "k".into(),
            channel: "C1".into(),
            root_ts: "1.2".into(),
            state: "ALARM".into(),
            last_change: at,
            episode_started: Some(at),
            resolved_at: None,
            reopen_count: 0,
            watchers: vec![],
            nudged: false,
            last_body: String::new(),
            last_attributes: BTreeMap::new(),
            in_digest: false,
            report_url: None,
            // As read back from the store: milliseconds.
            graph: Some(CardGraph {
                file_id: "F1".into(),
                for_change: from_millis(to_millis(at)),
            }),
        };
        assert_eq!(card.current_graph(), Some("F1"));
        card.last_change = at + Duration::from_secs(60);
        assert_eq!(card.current_graph(), None, "a transition makes it stale");
    }
}

//! What the store keeps of a card: a new card's record, its transitions, and the card's view of it.

use std::time::SystemTime;

use time::OffsetDateTime;

use crate::alarms::card::CardState;
use crate::alarms::Alarm;
use crate::notify::queue::QueueMessage;
use crate::store::cards::{CardRecord, Transition};

/// A card becomes flapping once it has been reopened this many times.
const FLAPPING_AFTER_REOPENS: u32 = 2;

/// The notification's own time, else now.
pub(super) fn system_time(at: Option<OffsetDateTime>) -> SystemTime {
    at.map(SystemTime::from).unwrap_or_else(SystemTime::now)
}

/// The record of a card not shown yet: no root, no watchers, never reopened.
pub(super) fn new_record(
    key: String,
    channel: &str,
    state: String,
    at: SystemTime,
    message: &QueueMessage,
) -> CardRecord {
    CardRecord {
        alarm_key: key,
        channel: channel.to_owned(),
        root_ts: String::new(),
        state,
        last_change: at,
        episode_started: None,
        resolved_at: None,
        reopen_count: 0,
        watchers: vec![],
        nudged: false,
        last_body: message.body.clone(),
        last_attributes: message.attributes.clone(),
        in_digest: false,
        report_url: None,
        graph: None,
    }
}

/// What the card shows about the lifecycle, from the stored record.
pub fn card_state(record: &CardRecord) -> CardState {
    let resolved_after = match (
        record.state.as_str(),
        record.episode_started,
        record.resolved_at,
    ) {
        ("OK", Some(started), Some(resolved)) => resolved.duration_since(started).ok(),
        _ => None,
    };
    CardState {
        watchers: record.watchers.clone(),
        episode_started: record.episode_started.map(OffsetDateTime::from),
        resolved_after,
        flapping: record.reopen_count >= FLAPPING_AFTER_REOPENS,
        reopen_count: record.reopen_count,
        report_url: record.report_url.clone(),
        graph: record.current_graph().map(str::to_owned),
    }
}

/// The transition `card` just made (its state is the new one), for the history.
pub(super) fn transition_of(
    card: &CardRecord,
    alarm: &Alarm,
    from_state: Option<String>,
    at: SystemTime,
) -> Transition {
    Transition {
        alarm_key: card.alarm_key.clone(),
        channel: card.channel.clone(),
        at,
        from_state,
        to_state: card.state.clone(),
        reason: alarm.reason.clone(),
    }
}

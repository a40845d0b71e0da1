//! The report's timeline: the alarm's state changes from the store merged with the thread's
//! messages, in time order.

use time::OffsetDateTime;

use super::facts::StateChange;

/// One message of the thread, as the timeline shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadEvent {
    pub at: OffsetDateTime,
    pub author: String,
    /// Plain text (Slack markup already resolved).
    pub text: String,
    /// The message's Slack permalink, when known.
    pub permalink: Option<String>,
}

/// One row of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineEntry<'a> {
    Change(&'a StateChange),
    Message(&'a ThreadEvent),
}

impl TimelineEntry<'_> {
    pub fn at(&self) -> OffsetDateTime {
        match self {
            Self::Change(change) => change.at,
            Self::Message(message) => message.at,
        }
    }
}

/// `changes` and `messages` in time order; at the same instant a state change comes first (the
/// card's own note about it follows).
pub fn timeline<'a>(
    changes: &'a [StateChange],
    messages: &'a [ThreadEvent],
) -> Vec<TimelineEntry<'a>> {
    let mut entries: Vec<TimelineEntry<'a>> = changes
        .iter()
        .map(TimelineEntry::Change)
        .chain(messages.iter().map(TimelineEntry::Message))
        .collect();
    // Stable: ties keep changes before messages, and each list's own order.
    entries.sort_by_key(TimelineEntry::at);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_765_029_900 + second).unwrap()
    }

    #[test]
    fn changes_and_messages_interleave_by_time_with_changes_first_on_ties() {
        let changes = vec![
            StateChange {
                at: at(0),
                from: None,
                to: "ALARM".into(),
                reason: "high".into(),
            },
            StateChange {
                at: at(50),
                from: Some("ALARM".into()),
                to: "OK".into(),
                reason: "low".into(),
            },
        ];
        let messages = vec![
            ThreadEvent {
                at: at(50),
                author: "bot".into(),
                text: "✅ OK".into(),
                permalink: None,
            },
            ThreadEvent {
                at: at(10),
                author: "ana".into(),
                text: "on it".into(),
                permalink: None,
            },
        ];
        let order: Vec<String> = timeline(&changes, &messages)
            .iter()
            .map(|e| match e {
                TimelineEntry::Change(c) => format!("change {}", c.to),
                TimelineEntry::Message(m) => format!("message {}", m.author),
            })
            .collect();
        assert_eq!(
            order,
            ["change ALARM", "message ana", "change OK", "message bot"]
        );
    }
}

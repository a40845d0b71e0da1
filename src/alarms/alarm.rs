//! The CloudWatch alarm part of the model: the alarm, its state and its key.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::condition::AlarmCondition;

/// One CloudWatch alarm state change, from any of the delivery formats.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub name: String,
    /// `None` when AWS sends `null` or an empty description.
    pub description: Option<String>,
    /// Account id; empty only if the payload carried none at all.
    pub account: String,
    /// Region code such as `ap-northeast-2`, taken from the ARN, else from the display name.
    /// When neither yields a code the payload's own `Region` text is kept (e.g. `"EXAMPLE"`).
    pub region: String,
    /// Alarm ARN, with stray whitespace around its fields removed.
    pub arn: Option<String>,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    pub reason: String,
    pub changed_at: Option<OffsetDateTime>,
    /// When the previous state began (EventBridge only).
    pub previous_changed_at: Option<OffsetDateTime>,
    /// Set when alarm actions were suppressed for this transition (EventBridge only).
    pub actions_suppressed: Option<ActionsSuppression>,
    pub condition: AlarmCondition,
    pub source: AlarmSource,
}

impl Alarm {
    /// A key that stays the same across every transition of this alarm: the ARN when known,
    /// else `account/region/name`.
    pub fn key(&self) -> AlarmKey {
        match &self.arn {
            Some(arn) => AlarmKey(arn.clone()),
            None => AlarmKey(format!("{}/{}/{}", self.account, self.region, self.name)),
        }
    }

    /// True when the state actually changed (CloudWatch also notifies on some same-state updates).
    pub fn is_state_change(&self) -> bool {
        self.previous_state != Some(self.state)
    }
}

/// Identity of an alarm across transitions; see [`Alarm::key`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlarmKey(String);

impl AlarmKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AlarmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The three CloudWatch alarm states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    /// The AWS spelling: `OK`, `ALARM`, `INSUFFICIENT_DATA`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state string that is not one of `OK`, `ALARM`, `INSUFFICIENT_DATA`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alarm state {0:?}")]
pub struct UnknownAlarmState(pub String);

impl FromStr for AlarmState {
    type Err = UnknownAlarmState;

    /// Case-insensitive; surrounding whitespace is ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "OK" => Ok(AlarmState::Ok),
            "ALARM" => Ok(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Ok(AlarmState::InsufficientData),
            _ => Err(UnknownAlarmState(text.to_string())),
        }
    }
}

/// How the alarm reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmSource {
    /// The classic alarm-action SNS message (`AlarmName`, `NewStateValue`, `Trigger`, …).
    Sns,
    /// An EventBridge "CloudWatch Alarm State Change" event.
    EventBridge,
    /// The `alarmData` payload CloudWatch hands to a Lambda alarm action, forwarded as-is.
    LambdaAction,
}

/// Alarm actions suppressed by a composite alarm's actions suppressor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionsSuppression {
    /// `Alarm`, `WaitPeriod` or `ExtensionPeriod`.
    pub by: String,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_states_round_trip() {
        for state in [
            AlarmState::Ok,
            AlarmState::Alarm,
            AlarmState::InsufficientData,
        ] {
            assert_eq!(state.as_str().parse::<AlarmState>(), Ok(state));
        }
        assert_eq!(" alarm ".parse::<AlarmState>(), Ok(AlarmState::Alarm));
        assert!("BROKEN".parse::<AlarmState>().is_err());
    }
}

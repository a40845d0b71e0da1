//! The typed model: one `Notification` per SQS message holding an `Event`, and the CloudWatch
//! `Alarm` (its state and key) that most events are.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::condition::AlarmCondition;
use super::other_events::{ApiCallEvent, CustomNotification, GenericNotification, PipelineEvent};
use super::region::Arn;
use crate::config::NotificationKind;

/// One SQS message, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The SNS `MessageId` (stable across SNS redelivery), or `sha256:<hex>` of the raw body.
    pub message_id: String,
    pub delivery: Delivery,
    pub topic_arn: Option<String>,
    /// The SNS subject; `None` when absent, `null` or empty (and always for raw delivery).
    pub subject: Option<String>,
    /// Message attributes: the SQS message attributes, overlaid with the SNS envelope's
    /// `MessageAttributes` values (binary values stay base64 text).
    pub attributes: BTreeMap<String, String>,
    /// The SNS publish time (envelope `Timestamp`); `None` for raw delivery.
    pub published_at: Option<OffsetDateTime>,
    pub event: Event,
}

/// The shape the SQS body arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// An SNS JSON envelope (raw message delivery off). `message_type` is the envelope `Type`,
    /// normally `Notification`, sometimes `SubscriptionConfirmation`.
    SnsEnvelope { message_type: String },
    /// The bare message (raw message delivery on, or a direct SQS producer).
    Raw,
}

/// What the notification is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Alarm(Box<Alarm>),
    Pipeline(Box<PipelineEvent>),
    ApiCall(Box<ApiCallEvent>),
    Custom(Box<CustomNotification>),
    Other(Box<GenericNotification>),
}

impl Event {
    pub fn kind(&self) -> NotificationKind {
        match self {
            Event::Alarm(_) => NotificationKind::Alarm,
            Event::Pipeline(_) => NotificationKind::Pipeline,
            Event::ApiCall(_) => NotificationKind::CloudTrail,
            Event::Custom(_) => NotificationKind::Custom,
            Event::Other(_) => NotificationKind::Other,
        }
    }
}

/// The message attribute `chatops-bot test-alarm` publishes with (value `1`).
pub const TEST_ALARM_ATTRIBUTE: &str = "chatops_test";

impl Notification {
    pub fn kind(&self) -> NotificationKind {
        self.event.kind()
    }

    /// Sent by `chatops-bot test-alarm` (attribute `chatops_test=1`): its card says it is a test
    /// and it mentions nobody.
    pub fn is_test(&self) -> bool {
        self.attributes
            .get(TEST_ALARM_ATTRIBUTE)
            .is_some_and(|value| value.trim() == "1")
    }

    /// The account the event is about; for kinds without one, the SNS topic's account.
    pub fn account(&self) -> Option<&str> {
        let own = match &self.event {
            Event::Alarm(alarm) => Some(alarm.account.as_str()),
            Event::Pipeline(pipeline) => Some(pipeline.account.as_str()),
            Event::ApiCall(call) => Some(call.account.as_str()),
            Event::Custom(_) => None,
            Event::Other(other) => other.account.as_deref(),
        };
        own.filter(|account| !account.is_empty())
            .or_else(|| self.topic()?.account_id())
    }

    /// The region code the event is about; for kinds without one, the SNS topic's region.
    pub fn region(&self) -> Option<&str> {
        let own = match &self.event {
            Event::Alarm(alarm) => Some(alarm.region.as_str()),
            Event::Pipeline(pipeline) => Some(pipeline.region.as_str()),
            Event::ApiCall(call) => Some(call.region.as_str()),
            Event::Custom(_) => None,
            Event::Other(other) => other.region.as_deref(),
        };
        own.filter(|region| !region.is_empty())
            .or_else(|| self.topic()?.region_code())
    }

    /// The name routing globs match: alarm name, pipeline/project/application name, API event
    /// name, custom `eventType` (else title), or for anything else the subject or detail-type.
    /// Empty when there is nothing to name.
    pub fn name(&self) -> String {
        let name = match &self.event {
            Event::Alarm(alarm) => Some(&alarm.name),
            Event::Pipeline(pipeline) => Some(&pipeline.name),
            Event::ApiCall(call) => Some(&call.event_name),
            Event::Custom(custom) => custom.event_type.as_ref().or(custom.title.as_ref()),
            Event::Other(other) => other.subject.as_ref().or(other.detail_type.as_ref()),
        };
        name.cloned().unwrap_or_default()
    }

    /// The state routing rules match: alarm state (`ALARM`, `OK`, `INSUFFICIENT_DATA`),
    /// pipeline status (`FAILED`, …), or the error code of a failed API call.
    pub fn state_label(&self) -> Option<&str> {
        match &self.event {
            Event::Alarm(alarm) => Some(alarm.state.as_str()),
            Event::Pipeline(pipeline) => Some(pipeline.status.as_str()),
            Event::ApiCall(call) => call.error_code.as_deref(),
            Event::Custom(_) | Event::Other(_) => None,
        }
    }

    /// When the event happened, falling back to the SNS publish time.
    pub fn occurred_at(&self) -> Option<OffsetDateTime> {
        let own = match &self.event {
            Event::Alarm(alarm) => alarm.changed_at,
            Event::Pipeline(pipeline) => pipeline.at,
            Event::ApiCall(call) => call.at,
            Event::Custom(_) => None,
            Event::Other(other) => other.at,
        };
        own.or(self.published_at)
    }

    /// A message attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    pub fn as_alarm(&self) -> Option<&Alarm> {
        match &self.event {
            Event::Alarm(alarm) => Some(alarm),
            _ => None,
        }
    }

    pub fn as_pipeline(&self) -> Option<&PipelineEvent> {
        match &self.event {
            Event::Pipeline(pipeline) => Some(pipeline),
            _ => None,
        }
    }

    pub fn as_api_call(&self) -> Option<&ApiCallEvent> {
        match &self.event {
            Event::ApiCall(call) => Some(call),
            _ => None,
        }
    }

    pub fn as_custom(&self) -> Option<&CustomNotification> {
        match &self.event {
            Event::Custom(custom) => Some(custom),
            _ => None,
        }
    }

    pub fn as_other(&self) -> Option<&GenericNotification> {
        match &self.event {
            Event::Other(other) => Some(other),
            _ => None,
        }
    }

    /// The SNS topic's ARN, when it is a real one (`arn:aws:sns:EXAMPLE` is not).
    fn topic(&self) -> Option<Arn<'_>> {
        self.topic_arn.as_deref().and_then(Arn::parse)
    }
}

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

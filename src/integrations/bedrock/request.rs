//! What one question to the agent carries: `AgentRequest`, and the input text built from an alarm.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::session::SessionId;

/// The question the 🤖 button asks about an alarm.
pub const DEFAULT_ALARM_QUESTION: &str = "Analyze this alarm. What are the likely causes, what \
should we check first, and how can we mitigate it?";

/// One question to the backend: the session, the input text (the prompt: the alarm's context
/// then the question, [`alarm_input`]), attributes, and the alarm as data. Each backend sends
/// what its API takes: InvokeAgent the text and `sessionState.sessionAttributes`;
/// InvokeAgentRuntime all of it as its JSON payload; ConverseStream the text as the user turn
/// and the attributes as `requestMetadata`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRequest {
    pub session_id: SessionId,
    pub input_text: String,
    /// For example the alarm's card key, the channel and the user who asked.
    pub session_attributes: BTreeMap<String, String>,
    /// The alarm the question is about, when there is one (already in `input_text` as text).
    pub alarm: Option<AlarmContext>,
}

/// One earlier state change of the alarm.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlarmTransition {
    /// When, as the caller shows times (e.g. RFC 3339).
    pub at: String,
    pub from_state: String,
    pub to_state: String,
}

/// What the agent is told about an alarm: plain data the caller fills from its own types.
/// Empty strings and `None` are left out of the input.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlarmContext {
    pub name: String,
    pub state: String,
    pub previous_state: Option<String>,
    pub reason: Option<String>,
    pub metric: Option<String>,
    pub namespace: Option<String>,
    pub threshold: Option<String>,
    /// E.g. `GreaterThanThreshold`.
    pub comparison: Option<String>,
    pub dimensions: BTreeMap<String, String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// When the alarm changed to `state`.
    pub changed_at: Option<String>,
    /// When the bot received the notification.
    pub received_at: Option<String>,
    /// The last transitions, oldest first.
    pub recent_transitions: Vec<AlarmTransition>,
    /// The alarm's own data from CloudWatch (recent datapoints, child alarms, history), as
    /// text sections, each saying when a part could not be fetched.
    pub data_sections: Vec<String>,
}

/// The input text: the alarm's context as a short labelled list, then the question.
pub fn alarm_input(alarm: &AlarmContext, question: &str) -> String {
    let mut text = String::from("CloudWatch alarm context:\n");
    let mut line = |label: &str, value: Option<&str>| {
        if let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) {
            let _ = writeln!(text, "- {label}: {value}");
        }
    };
    line("Alarm name", Some(&alarm.name));
    line("State", Some(&alarm.state));
    line("Previous state", alarm.previous_state.as_deref());
    line("Reason", alarm.reason.as_deref());
    line("Metric", alarm.metric.as_deref());
    line("Namespace", alarm.namespace.as_deref());
    let threshold = match (&alarm.comparison, &alarm.threshold) {
        (Some(comparison), Some(threshold)) => Some(format!("{comparison} {threshold}")),
        (None, Some(threshold)) => Some(threshold.clone()),
        (Some(comparison), None) => Some(comparison.clone()),
        (None, None) => None,
    };
    line("Threshold", threshold.as_deref());
    let dimensions = alarm
        .dimensions
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ");
    line("Dimensions", Some(&dimensions));
    line("Account", alarm.account.as_deref());
    line("Region", alarm.region.as_deref());
    line("Changed at", alarm.changed_at.as_deref());
    line("Received at", alarm.received_at.as_deref());
    if !alarm.recent_transitions.is_empty() {
        text.push_str("- Recent transitions (oldest first):\n");
        for transition in &alarm.recent_transitions {
            let _ = writeln!(
                text,
                "  - {}: {} -> {}",
                transition.at, transition.from_state, transition.to_state
            );
        }
    }
    for section in &alarm.data_sections {
        text.push('\n');
        text.push_str(section.trim_end());
        text.push('\n');
    }
    let _ = write!(text, "\nQuestion: {}", question.trim());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_alarm() -> AlarmContext {
        AlarmContext {
            name: "cpu-high".into(),
            state: "ALARM".into(),
            previous_state: Some("OK".into()),
            reason: Some("Threshold Crossed: 1 datapoint [91.0] was > 80.0".into()),
            metric: Some("CPUUtilization".into()),
            namespace: Some("AWS/EC2".into()),
            threshold: Some("80".into()),
            comparison: Some("GreaterThanThreshold".into()),
            dimensions: BTreeMap::from([("InstanceId".into(), "i-0abc".into())]),
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
            changed_at: Some("2026-12-06T10:00:00Z".into()),
            received_at: None,
            recent_transitions: vec![AlarmTransition {
                at: "2026-12-06T09:00:00Z".into(),
                from_state: "ALARM".into(),
                to_state: "OK".into(),
            }],
            data_sections: vec!["Alarm history (newest first):\n- (none)\n".into()],
        }
    }

    #[test]
    fn context_comes_first_then_the_question() {
        let text = alarm_input(&cpu_alarm(), DEFAULT_ALARM_QUESTION);
        let expected = "CloudWatch alarm context:\n\
            - Alarm name: cpu-high\n\
            - State: ALARM\n\
            - Previous state: OK\n\
            - Reason: Threshold Crossed: 1 datapoint [91.0] was > 80.0\n\
            - Metric: CPUUtilization\n\
            - Namespace: AWS/EC2\n\
            - Threshold: GreaterThanThreshold 80\n\
            - Dimensions: InstanceId=i-0abc\n\
            - Account: 123456789012\n\
            - Region: eu-west-1\n\
            - Changed at: 2026-12-06T10:00:00Z\n\
            - Recent transitions (oldest first):\n  - 2026-12-06T09:00:00Z: ALARM -> OK\n\
            \nAlarm history (newest first):\n- (none)\n\
            \nQuestion: Analyze this alarm. What are the likely causes, what should we check \
            first, and how can we mitigate it?";
        assert_eq!(text, expected);
    }

    #[test]
    fn missing_fields_are_left_out() {
        let alarm = AlarmContext {
            name: "disk".into(),
            state: "ALARM".into(),
            reason: Some("  ".into()),
            ..AlarmContext::default()
        };
        let text = alarm_input(&alarm, "  why?  ");
        assert_eq!(
            text,
            "CloudWatch alarm context:\n- Alarm name: disk\n- State: ALARM\n\nQuestion: why?"
        );
    }
}

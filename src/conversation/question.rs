//! A question to the agent: where it was asked, by whom, about which alarm, and the request and
//! placeholder made from it.

use std::collections::BTreeMap;

use super::evidence::EvidencePlan;
use crate::integrations::bedrock::{alarm_input, AgentRequest, AlarmContext, SessionId};
use crate::slack::answer::inert::inert_markdown;
use crate::slack::interaction::{ChannelId, MessageTs, TeamId, UserId};

/// The alarm whose card roots a thread.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmThread {
    /// The card's key (the alarm ARN, or its hash when too long).
    pub key: String,
    pub context: AlarmContext,
    /// What to fetch from CloudWatch for the prompt (`None`: nothing to ask).
    pub evidence: Option<EvidencePlan>,
}

/// One question, asked in a thread (the thread is the agent session).
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub channel: ChannelId,
    /// The thread's root ts: one thread is one session.
    pub thread: MessageTs,
    pub user: UserId,
    pub team: TeamId,
    /// The user's own words, or the button's question.
    pub text: String,
    /// Set when the thread is an alarm card's: its context goes before the question.
    pub alarm: Option<AlarmThread>,
}

impl Question {
    pub fn session(&self) -> SessionId {
        SessionId::for_thread(&self.channel.0, &self.thread.0)
    }

    /// The InvokeAgent request: the alarm's context then the question, and who asked where.
    pub fn request(&self) -> AgentRequest {
        let input_text = match &self.alarm {
            Some(alarm) => alarm_input(&alarm.context, &self.text),
            None => self.text.clone(),
        };
        let mut session_attributes = BTreeMap::from([
            ("channel".to_owned(), self.channel.0.clone()),
            ("slack_user".to_owned(), self.user.0.clone()),
        ]);
        if let Some(alarm) = &self.alarm {
            session_attributes.insert("alarm_card_key".to_owned(), alarm.key.clone());
        }
        AgentRequest {
            session_id: self.session(),
            input_text,
            session_attributes,
            alarm: self.alarm.as_ref().map(|alarm| alarm.context.clone()),
        }
    }

    /// What the thread shows at once (trusted Markdown; the alarm name is outside text).
    pub fn placeholder(&self) -> String {
        match &self.alarm {
            Some(alarm) => format!(
                "🤖 Analyzing *{}* for <@{}>…",
                inert_markdown(&alarm.context.name).replace('*', "∗"),
                self.user.0
            ),
            None => format!("🤖 Thinking about your question, <@{}>…", self.user.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(alarm: Option<&str>) -> Question {
        Question {
            channel: ChannelId("C0OPS".into()),
            thread: MessageTs("1700000000.000100".into()),
            user: UserId("U0ALICE".into()),
            team: TeamId("T0ACME".into()),
            text: "Why now?".into(),
            alarm: alarm.map(|name| AlarmThread {
                key: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:HighCPU".into(),
                context: AlarmContext {
                    name: name.into(),
                    state: "ALARM".into(),
                    ..AlarmContext::default()
                },
                evidence: None,
            }),
        }
    }

    #[test]
    fn a_card_thread_question_carries_the_alarm_and_who_asked_where() {
        let q = question(Some("HighCPU"));
        let request = q.request();
        assert!(request.input_text.contains("HighCPU"));
        assert!(
            request.input_text.ends_with("Why now?"),
            "{}",
            request.input_text
        );
        assert_eq!(
            request.session_attributes["alarm_card_key"],
            "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:HighCPU"
        );
        assert_eq!(request.session_attributes["slack_user"], "U0ALICE");
        assert_eq!(request.session_attributes["channel"], "C0OPS");
        assert_eq!(request.session_id, q.session());
        assert_eq!(q.placeholder(), "🤖 Analyzing *HighCPU* for <@U0ALICE>…");
        let elsewhere = question(None);
        assert_eq!(elsewhere.request().input_text, "Why now?");
        assert!(!elsewhere
            .request()
            .session_attributes
            .contains_key("alarm_card_key"));
    }

    #[test]
    fn a_hostile_alarm_name_stays_inert_in_the_placeholder() {
        let q = question(Some("*x* <!channel> <@U0BOSS>"));
        let placeholder = q.placeholder();
        assert!(!placeholder.contains("<!channel>"), "{placeholder}");
        assert!(!placeholder.contains("<@U0BOSS>"), "{placeholder}");
        assert!(
            placeholder.starts_with("🤖 Analyzing *∗x∗"),
            "{placeholder}"
        );
    }
}

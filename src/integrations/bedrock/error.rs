//! `AgentError`: why an answer failed, in variants a caller branches on, each with one short
//! message that says what to check. Messages carry ids, regions and AWS's own error text, never
//! credentials.

use std::time::Duration;

/// Which agent a call went to, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentTarget {
    pub agent_id: String,
    pub agent_alias_id: String,
    pub region: String,
}

impl AgentTarget {
    /// `arn:<partition>:bedrock:<region>:<account>:agent-alias/<agent>/<alias>`; the account is
    /// not known to the bot, so it reads `<account>`.
    pub fn alias_arn(&self) -> String {
        let partition = if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        format!(
            "arn:{partition}:bedrock:{}:<account>:agent-alias/{}/{}",
            self.region, self.agent_id, self.agent_alias_id
        )
    }
}

/// Why the agent gave no (complete) answer.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The agent or its alias does not exist in the region (resourceNotFoundException).
    #[error(
        "agent alias {} of agent {} not found in {}",
        target.agent_alias_id, target.agent_id, target.region
    )]
    NotFound { target: AgentTarget, detail: String },
    /// The bot's role may not invoke the alias (accessDeniedException). `resource` is the ARN
    /// AWS named in its message, or one built from the config.
    #[error("access denied: the bot's role needs bedrock:InvokeAgent on {resource}")]
    AccessDenied { resource: String, detail: String },
    /// Still throttled after `attempts` tries, or throttled after part of the answer was sent
    /// (`after_text`: a retry would repeat the text already shown, so it is not retried).
    #[error("{}", throttled_message(*attempts, *after_text))]
    Throttled { attempts: u32, after_text: bool },
    /// The whole answer took longer than `timeout`.
    #[error("the agent did not finish within {}", show(*limit))]
    TimedOut { limit: Duration },
    /// Nothing arrived for `idle_timeout`.
    #[error("the agent sent nothing for {}", show(*idle))]
    Stalled { idle: Duration },
    /// The request was refused as malformed (validationException, conflictException, a bad
    /// session id): a bug or a misconfiguration on our side.
    #[error("the agent refused the request: {detail}")]
    Invalid { detail: String },
    /// Anything else: the agent's dependencies, a 5xx, the connection.
    #[error("the agent failed: {detail}")]
    Upstream { detail: String },
}

impl AgentError {
    /// The one short, human line to show in Slack: what went wrong and what to check.
    pub fn human_message(&self) -> String {
        self.to_string()
    }

    /// Whether another attempt may succeed (only throttling, and only before any text).
    pub(super) fn is_retryable_throttle(&self) -> bool {
        matches!(
            self,
            Self::Throttled {
                after_text: false,
                ..
            }
        )
    }
}

fn throttled_message(attempts: u32, after_text: bool) -> String {
    if after_text {
        "the agent was throttled in the middle of the answer; the text above is incomplete, \
         ask again in a minute"
            .to_owned()
    } else {
        format!("the agent is throttled (gave up after {attempts} attempts); try again in a minute")
    }
}

fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// The Bedrock ARN in an AWS access-denied message ("User: arn:aws:sts::… is not authorized to
/// perform: bedrock:InvokeAgent on resource: arn:aws:bedrock:…"): the first `arn:…:bedrock:…` word.
pub(super) fn bedrock_arn_in(message: &str) -> Option<String> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '(' | ')'))
        .map(|word| word.trim_end_matches('.'))
        .find(|word| word.starts_with("arn:") && word.contains(":bedrock:"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> AgentTarget {
        AgentTarget {
            agent_id: "AGENT1".into(),
            agent_alias_id: "TSTALIASID".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn messages_say_what_to_check() {
        let not_found = AgentError::NotFound {
            target: target(),
            detail: "x".into(),
        };
        assert_eq!(
            not_found.human_message(),
            "agent alias TSTALIASID of agent AGENT1 not found in us-east-1"
        );
        let denied = AgentError::AccessDenied {
            resource: target().alias_arn(),
            detail: String::new(),
        };
        assert_eq!(
            denied.human_message(),
            "access denied: the bot's role needs bedrock:InvokeAgent on \
             arn:aws:bedrock:us-east-1:<account>:agent-alias/AGENT1/TSTALIASID"
        );
        let stalled = AgentError::Stalled {
            idle: Duration::from_secs(30),
        };
        assert_eq!(stalled.human_message(), "the agent sent nothing for 30 s");
        let short = AgentError::Stalled {
            idle: Duration::from_millis(300),
        };
        assert_eq!(short.human_message(), "the agent sent nothing for 300 ms");
    }

    #[test]
    fn arn_is_taken_from_the_aws_message() {
        let message = "User: arn:aws:sts::123456789012:assumed-role/bot/i is not authorized to \
                       perform: bedrock:InvokeAgent on resource: \
                       arn:aws:bedrock:us-east-1:123456789012:agent-alias/AGENT1/TSTALIASID";
        let resource = bedrock_arn_in(message);
        assert_eq!(
            resource.as_deref(),
            Some("arn:aws:bedrock:us-east-1:123456789012:agent-alias/AGENT1/TSTALIASID")
        );
        assert_eq!(bedrock_arn_in("no arn: here arn:aws:sts::1:x"), None);
    }

    #[test]
    fn partitions_follow_the_region() {
        let mut china = target();
        china.region = "cn-north-1".into();
        assert!(china
            .alias_arn()
            .starts_with("arn:aws-cn:bedrock:cn-north-1:"));
    }
}

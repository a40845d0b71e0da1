//! The report's Summary section: what the agent wrote, or why there is none.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc::unbounded_channel;

use super::prompt::{summary_prompt, TranscriptLine, AGENT_INPUT_LIMIT};
use crate::integrations::bedrock::{Agent, AgentRequest, AlarmContext, SessionId};

/// The Summary section's content.
#[derive(Clone, Debug, PartialEq)]
pub enum Summary {
    /// The agent's text, and how many messages were left out of what it read.
    Written { text: String, left_out: usize },
    /// Why there is no summary (no agent configured, it failed, it timed out), as the page says.
    Missing(String),
}

/// The longest the report waits for the summary; past it the page is made without one.
pub const SUMMARY_TIMEOUT: Duration = Duration::from_secs(120);

/// What the summary is asked about.
pub struct SummaryInput<'a> {
    pub channel: &'a str,
    pub thread_ts: &'a str,
    pub alarm: Option<&'a AlarmContext>,
    pub lines: &'a [TranscriptLine],
}

/// Ask `agent` for the summary; never fails: a missing agent, an error or a timeout becomes
/// `Summary::Missing` with the reason the page shows.
pub async fn summarise(
    agent: Option<&dyn Agent>,
    input: SummaryInput<'_>,
    timeout: Duration,
) -> Summary {
    let Some(agent) = agent else {
        return Summary::Missing(
            "the Bedrock agent is not configured ([bedrock] in bot.toml), so the bot cannot summarise the thread.".into(),
        );
    };
    let prompt = summary_prompt(input.alarm, input.lines, AGENT_INPUT_LIMIT);
    // A session of its own: the summary does not become part of the thread's conversation.
    let report_thread = format!("{}-report", input.thread_ts);
    let request = AgentRequest {
        session_id: SessionId::for_thread(input.channel, &report_thread),
        input_text: prompt.text,
        session_attributes: BTreeMap::from([
            ("channel".to_owned(), input.channel.to_owned()),
            ("purpose".to_owned(), "incident-report".to_owned()),
        ]),
        alarm: None,
    };
    let (pieces, _ignored) = unbounded_channel();
    match tokio::time::timeout(timeout, agent.ask(request, pieces)).await {
        Ok(Ok(answer)) if !answer.text.trim().is_empty() => Summary::Written {
            text: answer.text,
            left_out: prompt.left_out,
        },
        Ok(Ok(_)) => Summary::Missing("the agent answered with no text.".into()),
        Ok(Err(e)) => Summary::Missing(format!("the agent failed: {}.", e.human_message())),
        Err(_) => Summary::Missing(format!(
            "the agent did not answer within {} s.",
            timeout.as_secs()
        )),
    }
}

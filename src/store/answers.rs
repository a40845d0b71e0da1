//! `AnswerLog`: every agent answer the bot gave (or failed to give), by thread, for the record
//! and for the Reporting feature; also what the hourly limits count after a restart.

use std::time::{Duration, SystemTime};

/// One question to the agent and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerRecord {
    pub channel: String,
    /// The thread's root ts: one thread is one agent session.
    pub thread_ts: String,
    /// The Slack user who asked.
    pub user: String,
    pub question: String,
    /// The answer as shown (empty when it failed before any text).
    pub answer: String,
    pub session_id: String,
    /// The alarm card the thread belongs to, if any.
    pub alarm_key: Option<String>,
    pub asked_at: SystemTime,
    /// From the question to the last word (or the failure).
    pub duration: Duration,
    /// What went wrong, as the user was told; `None` for an answer.
    pub error: Option<String>,
}

/// Where agent answers are kept.
pub trait AnswerLog: Send + Sync + 'static {
    fn record_answer(&self, answer: &AnswerRecord) -> anyhow::Result<()>;
    /// The thread's answers, oldest first.
    fn answers_in_thread(
        &self,
        channel: &str,
        thread_ts: &str,
    ) -> anyhow::Result<Vec<AnswerRecord>>;
    /// (user, channel) of every question asked since `since`, oldest first: what the hourly
    /// limits start from after a restart.
    fn questions_since(
        &self,
        since: SystemTime,
    ) -> anyhow::Result<Vec<(String, String, SystemTime)>>;
}

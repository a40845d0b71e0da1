//! Conversations with the agent in Slack threads: one agent session per thread, one answer at a
//! time per thread, a bounded number at once with a visible queue, and hourly limits.

pub mod admission;
pub mod busy_threads;
pub mod evidence;
pub mod limits;
mod question;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn, Instrument as _};

use self::admission::{Admission, Entry, Turn, Waiting};
use self::busy_threads::{BusyThreads, ThreadBusy};
use self::limits::{HourlyLimits, LimitHit, WINDOW};
use crate::config::BedrockConfig;
use crate::integrations::bedrock::{Agent, AgentAnswer, AgentError};
use crate::integrations::cloudwatch::AlarmEvidence;
use crate::slack::answer::{AnswerTarget, AnswerWriter, Link};
use crate::slack::message::{Message, Mrkdwn};
use crate::slack::messenger::Messenger;
use crate::store::answers::{AnswerLog, AnswerRecord};
use crate::store::Blocking;
use crate::telemetry::latency::{Latencies, LatencyKind};
pub use question::{AlarmThread, Question};

/// Why a question was not taken (each is told to the asker, ephemeral).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// An answer for this thread is still coming.
    ThreadBusy,
    /// An hourly limit was reached.
    Limit(LimitHit),
}

impl Refusal {
    pub fn explain(&self) -> String {
        match self {
            Refusal::ThreadBusy => "The agent is still answering in this thread; wait for that \
                answer, then ask again."
                .to_owned(),
            Refusal::Limit(hit) => hit.explain(),
        }
    }
}

/// A question taken: answered at once, or after `ahead` others.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    Answering,
    Queued { ahead: usize },
}

/// Asks the agent on behalf of Slack users and writes the answers into their threads.
pub struct Conversations {
    agent: Arc<dyn Agent>,
    slack: Arc<dyn Messenger>,
    answers: Blocking<dyn AnswerLog>,
    limits: Mutex<HourlyLimits>,
    admission: Arc<Admission>,
    busy: BusyThreads,
    answering: TaskTracker,
    stopping: CancellationToken,
    /// Where each full answer's time goes (`LatencyKind::AgentAnswer`).
    latencies: Latencies,
    /// CloudWatch, for the alarm's own data in the prompt; `None` when off.
    alarm_data: Option<Arc<dyn AlarmEvidence>>,
}

/// What the bot tells a thread whose answer was cut short by a restart.
const RESTARTING: &str = "The bot restarted before the agent finished, so this answer is \
    incomplete. Ask again in a minute.";

impl Conversations {
    /// The service for `[bedrock]`; the hourly limits count the questions of the last hour
    /// already in `answers` (asked before a restart). Each full answer's time goes to `latencies`.
    pub async fn new(
        agent: Arc<dyn Agent>,
        slack: Arc<dyn Messenger>,
        answers: Blocking<dyn AnswerLog>,
        config: &BedrockConfig,
        latencies: Latencies,
        alarm_data: Option<Arc<dyn AlarmEvidence>>,
    ) -> anyhow::Result<Arc<Self>> {
        let mut limits = HourlyLimits::new(config.per_user_per_hour, config.per_channel_per_hour);
        let since = SystemTime::now() - WINDOW;
        let asked = answers.run(move |log| log.questions_since(since)).await?;
        for (user, channel, at) in asked {
            limits.remember(&user, &channel, at);
        }
        Ok(Arc::new(Self {
            agent,
            slack,
            answers,
            limits: Mutex::new(limits),
            admission: Admission::new(config.max_concurrent),
            busy: BusyThreads::default(),
            answering: TaskTracker::new(),
            stopping: CancellationToken::new(),
            latencies,
            alarm_data,
        }))
    }

    /// Take `question` and answer it in its thread in the background; refuse it if its thread
    /// is busy or a limit is reached. Returns at once.
    pub fn ask(self: &Arc<Self>, question: Question) -> Result<Accepted, Refusal> {
        let busy = self
            .busy
            .try_start(&question.channel.0, &question.thread.0)
            .ok_or(Refusal::ThreadBusy)?;
        self.limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_take(&question.user.0, &question.channel.0, SystemTime::now())
            .map_err(Refusal::Limit)?;
        let (accepted, turn) = match self.admission.enter() {
            Entry::Admitted(turn) => (Accepted::Answering, PendingTurn::Now(turn)),
            Entry::Queued { ahead, waiting } => {
                (Accepted::Queued { ahead }, PendingTurn::Later(waiting))
            }
        };
        let this = self.clone();
        self.answering.spawn(
            async move {
                let Some(turn) = turn.wait(&this.stopping).await else {
                    this.never_answered(&question).await;
                    return;
                };
                this.answer(question, busy, turn).await;
            }
            .in_current_span(),
        );
        Ok(accepted)
    }

    /// Stop: answers still running end with a note that the bot restarted, within `grace`.
    pub async fn stop(&self, grace: Duration) {
        self.answering.close();
        if tokio::time::timeout(grace, self.answering.wait())
            .await
            .is_ok()
        {
            return;
        }
        self.stopping.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.answering.wait()).await;
    }

    /// A queued question whose turn never came (the bot stopped): say so in its thread.
    async fn never_answered(&self, question: &Question) {
        let text = Mrkdwn::trusted(format!(
            "⚠️ <@{}>, the bot restarted before your question reached the agent. Ask again in a minute.",
            question.user.0
        ));
        let posted = self
            .slack
            .post(
                &question.channel,
                Some(&question.thread),
                &Message::markdown(text),
            )
            .await;
        if let Err(e) = posted {
            warn!(channel = %question.channel, error = format!("{:#}", anyhow::Error::new(e)), "Could not tell a queued asker that the bot stopped.");
        }
        let elapsed = Duration::ZERO;
        self.record(
            question,
            SystemTime::now(),
            elapsed,
            "",
            Some("the bot stopped before its turn"),
        );
    }

    async fn answer(&self, mut question: Question, _busy: ThreadBusy, _turn: Turn) {
        let asked_at = SystemTime::now();
        let started = tokio::time::Instant::now();
        let target = AnswerTarget {
            channel: question.channel.clone(),
            thread: question.thread.clone(),
            user: question.user.clone(),
            team: question.team.clone(),
        };
        let mut writer = match AnswerWriter::open(
            self.slack.clone(),
            target,
            &question.placeholder(),
        )
        .await
        {
            Ok(writer) => writer,
            Err(e) => {
                warn!(channel = %question.channel, error = format!("{:#}", anyhow::Error::new(e)), "Could not show the agent's placeholder; the question is dropped.");
                self.record(
                    &question,
                    asked_at,
                    started.elapsed(),
                    "",
                    Some("Slack refused the placeholder"),
                );
                return;
            }
        };
        if let (Some(source), Some(alarm)) = (&self.alarm_data, question.alarm.as_mut()) {
            if let Some(plan) = &alarm.evidence {
                // Bounded (`evidence::EVIDENCE_BUDGET`); the placeholder is already showing.
                alarm.context.data_sections =
                    evidence::gather(source.as_ref(), plan, SystemTime::now()).await;
            }
        }
        let (pieces, mut received) = tokio::sync::mpsc::unbounded_channel();
        let asking = self.agent.ask(question.request(), pieces);
        let outcome = tokio::select! {
            (outcome, ()) = async { tokio::join!(asking, writer.feed(&mut received)) } => Some(outcome),
            () = self.stopping.cancelled() => None,
        };
        let (shown, error) = match outcome {
            Some(Ok(AgentAnswer {
                text, citations, ..
            })) => {
                let links: Vec<Link> = citations
                    .into_iter()
                    .map(|c| Link {
                        label: c.label,
                        url: c.url,
                    })
                    .collect();
                let finished = writer.finish(&text, &links).await;
                if finished.is_ok() {
                    self.latencies
                        .record(LatencyKind::AgentAnswer, started.elapsed());
                }
                (text, finished.err().map(|e| format!("Slack: {e}")))
            }
            Some(Err(e)) => {
                let message = explain(&e);
                let _ = writer.fail(&message).await;
                (String::new(), Some(message))
            }
            None => {
                let _ = writer.fail(RESTARTING).await;
                (String::new(), Some(RESTARTING.to_owned()))
            }
        };
        info!(channel = %question.channel, thread = %question.thread, user = %question.user, ms = started.elapsed().as_millis() as u64, error = error.as_deref(), "Agent answer done.");
        self.record(
            &question,
            asked_at,
            started.elapsed(),
            &shown,
            error.as_deref(),
        );
    }

    fn record(
        &self,
        question: &Question,
        asked_at: SystemTime,
        duration: Duration,
        answer: &str,
        error: Option<&str>,
    ) {
        let record = AnswerRecord {
            channel: question.channel.0.clone(),
            thread_ts: question.thread.0.clone(),
            user: question.user.0.clone(),
            question: question.text.clone(),
            answer: answer.to_owned(),
            session_id: question.session().as_str().to_owned(),
            alarm_key: question.alarm.as_ref().map(|a| a.key.clone()),
            asked_at,
            duration,
            error: error.map(str::to_owned),
        };
        let answers = self.answers.clone();
        self.answering.spawn(async move {
            if let Err(e) = answers.run(move |log| log.record_answer(&record)).await {
                warn!(
                    error = format!("{e:#}"),
                    "Could not record an agent answer."
                );
            }
        });
    }
}

/// A question's place: it may run now, or after the questions ahead of it.
enum PendingTurn {
    Now(Turn),
    Later(Waiting),
}

impl PendingTurn {
    /// Its turn, or `None` if the bot stops first (a turn that frees up as the bot stops,
    /// because the answer ahead was cut short, is not taken).
    async fn wait(self, stopping: &CancellationToken) -> Option<Turn> {
        let turn = match self {
            PendingTurn::Now(turn) => turn,
            PendingTurn::Later(waiting) => tokio::select! {
                biased;
                () = stopping.cancelled() => return None,
                turn = waiting.turn() => turn,
            },
        };
        (!stopping.is_cancelled()).then_some(turn)
    }
}

/// The line a failed answer ends with.
fn explain(error: &AgentError) -> String {
    format!("The agent could not answer: {}", error.human_message())
}

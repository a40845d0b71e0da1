//! `Reporter`: one report at a time per thread, read → summarise → render → publish, and the
//! outcome told in the thread (the page link, or why it failed and that a later click retries).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use tracing::{error, info, Instrument as _};

use super::document::{report_body, ReportInputs};
use super::facts::{AlarmFacts, ReportLinks};
use super::prompt::TranscriptLine;
use super::publish::{publish, Outcome, PublishError, Published, Target};
use super::summary::{summarise, SummaryInput};
use super::title::report_title;
use crate::integrations::bedrock::Agent;
use crate::integrations::confluence::Wiki;
use crate::slack::interaction::{ChannelId, MessageTs, UserId};
use crate::slack::message::{escape, link_to, Message, Mrkdwn, Standing};
use crate::slack::messenger::{BotIdentity, Messenger, SlackApiError};
use crate::slack::thread::{read_transcript, ts_time, ThreadTranscript};
use crate::store::answers::{AnswerLog, AnswerRecord};
use crate::store::reports::ReportPages;
use crate::store::Blocking;

/// What a report needs from the rest of the bot. Built once at start-up.
pub struct Reporter {
    pub slack: Arc<dyn Messenger>,
    pub bot: BotIdentity,
    pub wiki: Arc<dyn Wiki>,
    /// The summary's author, when `[bedrock]` is set.
    pub agent: Option<Arc<dyn Agent>>,
    pub pages: Blocking<dyn ReportPages>,
    pub answers: Blocking<dyn AnswerLog>,
    /// `confluence.parent_id`.
    pub parent: Option<String>,
    /// The alarm cards, to show the report's link on its card.
    pub cards: Option<Arc<dyn ReportLinks>>,
    pub summary_timeout: Duration,
    /// Threads whose report is being made.
    busy: Mutex<HashSet<(String, String)>>,
}

/// One report to make.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    pub channel: ChannelId,
    /// The thread's root ts.
    pub thread: MessageTs,
    pub user: UserId,
    /// The alarm, when the thread is an alarm card's.
    pub alarm: Option<AlarmFacts>,
}

/// Why a report failed, as the thread is told.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("I could not read the thread from Slack: {0}")]
    Slack(#[from] SlackApiError),
    #[error("Confluence refused the report: {0}")]
    Publish(#[from] PublishError),
    #[error("the bot's store failed: {0:#}")]
    Store(#[from] anyhow::Error),
}

/// A report of this thread is already being made.
#[derive(Debug, thiserror::Error)]
#[error("A report of this thread is already being written; its link will appear in the thread.")]
pub struct AlreadyReporting;

impl Reporter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        slack: Arc<dyn Messenger>,
        bot: BotIdentity,
        wiki: Arc<dyn Wiki>,
        agent: Option<Arc<dyn Agent>>,
        pages: Blocking<dyn ReportPages>,
        answers: Blocking<dyn AnswerLog>,
        parent: Option<String>,
        cards: Option<Arc<dyn ReportLinks>>,
        summary_timeout: Duration,
    ) -> Self {
        Self {
            slack,
            bot,
            wiki,
            agent,
            pages,
            answers,
            parent,
            cards,
            summary_timeout,
            busy: Mutex::default(),
        }
    }

    /// Make the report in the background; refused while one of the same thread runs.
    pub fn start(self: &Arc<Self>, request: ReportRequest) -> Result<(), AlreadyReporting> {
        let key = (request.channel.0.clone(), request.thread.0.clone());
        if !self
            .busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone())
        {
            return Err(AlreadyReporting);
        }
        let reporter = self.clone();
        tokio::spawn(
            async move {
                reporter.report(&request).await.ok();
                reporter
                    .busy
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&key);
            }
            .in_current_span(),
        );
        Ok(())
    }

    /// The step: a placeholder in the thread, the report, then the placeholder replaced by the
    /// link or by what went wrong.
    pub async fn report(&self, request: &ReportRequest) -> Result<Published, ReportError> {
        let (channel, thread) = (&request.channel, &request.thread);
        let working = Message::markdown(Mrkdwn::trusted(":memo: Writing the incident report…"))
            .with_standing(Standing::Placeholder);
        let placeholder = self.slack.post(channel, Some(thread), &working).await.ok();
        let result = self.make(request).await;
        let note = match &result {
            Ok(published) => {
                info!(channel = %channel.0, thread = %thread.0, page = %published.page.id, outcome = ?published.outcome, "Incident report published.");
                self.show_on_card(request, &published.page.url).await;
                done_note(published)
            }
            Err(e) => {
                error!(channel = %channel.0, thread = %thread.0, error = format!("{e:#}"), "Incident report failed.");
                Mrkdwn::trusted(format!(
                    ":warning: The incident report failed: {}. Click :memo: Reporting (or mention me with `report`) to try again.",
                    escape(&e.to_string())
                ))
            }
        };
        let note = Message::markdown(note).with_standing(Standing::Final);
        let shown = match &placeholder {
            Some(ts) => self.slack.update(channel, ts, &note).await,
            None => self
                .slack
                .post(channel, Some(thread), &note)
                .await
                .map(|_| ()),
        };
        if let Err(e) = shown {
            error!(channel = %channel.0, thread = %thread.0, error = format!("{:#}", anyhow::Error::new(e)), "Could not tell the thread how the report went.");
        }
        result
    }

    /// The alarm card shows the report's link; a failure only costs a log line.
    async fn show_on_card(&self, request: &ReportRequest, url: &str) {
        let (Some(cards), Some(_)) = (&self.cards, &request.alarm) else {
            return;
        };
        if let Err(e) = cards
            .show_report(&request.channel.0, &request.thread.0, url)
            .await
        {
            error!(channel = %request.channel.0, thread = %request.thread.0, error = format!("{e:#}"), "Could not show the report's link on the card.");
        }
    }

    async fn make(&self, request: &ReportRequest) -> Result<Published, ReportError> {
        let (channel, thread) = (&request.channel, &request.thread);
        let transcript = read_transcript(&*self.slack, &self.bot, channel, thread).await?;
        let (c, t) = (channel.0.clone(), thread.0.clone());
        let answers = self
            .answers
            .run(move |store| store.answers_in_thread(&c, &t))
            .await?;
        let names = self
            .names(&transcript, request.alarm.as_ref(), &answers)
            .await;
        let lines: Vec<TranscriptLine> = transcript
            .messages
            .iter()
            .map(|m| TranscriptLine {
                at: m.time,
                author: m.author.clone(),
                text: m.text.clone(),
            })
            .collect();
        let summary = summarise(
            self.agent.as_deref(),
            SummaryInput {
                channel: &channel.0,
                thread_ts: &thread.0,
                alarm: request.alarm.as_ref().map(|a| &a.thread.context),
                lines: &lines,
            },
            self.summary_timeout,
        )
        .await;
        let body = report_body(&ReportInputs {
            transcript: &transcript,
            alarm: request.alarm.as_ref(),
            summary: &summary,
            answers: &answers,
            names: &names,
            synced_at: OffsetDateTime::from(SystemTime::now()),
        });
        let subject = match &request.alarm {
            Some(alarm) => alarm.thread.context.name.clone(),
            None => first_words(&transcript),
        };
        let title = report_title(&subject, ts_time(thread));
        let target = Target {
            channel: &channel.0,
            thread_ts: &thread.0,
            title: &title,
            parent: self.parent.as_deref(),
        };
        Ok(publish(&*self.wiki, &self.pages, &target, &body).await?)
    }

    /// Display names of everyone the page names: participants (already known), watchers and
    /// askers (looked up, cached by the messenger); an unknown id stays an id.
    async fn names(
        &self,
        transcript: &ThreadTranscript,
        alarm: Option<&AlarmFacts>,
        answers: &[AnswerRecord],
    ) -> HashMap<String, String> {
        let mut names: HashMap<String, String> = transcript
            .participants
            .iter()
            .map(|p| (p.user.0.clone(), p.name.clone()))
            .collect();
        let wanted: Vec<String> = alarm
            .map(|a| a.watchers.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(answers.iter().map(|a| a.user.clone()))
            .collect();
        for id in wanted {
            if names.contains_key(&id) {
                continue;
            }
            if let Ok(found) = self.slack.user_name(&UserId(id.clone())).await {
                names.insert(id, found.name);
            }
        }
        names
    }
}

/// What a thread that is no alarm card's is about: the root's first words.
fn first_words(transcript: &ThreadTranscript) -> String {
    let root = transcript
        .messages
        .first()
        .map(|m| m.text.as_str())
        .unwrap_or_default();
    let words: Vec<&str> = root.split_whitespace().take(8).collect();
    words.join(" ")
}

fn done_note(published: &Published) -> Mrkdwn {
    let what = match published.outcome {
        Outcome::Created => "Incident report created",
        Outcome::Updated => "Incident report updated",
    };
    let title = escape(&published.page.title);
    let page = link_to(&published.page.url, &title).unwrap_or(title);
    Mrkdwn::trusted(format!(
        ":memo: {what}: {page} (version {}).",
        published.page.version
    ))
}

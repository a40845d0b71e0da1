//! `AnswerWriter`: a long answer shown in a Slack thread as it is written, streamed or updated.
//!
//! Slack-only: it knows threads, streams and limits, nothing of where the text comes from.
//! `open` shows the placeholder at once (as the first text of a `chat.startStream`, or, where
//! Slack refuses streaming, as a `chat.postMessage`). `push` buffers text and sends it in batches
//! (`flush::FlushPolicy`): appends to the stream, or `chat.update`s of the placeholder. `finish`
//! and `fail` end the stream and replace everything shown with the final text (split across
//! messages by `split`, made inert by `inert`), so no placeholder is ever left behind.

pub mod flush;
pub mod inert;
pub mod split;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use self::flush::FlushPolicy;
use self::inert::{inert_markdown, inert_prefix, safe_prefix_len};
use self::split::split_markdown;
use super::interaction::{ChannelId, MessageTs, TeamId, UserId};
use super::message::{escape, Block, Message, Standing};
use super::messenger::{Messenger, SlackApiError, StreamStart};

/// Characters of Markdown per message: under Slack's 12,000 for the markdown blocks of one
/// message (and one stream call), with room to spare (`msg_blocks_too_long` has been seen near
/// 13,200 summed over blocks).
pub const PART_MAX_CHARS: usize = 11_000;
/// What a message shows when the final text needs fewer messages than were live.
const MERGED_NOTE: &str = "⤴️ _(continued in the message above)_";
/// Characters of a message's notification text (the `text` beside its blocks).
const PREVIEW_CHARS: usize = 200;

/// The thread an answer goes into and the user it answers (Slack requires them for a stream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerTarget {
    pub channel: ChannelId,
    /// The thread's root ts.
    pub thread: MessageTs,
    pub user: UserId,
    pub team: TeamId,
}

/// A source shown under the answer, e.g. a citation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// How the live text reaches Slack.
enum Live {
    /// Appends to the stream `ts`, which shows `chars` characters so far.
    Stream { ts: MessageTs, chars: usize },
    /// `chat.update`s of the answer's messages.
    Updates,
}

/// One answer in one thread; see the module doc.
pub struct AnswerWriter {
    messenger: Arc<dyn Messenger>,
    target: AnswerTarget,
    placeholder: String,
    live: Live,
    /// Every message of this answer, first to last.
    messages: Vec<MessageTs>,
    /// What each message shows and how it is marked, when known exactly (`None`: a stream's text).
    shown: Vec<Option<(String, Standing)>>,
    /// Everything pushed so far, as received.
    answer: String,
    /// Bytes of `answer` already sent to Slack.
    sent: usize,
    last_flush: Instant,
}

impl AnswerWriter {
    /// Shows `placeholder` (trusted Markdown: make outside parts inert with
    /// [`inert::inert_markdown`]) in the target's thread, streamed when Slack allows it.
    /// Fails only when even `chat.postMessage` fails.
    pub async fn open(
        messenger: Arc<dyn Messenger>,
        target: AnswerTarget,
        placeholder: &str,
    ) -> Result<Self, SlackApiError> {
        let start = StreamStart {
            channel: target.channel.clone(),
            thread: target.thread.clone(),
            recipient_user: target.user.clone(),
            recipient_team: target.team.clone(),
            markdown: placeholder.to_owned(),
        };
        let (live, ts, shown) = match messenger.start_stream(&start).await {
            Ok(ts) => {
                let chars = placeholder.chars().count();
                (
                    Live::Stream {
                        ts: ts.clone(),
                        chars,
                    },
                    ts,
                    None,
                )
            }
            Err(refused) => {
                info!(
                    channel = target.channel.0.as_str(),
                    error = format!("{:#}", anyhow::Error::new(refused)),
                    "Slack did not start a stream; the answer is shown with chat.update instead."
                );
                let message = markdown_message(placeholder, Standing::Placeholder);
                let ts = messenger
                    .post(&target.channel, Some(&target.thread), &message)
                    .await?;
                (
                    Live::Updates,
                    ts,
                    Some((placeholder.to_owned(), Standing::Placeholder)),
                )
            }
        };
        Ok(Self {
            messenger,
            target,
            placeholder: placeholder.to_owned(),
            live,
            messages: vec![ts],
            shown: vec![shown],
            answer: String::new(),
            sent: 0,
            last_flush: Instant::now(),
        })
    }

    /// Whether the answer is being streamed (false: shown with `chat.update`).
    pub fn is_streaming(&self) -> bool {
        matches!(self.live, Live::Stream { .. })
    }

    /// The answer's messages so far, first to last.
    pub fn messages(&self) -> &[MessageTs] {
        &self.messages
    }

    /// Adds `piece` to the answer; sends what is buffered when it is due.
    pub async fn push(&mut self, piece: &str) {
        self.answer.push_str(piece);
        if self
            .policy()
            .due(self.pending_chars(), self.last_flush.elapsed())
        {
            self.flush().await;
        }
    }

    /// When buffered text falls due by time alone (`None`: nothing buffered).
    pub fn next_flush_at(&self) -> Option<Instant> {
        self.policy().next_at(self.pending_chars(), self.last_flush)
    }

    /// Pushes every piece from `pieces` and flushes on time, until the sender closes the
    /// channel (the caller bounds how long that takes). Then call `finish` or `fail`.
    pub async fn feed(&mut self, pieces: &mut mpsc::UnboundedReceiver<String>) {
        loop {
            let due = self.next_flush_at();
            tokio::select! {
                piece = pieces.recv() => match piece {
                    Some(piece) => self.push(&piece).await,
                    None => return,
                },
                () = sleep_until(due) => self.flush().await,
            }
        }
    }

    /// Sends what is buffered now: an append (or a new stream past a message's size), or
    /// updates of the messages. Errors are logged; a stream Slack no longer takes (expired,
    /// `message_not_in_streaming_state`) is finished with `chat.update` and the answer carries on.
    pub async fn flush(&mut self) {
        self.last_flush = Instant::now();
        match self.live {
            Live::Stream { .. } => self.flush_stream().await,
            Live::Updates => {
                self.sent = self.answer.len();
                let text = self.live_text();
                if let Err(error) = self.show(&text, Standing::Placeholder).await {
                    warn!(
                        error = format!("{:#}", anyhow::Error::new(error)),
                        "Could not update a live answer; the next update or the final text retries."
                    );
                }
            }
        }
    }

    /// Ends the answer with `text` (the whole answer, Markdown) and `links` under it, replacing
    /// the placeholder and everything shown live.
    pub async fn finish(mut self, text: &str, links: &[Link]) -> Result<(), SlackApiError> {
        self.end_stream().await;
        let mut markdown = inert_markdown(text.trim());
        let sources = links_markdown(links);
        if !sources.is_empty() {
            markdown.push_str("\n\n");
            markdown.push_str(&sources);
        }
        if markdown.trim().is_empty() {
            markdown = "_(The agent returned no text.)_".to_owned();
        }
        self.show(&markdown, Standing::Final).await
    }

    /// Ends the answer with one short error `message` (outside text is fine: it is made inert),
    /// after whatever part of the answer had arrived.
    pub async fn fail(mut self, message: &str) -> Result<(), SlackApiError> {
        self.end_stream().await;
        let mut markdown = inert_markdown(self.answer.trim());
        if !markdown.is_empty() {
            markdown.push_str("\n\n");
        }
        markdown.push_str("⚠️ ");
        markdown.push_str(&inert_markdown(message.trim()));
        self.show(&markdown, Standing::Final).await
    }

    fn policy(&self) -> FlushPolicy {
        match self.live {
            Live::Stream { .. } => FlushPolicy::STREAM,
            Live::Updates => FlushPolicy::UPDATE,
        }
    }

    fn pending_chars(&self) -> usize {
        self.answer[self.sent..].chars().count()
    }

    /// The placeholder with the answer so far under it, inert, without an unfinished link or
    /// mention at its end (the next update or the final text shows it whole).
    fn live_text(&self) -> String {
        let cut = safe_prefix_len(&self.answer);
        format!(
            "{}\n\n{}",
            self.placeholder,
            inert_prefix(&self.answer, cut)
        )
    }

    async fn flush_stream(&mut self) {
        let pending = &self.answer[self.sent..];
        let cut = safe_prefix_len(pending);
        if cut == 0 {
            return;
        }
        let mut text = inert_prefix(pending, cut);
        if self.sent == 0 {
            text.insert_str(0, "\n\n");
        }
        self.sent += cut;
        for piece in split_chars(&text, PART_MAX_CHARS) {
            if let Err(error) = self.append_live(&piece).await {
                warn!(
                    channel = self.target.channel.0.as_str(),
                    error = format!("{:#}", anyhow::Error::new(error)),
                    "A live stream stopped taking text; carrying on with chat.update."
                );
                self.end_stream().await;
                self.sent = self.answer.len();
                let text = self.live_text();
                if let Err(error) = self.show(&text, Standing::Placeholder).await {
                    warn!(
                        error = format!("{:#}", anyhow::Error::new(error)),
                        "Could not update a live answer."
                    );
                }
                return;
            }
        }
    }

    /// Appends `piece` to the live stream, or starts the next stream when the message is full.
    async fn append_live(&mut self, piece: &str) -> Result<(), SlackApiError> {
        let Live::Stream { ts, chars } = &self.live else {
            return Ok(());
        };
        let n = piece.chars().count();
        if chars + n <= PART_MAX_CHARS {
            self.messenger
                .append_stream(&self.target.channel, ts, piece)
                .await?;
            self.live = Live::Stream {
                ts: ts.clone(),
                chars: chars + n,
            };
            return Ok(());
        }
        self.end_stream().await;
        let start = StreamStart {
            channel: self.target.channel.clone(),
            thread: self.target.thread.clone(),
            recipient_user: self.target.user.clone(),
            recipient_team: self.target.team.clone(),
            markdown: piece.to_owned(),
        };
        let ts = self.messenger.start_stream(&start).await?;
        self.messages.push(ts.clone());
        self.shown.push(None);
        self.live = Live::Stream { ts, chars: n };
        Ok(())
    }

    /// Stops the live stream, if any; from then on the answer is shown with `chat.update`.
    async fn end_stream(&mut self) {
        if let Live::Stream { ts, .. } = std::mem::replace(&mut self.live, Live::Updates) {
            if let Err(error) = self
                .messenger
                .stop_stream(&self.target.channel, &ts, None)
                .await
            {
                info!(
                    error = format!("{:#}", anyhow::Error::new(error)),
                    "Could not stop a stream (it may have expired); it is replaced by chat.update."
                );
            }
        }
    }

    /// Makes the answer's messages show `markdown` (inert): part i in message i, new messages
    /// posted in the thread for more parts, surplus messages pointing up, each marked
    /// `standing` (a live answer is still a placeholder; the final text is not). Tries every
    /// message; returns the first error.
    async fn show(&mut self, markdown: &str, standing: Standing) -> Result<(), SlackApiError> {
        let mut parts = split_markdown(markdown, PART_MAX_CHARS);
        while parts.len() < self.messages.len() {
            parts.push(MERGED_NOTE.to_owned());
        }
        let mut first_error = None;
        for (i, part) in parts.into_iter().enumerate() {
            if self
                .shown
                .get(i)
                .is_some_and(|s| s.as_ref() == Some(&(part.clone(), standing)))
            {
                continue;
            }
            let message = markdown_message(&part, standing);
            let outcome = match self.messages.get(i) {
                Some(ts) => self
                    .messenger
                    .update(&self.target.channel, ts, &message)
                    .await
                    .map(|()| None),
                None => self
                    .messenger
                    .post(&self.target.channel, Some(&self.target.thread), &message)
                    .await
                    .map(Some),
            };
            match outcome {
                Ok(posted) => {
                    if let Some(ts) = posted {
                        self.messages.push(ts);
                        self.shown.push(None);
                    }
                    self.shown[i] = Some((part, standing));
                }
                // A part that could not be posted stops the rest: they would come out of order.
                Err(error) if i >= self.messages.len() => return Err(error),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// A message that is one `markdown` block of `markdown` (already inert), with a short escaped
/// notification text, marked `standing`.
fn markdown_message(markdown: &str, standing: Standing) -> Message {
    let preview: String = markdown
        .chars()
        .take(PREVIEW_CHARS)
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    Message {
        text: escape(&preview),
        blocks: vec![Block::Markdown(markdown.to_owned())],
        accent: None,
        post_id: None,
        standing,
    }
}

/// `**Sources**` and one `- [label](url)` line per distinct http(s) link; unusable urls are
/// dropped, labels made inert and kept from breaking out of the link.
pub fn links_markdown(links: &[Link]) -> String {
    let mut seen = Vec::new();
    let mut lines = Vec::new();
    for link in links {
        let Ok(url) = url::Url::parse(link.url.trim()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || seen.contains(&url) {
            continue;
        }
        let target: String = url
            .as_str()
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('<', "%3C")
            .replace('>', "%3E");
        let label = link.label.split_whitespace().collect::<Vec<_>>().join(" ");
        let label = if label.is_empty() {
            target.clone()
        } else {
            label
        };
        let label = inert_markdown(&label)
            .replace('\\', "\\\\")
            .replace('[', "\\[")
            .replace(']', "\\]");
        lines.push(format!("- [{label}]({target})"));
        seen.push(url);
    }
    if lines.is_empty() {
        return String::new();
    }
    format!("**Sources**\n{}", lines.join("\n"))
}

/// `text` in pieces of at most `max` characters, cut at char boundaries.
fn split_chars(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(max.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;

//! Posting exactly once: a post with a client-side id whose first attempt may have landed is
//! looked for in the channel (or thread) before it is sent again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tracing::{info, warn};

use super::{PostedMessage, SlackApiError, SlackMessenger};
use crate::slack::blocks;
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::PostId;

/// How far before an attempt the history is read back: room for Slack's clock and this host's to
/// differ.
const CLOCK_MARGIN: Duration = Duration::from_secs(120);
/// Messages asked for per page of history.
const PAGE_LIMIT: &str = "200";
/// Most pages read per look; a post older than that many messages is taken as not posted.
const MAX_PAGES: usize = 5;

/// The part of `conversations.history` / `conversations.replies` that the look needs.
#[derive(serde::Deserialize)]
struct History {
    messages: Vec<HistoryEntry>,
    response_metadata: Option<NextCursor>,
}

#[derive(serde::Deserialize)]
struct HistoryEntry {
    ts: SlackTs,
    metadata: Option<SlackMessageMetadata>,
}

#[derive(serde::Deserialize)]
struct NextCursor {
    next_cursor: Option<String>,
}

impl SlackMessenger {
    /// `chat.postMessage` of a message with a [`PostId`]. When an earlier attempt may have posted
    /// it (the id says so, or an attempt here failed in a way that may have landed: a 5xx, a lost
    /// answer, a timeout), the channel is read back first and the message found there is used.
    pub(super) async fn post_once(
        &self,
        channel: &ChannelId,
        thread: Option<&MessageTs>,
        request: &SlackApiChatPostMessageRequest,
        post_id: &PostId,
    ) -> Result<MessageTs, SlackApiError> {
        if let Some(since) = post_id.earlier_attempt {
            let found = self
                .call(read_back_method(thread), None, || {
                    self.find_posted(channel, thread, &post_id.id, since)
                })
                .await?;
            if let Some(ts) = found {
                info!(channel = %channel.0, ts = %ts.0, "An earlier attempt already posted this message; not posting it again.");
                return Ok(ts);
            }
        }
        let since = SystemTime::now();
        let maybe_posted = AtomicBool::new(false);
        let response = self
            .call("chat.postMessage", Some(channel), || async {
                if maybe_posted.load(Ordering::Acquire) {
                    if let Some(ts) = self.find_posted(channel, thread, &post_id.id, since).await? {
                        info!(channel = %channel.0, ts = %ts.0, "A post whose answer was lost is in the channel; not posting it again.");
                        return Ok(PostedMessage { ts: ts.0.into() });
                    }
                }
                // Pessimistic: an attempt that never finishes (a timeout drops it) may have landed.
                maybe_posted.store(true, Ordering::Release);
                let result = self
                    .session(&self.token())
                    .http_session_api
                    .http_post::<_, PostedMessage>("chat.postMessage", request, None)
                    .await;
                if result.as_ref().is_err_and(|e| !may_have_landed(e)) {
                    maybe_posted.store(false, Ordering::Release);
                }
                result
            })
            .await?;
        Ok(MessageTs(response.ts.0))
    }

    /// The top-level message in `channel` carrying any of the client-side ids `ids`, posted at or
    /// after `since` give or take the clock margin (`conversations.history`, a few pages).
    /// `chatops-bot test-alarm` looks for its card this way.
    pub async fn find_post(
        &self,
        channel: &ChannelId,
        ids: &[String],
        since: SystemTime,
    ) -> Result<Option<MessageTs>, SlackApiError> {
        self.call("conversations.history", None, || {
            self.find_any_posted(channel, None, ids, since)
        })
        .await
    }

    /// The ts of the message carrying the client-side id `id` in `channel` (or in `thread`),
    /// posted at or after `since` give or take the clock margin. `None` when it is not there, or
    /// when Slack refuses the read (e.g. `not_in_channel` where the bot posts without being a
    /// member): then posting again is the lesser harm than never posting.
    async fn find_posted(
        &self,
        channel: &ChannelId,
        thread: Option<&MessageTs>,
        id: &str,
        since: SystemTime,
    ) -> ClientResult<Option<MessageTs>> {
        self.find_any_posted(channel, thread, &[id], since).await
    }

    /// [`Self::find_posted`] for the first of several ids found.
    async fn find_any_posted(
        &self,
        channel: &ChannelId,
        thread: Option<&MessageTs>,
        ids: &[impl AsRef<str>],
        since: SystemTime,
    ) -> ClientResult<Option<MessageTs>> {
        let method = read_back_method(thread);
        let oldest = slack_ts(since.checked_sub(CLOCK_MARGIN).unwrap_or(UNIX_EPOCH));
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params: Vec<(&str, Option<&str>)> = vec![
                ("channel", Some(channel.0.as_str())),
                ("ts", thread.map(|t| t.0.as_str())),
                ("oldest", Some(oldest.as_str())),
                ("limit", Some(PAGE_LIMIT)),
                ("include_all_metadata", Some("true")),
                ("cursor", cursor.as_deref()),
            ];
            let page = match self
                .session(&self.token())
                .http_session_api
                .http_get::<History, _, _>(method, &params, None)
                .await
            {
                Ok(page) => page,
                Err(SlackClientError::ApiError(e)) => {
                    warn!(method, channel = %channel.0, code = %e.code, "Slack refused to read the channel back; posting without the duplicate check.");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let found = page.messages.iter().find(|m| {
                m.metadata.as_ref().is_some_and(|metadata| {
                    ids.iter()
                        .any(|id| blocks::carries_post_id(metadata, id.as_ref()))
                })
            });
            if let Some(found) = found {
                return Ok(Some(MessageTs(found.ts.0.clone())));
            }
            cursor = page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }
}

fn read_back_method(thread: Option<&MessageTs>) -> &'static str {
    match thread {
        Some(_) => "conversations.replies",
        None => "conversations.history",
    }
}

/// Whether a failed `chat.postMessage` may still have posted: Slack may have acted before the
/// answer was lost or turned into a 5xx. A refusal (`ok:false`, 4xx, 429) posted nothing.
fn may_have_landed(error: &SlackClientError) -> bool {
    match error {
        SlackClientError::HttpError(e) => e.status_code.is_server_error(),
        SlackClientError::ApiError(_) | SlackClientError::RateLimitError(_) => false,
        _ => true,
    }
}

/// A time as Slack writes message timestamps: seconds and microseconds.
fn slack_ts(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "{}.{:06}",
        since_epoch.as_secs(),
        since_epoch.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_timestamps_have_six_digits_of_microseconds() {
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_042);
        assert_eq!(slack_ts(at), "1700000000.000042");
    }
}

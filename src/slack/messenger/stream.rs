//! The streaming trio (`chat.startStream`, `chat.appendStream`, `chat.stopStream`) on `SlackMessenger`.
//!
//! Pacing: `startStream` posts a new message and `stopStream` changes one, so both take a turn in
//! the channel's pace like `chat.postMessage`/`chat.update`. `appendStream` does not: it adds to a
//! message already there, is Tier 4 on its own (per workspace, not per channel), and the answer
//! writer already batches appends to about one a second per stream. Pacing appends per channel
//! would make a streamed answer wait behind an alarm storm's cards in the same channel.

use slack_morphism::prelude::*;

use super::{SlackApiError, SlackMessenger};
use crate::slack::interaction::{ChannelId, MessageTs, TeamId, UserId};

/// Slack's cap on `markdown_text` in one streaming call.
pub const MAX_STREAM_MARKDOWN_CHARS: usize = 12_000;

/// Where a stream goes and who it is for: Slack requires the recipient in a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamStart {
    pub channel: ChannelId,
    /// The thread the streamed message is a reply in.
    pub thread: MessageTs,
    pub recipient_user: UserId,
    pub recipient_team: TeamId,
    /// The stream's first Markdown (≤ [`MAX_STREAM_MARKDOWN_CHARS`]).
    pub markdown: String,
}

impl SlackMessenger {
    pub(super) async fn start_stream_call(
        &self,
        start: &StreamStart,
    ) -> Result<MessageTs, SlackApiError> {
        let request = SlackApiChatStartStreamRequest::new(start.channel.0.clone().into())
            .with_thread_ts(start.thread.0.clone().into())
            .with_recipient_user_id(start.recipient_user.0.clone().into())
            .with_recipient_team_id(start.recipient_team.0.clone().into())
            .with_markdown_text(start.markdown.clone());
        let response = self
            .call("chat.startStream", Some(&start.channel), || async {
                self.session(&self.token())
                    .chat_start_stream(&request)
                    .await
            })
            .await?;
        Ok(MessageTs(response.ts.0))
    }

    pub(super) async fn append_stream_call(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: &str,
    ) -> Result<(), SlackApiError> {
        let request =
            SlackApiChatAppendStreamRequest::new(channel.0.clone().into(), ts.0.clone().into())
                .with_markdown_text(markdown.to_owned());
        self.call("chat.appendStream", None, || async {
            self.session(&self.token())
                .chat_append_stream(&request)
                .await
        })
        .await
        .map(|_| ())
    }

    pub(super) async fn stop_stream_call(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: Option<&str>,
    ) -> Result<(), SlackApiError> {
        let content = SlackMessageContent::new().opt_markdown_text(markdown.map(str::to_owned));
        let request = SlackApiChatStopStreamRequest::new(
            channel.0.clone().into(),
            ts.0.clone().into(),
            content,
        );
        self.call("chat.stopStream", Some(channel), || async {
            self.session(&self.token()).chat_stop_stream(&request).await
        })
        .await
        .map(|_| ())
    }
}

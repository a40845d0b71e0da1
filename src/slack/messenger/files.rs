//! File uploads on `SlackMessenger`: `files.getUploadURLExternal`, the bytes to the upload URL,
//! then `files.completeUploadExternal` (`files.upload` is retired).
//!
//! Each step goes through `call` (429 pauses, retries after 5xx and timeouts). Only the last
//! step shares the file, so a retried first or second step leaves at most an unshared upload
//! behind. Completing takes the channel's pace like a post when it shares into a channel.

use slack_morphism::prelude::*;

use super::{SlackApiError, SlackMessenger};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::FileId;

/// Slack's cap on one file (1 GB); the bot's files are far smaller.
pub const MAX_UPLOAD_BYTES: usize = 1 << 30;

/// A file to upload, and where to share it.
#[derive(Clone, PartialEq, Eq)]
pub struct FileUpload {
    /// The channel to share the file in; `None` keeps it private to the bot (an image block can
    /// still show it: the poster is the bot).
    pub channel: Option<ChannelId>,
    /// The thread to share it in (with `channel`).
    pub thread: Option<MessageTs>,
    /// The file's name, whose extension tells Slack its type (`graph.png`, `output.json`).
    pub filename: String,
    pub title: String,
    /// A message shown with the shared file (plain text, escaped by the caller where needed).
    pub initial_comment: Option<String>,
    /// Alt text of an image, for screen readers.
    pub alt_text: Option<String>,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes can be large and are not worth a log line.
        f.debug_struct("FileUpload")
            .field("channel", &self.channel)
            .field("thread", &self.thread)
            .field("filename", &self.filename)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// A file Slack has: its id, usable in an image block's `slack_file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    pub id: FileId,
}

impl SlackMessenger {
    pub(super) async fn upload_file_call(
        &self,
        upload: &FileUpload,
    ) -> Result<UploadedFile, SlackApiError> {
        if upload.bytes.is_empty() || upload.bytes.len() > MAX_UPLOAD_BYTES {
            // Slack refuses both; say so without a call.
            return Err(SlackApiError::Rejected {
                method: "files.getUploadURLExternal",
                code: "invalid_length".into(),
            });
        }
        let request = SlackApiFilesGetUploadUrlExternalRequest::new(
            upload.filename.clone(),
            upload.bytes.len(),
        )
        .opt_alt_txt(upload.alt_text.clone());
        let target = self
            .call("files.getUploadURLExternal", None, || async {
                self.session(&self.token())
                    .get_upload_url_external(&request)
                    .await
            })
            .await?;
        let bytes = SlackApiFilesUploadViaUrlRequest::new(
            target.upload_url.clone(),
            upload.bytes.clone(),
            content_type(&upload.filename).to_owned(),
        );
        self.call("files.upload (bytes)", None, || async {
            self.session(&self.token())
                .files_upload_via_url(&bytes)
                .await
        })
        .await?;
        let complete =
            SlackApiFilesCompleteUploadExternalRequest::new(vec![SlackApiFilesComplete::new(
                target.file_id.clone(),
            )
            .with_title(upload.title.clone())])
            .opt_channel_id(upload.channel.as_ref().map(|c| c.0.clone().into()))
            .opt_thread_ts(upload.thread.as_ref().map(|t| t.0.clone().into()))
            .opt_initial_comment(upload.initial_comment.clone());
        self.call(
            "files.completeUploadExternal",
            upload.channel.as_ref(),
            || async {
                self.session(&self.token())
                    .files_complete_upload_external(&complete)
                    .await
            },
        )
        .await?;
        Ok(UploadedFile {
            id: FileId(target.file_id.0),
        })
    }
}

/// The content type of the bytes, from the file name's extension.
fn content_type(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("json") => "application/json",
        Some("txt" | "log") => "text/plain",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("graph.PNG"), "image/png");
        assert_eq!(content_type("out.json"), "application/json");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}

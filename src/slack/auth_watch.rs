//! `AuthWatch`: a `Messenger` wrapper that fetches a refused bot token again once, and stops the bot when Slack still does not accept it.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::interaction::{ChannelId, MessageTs, ResponseUrl, UserId};
use super::message::{Message, Visibility};
use super::messenger::{
    BotIdentity, FileUpload, Messenger, NameLookup, SlackApiError, StreamStart, ThreadRead,
    UploadedFile,
};
use crate::secrets::Secret;

/// Trips once: keeps the first refusal's Slack error code and cancels the daemon's stop token.
#[derive(Clone)]
pub struct Refusal {
    code: Arc<OnceLock<String>>,
    stop: CancellationToken,
}

impl Refusal {
    /// `stop` is cancelled when Slack refuses the token (the daemon's shutdown signal).
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            code: Arc::new(OnceLock::new()),
            stop,
        }
    }

    /// The error code of the first refusal, if Slack refused the token.
    pub fn code(&self) -> Option<String> {
        self.code.get().cloned()
    }

    fn trip(&self, method: &'static str, code: &str) {
        if self.code.set(code.to_owned()).is_ok() {
            error!(
                method,
                code,
                "Slack no longer accepts the bot token; stopping. Unhandled alarms stay in SQS."
            );
        }
        self.stop.cancel();
    }
}

/// Passes every call through. When Slack refuses the token itself (`invalid_auth`,
/// `token_revoked`), the bot token is fetched again where it came from (at most once a minute
/// per secret id) and, if that brought a new value, the call is made once more with it. An
/// answer that `is_auth_failure` after that trips `Refusal`.
pub struct AuthWatch {
    inner: Arc<dyn Messenger>,
    refusal: Refusal,
    /// `slack.bot_token`, the one `inner` sends.
    token: Secret,
}

impl AuthWatch {
    pub fn new(inner: Arc<dyn Messenger>, refusal: Refusal, token: Secret) -> Self {
        Self {
            inner,
            refusal,
            token,
        }
    }

    /// Runs `call`; after a refused token, once more if the token was renewed.
    async fn watch<T, F, Fut>(&self, call: F) -> Result<T, SlackApiError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SlackApiError>>,
    {
        let seen = self.token.generation();
        let result = call().await;
        let refused = matches!(&result, Err(e) if e.is_token_refused());
        let result = if refused && self.token.refresh(seen).await.renewed() {
            if let Err(SlackApiError::Rejected { method, code }) = &result {
                info!(method, code, source = %self.token, "Slack refused the bot token; trying the value fetched again.");
            }
            call().await
        } else {
            result
        };
        if let Err(e @ SlackApiError::Rejected { method, code }) = &result {
            if e.is_auth_failure() {
                self.refusal.trip(method, code);
            }
        }
        result
    }
}

#[async_trait]
impl Messenger for AuthWatch {
    async fn post(
        &self,
        channel: &ChannelId,
        thread: Option<&MessageTs>,
        message: &Message,
    ) -> Result<MessageTs, SlackApiError> {
        self.watch(|| self.inner.post(channel, thread, message))
            .await
    }

    async fn update(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        message: &Message,
    ) -> Result<(), SlackApiError> {
        self.watch(|| self.inner.update(channel, ts, message)).await
    }

    async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &UserId,
        thread: Option<&MessageTs>,
        message: &Message,
    ) -> Result<(), SlackApiError> {
        self.watch(|| self.inner.post_ephemeral(channel, user, thread, message))
            .await
    }

    async fn respond(
        &self,
        url: &ResponseUrl,
        message: &Message,
        visibility: Visibility,
    ) -> Result<(), SlackApiError> {
        self.watch(|| self.inner.respond(url, message, visibility))
            .await
    }

    async fn identity(&self) -> Result<BotIdentity, SlackApiError> {
        self.watch(|| self.inner.identity()).await
    }

    async fn start_stream(&self, start: &StreamStart) -> Result<MessageTs, SlackApiError> {
        self.watch(|| self.inner.start_stream(start)).await
    }

    async fn append_stream(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: &str,
    ) -> Result<(), SlackApiError> {
        self.watch(|| self.inner.append_stream(channel, ts, markdown))
            .await
    }

    async fn stop_stream(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: Option<&str>,
    ) -> Result<(), SlackApiError> {
        self.watch(|| self.inner.stop_stream(channel, ts, markdown))
            .await
    }

    async fn read_thread(
        &self,
        channel: &ChannelId,
        thread: &MessageTs,
    ) -> Result<ThreadRead, SlackApiError> {
        self.watch(|| self.inner.read_thread(channel, thread)).await
    }

    async fn group_members(&self, group: &str) -> Result<Vec<UserId>, SlackApiError> {
        self.watch(|| self.inner.group_members(group)).await
    }

    async fn upload_file(&self, upload: &FileUpload) -> Result<UploadedFile, SlackApiError> {
        self.watch(|| self.inner.upload_file(upload)).await
    }

    async fn user_name(&self, user: &UserId) -> Result<NameLookup, SlackApiError> {
        self.watch(|| self.inner.user_name(user)).await
    }

    async fn permalink(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
    ) -> Result<String, SlackApiError> {
        self.watch(|| self.inner.permalink(channel, ts)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Refusing(&'static str);

    #[async_trait]
    impl Messenger for Refusing {
        async fn post(
            &self,
            _: &ChannelId,
            _: Option<&MessageTs>,
            _: &Message,
        ) -> Result<MessageTs, SlackApiError> {
            Err(SlackApiError::Rejected {
                method: "chat.postMessage",
                code: self.0.into(),
            })
        }
        async fn update(
            &self,
            _: &ChannelId,
            _: &MessageTs,
            _: &Message,
        ) -> Result<(), SlackApiError> {
            unreachable!()
        }
        async fn post_ephemeral(
            &self,
            _: &ChannelId,
            _: &UserId,
            _: Option<&MessageTs>,
            _: &Message,
        ) -> Result<(), SlackApiError> {
            unreachable!()
        }
        async fn respond(
            &self,
            _: &ResponseUrl,
            _: &Message,
            _: Visibility,
        ) -> Result<(), SlackApiError> {
            unreachable!()
        }
        async fn identity(&self) -> Result<BotIdentity, SlackApiError> {
            unreachable!()
        }
        async fn start_stream(&self, _: &StreamStart) -> Result<MessageTs, SlackApiError> {
            unreachable!()
        }
        async fn append_stream(
            &self,
            _: &ChannelId,
            _: &MessageTs,
            _: &str,
        ) -> Result<(), SlackApiError> {
            unreachable!()
        }
        async fn stop_stream(
            &self,
            _: &ChannelId,
            _: &MessageTs,
            _: Option<&str>,
        ) -> Result<(), SlackApiError> {
            unreachable!()
        }
        async fn read_thread(
            &self,
            _: &ChannelId,
            _: &MessageTs,
        ) -> Result<ThreadRead, SlackApiError> {
            unreachable!()
        }
        async fn user_name(&self, _: &UserId) -> Result<NameLookup, SlackApiError> {
            unreachable!()
        }
        async fn group_members(&self, _: &str) -> Result<Vec<UserId>, SlackApiError> {
            unreachable!()
        }
        async fn upload_file(&self, _: &FileUpload) -> Result<UploadedFile, SlackApiError> {
            unreachable!()
        }
        async fn permalink(&self, _: &ChannelId, _: &MessageTs) -> Result<String, SlackApiError> {
            unreachable!()
        }
    }

    async fn post_through_watch(code: &'static str) -> Refusal {
        let refusal = Refusal::new(CancellationToken::new());
        let watch = AuthWatch::new(
            Arc::new(Refusing(code)),
            refusal.clone(),
            Secret::from("xoxb-unit-test"),
        );
        let message = Message::markdown(crate::slack::message::Mrkdwn::escaped("hi"));
        assert!(watch
            .post(&ChannelId("C1".into()), None, &message)
            .await
            .is_err());
        refusal
    }

    #[tokio::test]
    async fn a_revoked_token_trips_the_stop_and_keeps_the_code() {
        let refusal = post_through_watch("token_revoked").await;
        assert!(refusal.stop.is_cancelled());
        assert_eq!(refusal.code().as_deref(), Some("token_revoked"));
    }

    #[tokio::test]
    async fn other_rejections_do_not_stop_the_bot() {
        let refusal = post_through_watch("channel_not_found").await;
        assert!(!refusal.stop.is_cancelled());
        assert_eq!(refusal.code(), None);
    }
}

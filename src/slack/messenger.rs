//! `Messenger`: how handlers talk to Slack's Web API. The real one is slack-morphism behind per-method queues.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use hyper_rustls::HttpsConnector;
use slack_morphism::prelude::*;
use url::Url;

use super::blocks;
use super::interaction::{ChannelId, MessageTs, ResponseUrl, TeamId, UserId};
use super::message::{Message, Visibility};
use super::pacing::ChannelPacer;
use crate::config::ProxySettings;
use crate::egress::connector::ProxyConnector;
use crate::secrets::Secret;
use crate::telemetry::metrics::SlackApiMetrics;

mod call;
mod files;
mod permalink;
mod read_back;
mod replies;
mod stream;
mod usergroups;
mod users;

use call::MethodGate;
pub use files::{FileUpload, UploadedFile, MAX_UPLOAD_BYTES};
pub use permalink::{permalink_from_team_url, permalink_like};
pub(crate) use replies::ts_order;
pub use replies::{ThreadMessage, ThreadRead, MAX_REPLIES_PAGES, REPLIES_PAGE_LIMIT};
pub use stream::{StreamStart, MAX_STREAM_MARKDOWN_CHARS};
pub use usergroups::GROUP_MEMBERS_TTL;
pub use users::{NameLookup, USER_NAME_CACHE_CAPACITY};

/// A failed Web API call, by cause.
#[derive(Debug, thiserror::Error)]
pub enum SlackApiError {
    /// Slack answered `ok:false`, e.g. `channel_not_found`, `invalid_auth`.
    #[error("Slack rejected {method}: {code}")]
    Rejected { method: &'static str, code: String },
    #[error("Slack kept rate limiting {method}")]
    RateLimited { method: &'static str },
    #[error("Slack answered {method} with HTTP {status}")]
    Http { method: &'static str, status: u16 },
    /// No answer within `slack.request_timeout` (connecting included), on every attempt. Slack
    /// may still have acted on the request.
    #[error("Slack did not answer {method} within {timeout:?}")]
    TimedOut {
        method: &'static str,
        timeout: Duration,
    },
    #[error("could not complete {method}")]
    Transport {
        method: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

impl SlackApiError {
    /// True when the bot's token is no longer usable: nothing but an operator can fix this.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Rejected { code, .. } if super::socket::opener::FATAL_CODES.contains(&code.as_str()))
    }

    /// True when Slack refused the token itself (`invalid_auth`, `token_revoked`…): a rotated
    /// token fetched again may be accepted.
    pub fn is_token_refused(&self) -> bool {
        matches!(self, Self::Rejected { code, .. } if super::socket::opener::is_token_refused(code))
    }
}

/// Who the bot is in this workspace (`auth.test`).
#[derive(Clone, Debug, PartialEq)]
pub struct BotIdentity {
    pub user_id: UserId,
    /// The bot user's handle, as in `@name`.
    pub name: String,
    pub team: String,
    /// The workspace's id (`T…`), the recipient team of streams when an interaction names none.
    pub team_id: TeamId,
    /// The bot's `bot_id` (`B…`), which its messages carry.
    pub bot_id: Option<String>,
    /// The workspace's URL, e.g. `https://example.slack.com/`: permalinks are built from it when
    /// `chat.getPermalink` fails.
    pub team_url: Option<String>,
}

/// The Slack Web API calls the bot makes.
#[async_trait]
pub trait Messenger: Send + Sync + 'static {
    /// `chat.postMessage`; returns the new message's ts.
    async fn post(
        &self,
        channel: &ChannelId,
        thread: Option<&MessageTs>,
        message: &Message,
    ) -> Result<MessageTs, SlackApiError>;
    /// `chat.update` of a message the bot posted.
    async fn update(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        message: &Message,
    ) -> Result<(), SlackApiError>;
    /// `chat.postEphemeral`: visible to `user` only.
    async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &UserId,
        thread: Option<&MessageTs>,
        message: &Message,
    ) -> Result<(), SlackApiError>;
    /// Reply through an interaction's `response_url`.
    async fn respond(
        &self,
        url: &ResponseUrl,
        message: &Message,
        visibility: Visibility,
    ) -> Result<(), SlackApiError>;
    /// `auth.test`.
    async fn identity(&self) -> Result<BotIdentity, SlackApiError>;
    /// `chat.startStream`: a new reply in `start.thread` that grows as Markdown is appended;
    /// returns its ts. Refused (`unknown_method`, `feature_not_enabled`, …) where Slack does not stream.
    async fn start_stream(&self, start: &StreamStart) -> Result<MessageTs, SlackApiError>;
    /// `chat.appendStream`: `markdown` added at the end of the live stream `ts`.
    async fn append_stream(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: &str,
    ) -> Result<(), SlackApiError>;
    /// `chat.stopStream`: ends the stream `ts`, with `markdown` added last when given.
    async fn stop_stream(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: Option<&str>,
    ) -> Result<(), SlackApiError>;
    /// `conversations.replies`, every page (200 messages a page, at most [`MAX_REPLIES_PAGES`]):
    /// the thread's root and replies, oldest first, metadata included; `cut` when pages were left.
    async fn read_thread(
        &self,
        channel: &ChannelId,
        thread: &MessageTs,
    ) -> Result<ThreadRead, SlackApiError>;
    /// `users.info`: the user's display name (else real name, else handle), from a cache kept for
    /// the process's life (at most [`USER_NAME_CACHE_CAPACITY`] users). A user Slack does not
    /// find (`user_not_found`, `user_not_visible`) is named by its id.
    async fn user_name(&self, user: &UserId) -> Result<NameLookup, SlackApiError>;
    /// `chat.getPermalink`: the message's link (a reply's carries `thread_ts` and `cid`).
    async fn permalink(&self, channel: &ChannelId, ts: &MessageTs)
        -> Result<String, SlackApiError>;
    /// `usergroups.users.list`: the members of user group `group` (`S…`), reused for
    /// [`GROUP_MEMBERS_TTL`] after Slack answered.
    async fn group_members(&self, group: &str) -> Result<Vec<UserId>, SlackApiError>;
    /// `files.getUploadURLExternal`, the bytes, `files.completeUploadExternal`: the file shared in
    /// `upload.channel` (and thread) when given, else kept private to the bot.
    async fn upload_file(&self, upload: &FileUpload) -> Result<UploadedFile, SlackApiError>;
}

/// The part of `chat.postMessage`'s answer the bot uses.
#[derive(serde::Deserialize)]
struct PostedMessage {
    ts: SlackTs,
}

/// `chat.update`'s answer: only `ok` matters, which the client checks.
#[derive(serde::Deserialize)]
struct UpdatedMessage {}

type Connector = SlackClientHyperConnector<HttpsConnector<ProxyConnector>>;

/// Retries of one call after 429s before giving up; each waits as long as Slack asked.
const MAX_RATE_LIMITED_RETRIES: u32 = 8;
/// Retries after 5xx, transport failures or timeouts; the n-th waits 250 ms × 2ⁿ first.
const MAX_FAILURE_RETRIES: u32 = 2;
/// Calls of one method in flight at once; the rest queue in order.
const PER_METHOD_CONCURRENCY: usize = 16;

/// Slack's rate tiers for the methods the bot calls in bursts when it reads a long thread: each
/// is paced (one call per interval after a burst) so a report stays within the tier instead of
/// running into 429s. `conversations.replies` is Tier 3 (50+ a minute), `users.info` Tier 4
/// (100+ a minute); the other methods are paced per channel or not at all.
const METHOD_TIERS: [(&str, Duration, u32); 2] = [
    ("conversations.replies", Duration::from_millis(1200), 50),
    ("users.info", Duration::from_millis(600), 100),
];

/// The bot token as slack-morphism takes it, for one generation of the `Secret`.
struct BotToken {
    generation: u64,
    token: SlackApiToken,
}

/// The real `Messenger`: slack-morphism pointed at `slack.api_url`.
pub struct SlackMessenger {
    client: SlackClient<Connector>,
    /// `slack.bot_token`; read again when it was fetched again after a refusal.
    bot_token: Secret,
    /// `bot_token` made a `SlackApiToken` once per generation, not once per call.
    token: ArcSwap<BotToken>,
    http: reqwest::Client,
    gates: Mutex<HashMap<&'static str, Arc<MethodGate>>>,
    /// `slack.request_timeout`: the bound on each attempt, connecting included.
    request_timeout: Duration,
    /// Paces every attempt of `post`, `update` and stream start/stop per channel; `None` when off.
    pacer: Option<ChannelPacer>,
    /// Names from `users.info`, kept for the process's life, capped.
    user_names: users::UserNameCache,
    /// Members of user groups, kept for [`GROUP_MEMBERS_TTL`].
    groups: usergroups::GroupCache,
    /// Per-method pace (interval, burst) of the tiered methods: [`METHOD_TIERS`] unless changed.
    tiers: HashMap<&'static str, (Duration, u32)>,
    /// Every attempt counted by method and result (`with_metrics`); `None` in most tests.
    metrics: Option<SlackApiMetrics>,
}

impl SlackMessenger {
    /// A client of the Web API at `api_url` whose every attempt (and every connect) is bounded by
    /// `request_timeout`, connecting through `proxy` as it says. Unpaced until `with_channel_pacer`.
    pub fn new(
        api_url: &Url,
        bot_token: &Secret,
        request_timeout: Duration,
        proxy: &ProxySettings,
    ) -> anyhow::Result<Self> {
        super::tls::install_crypto_provider();
        // slack-morphism sets no timeout of its own: the connect timeout (a proxy tunnel
        // included) goes on the connector, the request timeout around each attempt (`call`).
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector::new(proxy, request_timeout));
        let connector = SlackClientHyperConnector::with_connector(https)
            .with_slack_api_url(api_url.as_str().trim_end_matches('/'));
        let token = ArcSwap::from_pointee(bot_token_of(bot_token));
        let http = crate::egress::reqwest_builder(proxy)
            .connect_timeout(request_timeout)
            .timeout(request_timeout)
            .build()?;
        Ok(Self {
            client: SlackClient::new(connector),
            bot_token: bot_token.clone(),
            token,
            http,
            gates: Mutex::new(HashMap::new()),
            request_timeout,
            pacer: None,
            metrics: None,
            user_names: users::UserNameCache::new(USER_NAME_CACHE_CAPACITY),
            groups: usergroups::GroupCache::default(),
            tiers: METHOD_TIERS
                .iter()
                .map(|(method, interval, burst)| (*method, (*interval, *burst)))
                .collect(),
        })
    }

    /// Paces every attempt of `method` to `burst` calls at once, then one per `interval`
    /// (replacing its tier's pace): for tests, which cannot wait out Slack's real tiers.
    pub fn with_method_pace(
        mut self,
        method: &'static str,
        interval: Duration,
        burst: u32,
    ) -> Self {
        self.tiers.insert(method, (interval, burst));
        self
    }

    /// Paces every attempt of `post`, `update` and stream start/stop, retries included, per channel.
    pub fn with_channel_pacer(self, pacer: ChannelPacer) -> Self {
        Self {
            pacer: Some(pacer),
            ..self
        }
    }

    /// Counts every attempt of every call by method and result, 429s included.
    pub fn with_metrics(self, metrics: SlackApiMetrics) -> Self {
        let metrics = Some(metrics);
        Self { metrics, ..self }
    }

    /// The bot token of this moment: the same `Arc` until the `Secret` changes.
    fn token(&self) -> Arc<BotToken> {
        let cached = self.token.load_full();
        if cached.generation == self.bot_token.generation() {
            return cached;
        }
        let fresh = Arc::new(bot_token_of(&self.bot_token));
        self.token.store(fresh.clone());
        fresh
    }

    fn session<'a>(&'a self, token: &'a BotToken) -> SlackClientSession<'a, Connector> {
        self.client.open_session(&token.token)
    }
}

fn bot_token_of(secret: &Secret) -> BotToken {
    let current = secret.current();
    BotToken {
        generation: current.generation(),
        token: SlackApiToken::new(SlackApiTokenValue(current.expose().to_owned())),
    }
}

#[async_trait]
impl Messenger for SlackMessenger {
    async fn post(
        &self,
        channel: &ChannelId,
        thread: Option<&MessageTs>,
        message: &Message,
    ) -> Result<MessageTs, SlackApiError> {
        let request =
            SlackApiChatPostMessageRequest::new(channel.0.clone().into(), blocks::content(message))
                .opt_thread_ts(thread.map(|t| t.0.clone().into()));
        if let Some(post_id) = &message.post_id {
            return self.post_once(channel, thread, &request, post_id).await;
        }
        // Slack echoes the whole message back; only its ts is needed, so only that is decoded.
        let response = self.call("chat.postMessage", Some(channel), || async {
            let token = self.token();
            self.session(&token)
                .http_session_api
                .http_post::<_, PostedMessage>("chat.postMessage", &request, None)
                .await
        });
        Ok(MessageTs(response.await?.ts.0))
    }

    async fn update(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        message: &Message,
    ) -> Result<(), SlackApiError> {
        let request = SlackApiChatUpdateRequest::new(
            channel.0.clone().into(),
            blocks::content(message),
            ts.0.clone().into(),
        );
        self.call("chat.update", Some(channel), || async {
            let token = self.token();
            self.session(&token)
                .http_session_api
                .http_post::<_, UpdatedMessage>("chat.update", &request, None)
                .await
        })
        .await
        .map(|_| ())
    }

    async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &UserId,
        thread: Option<&MessageTs>,
        message: &Message,
    ) -> Result<(), SlackApiError> {
        let request = SlackApiChatPostEphemeralRequest::new(
            channel.0.clone().into(),
            user.0.clone().into(),
            blocks::content(message),
        )
        .opt_thread_ts(thread.map(|t| t.0.clone().into()));
        self.call("chat.postEphemeral", None, || async {
            let token = self.token();
            self.session(&token).chat_post_ephemeral(&request).await
        })
        .await
        .map(|_| ())
    }

    async fn respond(
        &self,
        url: &ResponseUrl,
        message: &Message,
        visibility: Visibility,
    ) -> Result<(), SlackApiError> {
        const METHOD: &str = "response_url";
        let mut body = blocks::to_json(message);
        body["response_type"] = match visibility {
            Visibility::Ephemeral => "ephemeral",
            Visibility::InChannel => "in_channel",
        }
        .into();
        body["replace_original"] = false.into();
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                SlackApiError::TimedOut {
                    method: METHOD,
                    timeout: self.request_timeout,
                }
            } else {
                SlackApiError::Transport {
                    method: METHOD,
                    source: e.without_url().into(),
                }
            }
        };
        let response = self
            .http
            .post(&url.0)
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(SlackApiError::Http {
                method: METHOD,
                status: status.as_u16(),
            });
        }
        Ok(())
    }

    async fn identity(&self) -> Result<BotIdentity, SlackApiError> {
        let response = self
            .call("auth.test", None, || async {
                let token = self.token();
                self.session(&token).auth_test().await
            })
            .await?;
        Ok(BotIdentity {
            user_id: UserId(response.user_id.0),
            name: response.user.unwrap_or_else(|| "chatops-bot".to_owned()),
            team: response.team,
            team_id: TeamId(response.team_id.0),
            bot_id: response.bot_id.map(|id| id.0),
            team_url: Some(response.url.0.to_string()),
        })
    }

    async fn start_stream(&self, start: &StreamStart) -> Result<MessageTs, SlackApiError> {
        self.start_stream_call(start).await
    }

    async fn append_stream(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: &str,
    ) -> Result<(), SlackApiError> {
        self.append_stream_call(channel, ts, markdown).await
    }

    async fn stop_stream(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        markdown: Option<&str>,
    ) -> Result<(), SlackApiError> {
        self.stop_stream_call(channel, ts, markdown).await
    }

    async fn read_thread(
        &self,
        channel: &ChannelId,
        thread: &MessageTs,
    ) -> Result<ThreadRead, SlackApiError> {
        self.read_thread_call(channel, thread).await
    }

    async fn group_members(&self, group: &str) -> Result<Vec<UserId>, SlackApiError> {
        self.group_members_call(group).await
    }

    async fn user_name(&self, user: &UserId) -> Result<NameLookup, SlackApiError> {
        self.user_name_call(user).await
    }

    async fn upload_file(&self, upload: &FileUpload) -> Result<UploadedFile, SlackApiError> {
        self.upload_file_call(upload).await
    }

    async fn permalink(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
    ) -> Result<String, SlackApiError> {
        self.permalink_call(channel, ts).await
    }
}

#[cfg(test)]
mod tests;

//! What every backend shares around its calls: the overall timeout, retries on throttling
//! before any text (full jitter), and the log lines. Each backend makes one attempt
//! ([`Attempts::attempt`]); [`ask_within`] runs them.

use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::answer::{AgentAnswer, Citation};
use super::error::{AgentError, AgentTarget};
use super::request::AgentRequest;
use super::session::SessionId;

/// How throttled calls are retried: full jitter over an exponentially growing ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBackoff {
    /// The ceiling of the first wait.
    pub first: Duration,
    /// The ceiling never grows past this.
    pub max: Duration,
    /// Most calls in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(8),
            max_attempts: 6,
        }
    }
}

impl RetryBackoff {
    /// A random wait in `0..=ceiling`, the ceiling doubling with each retry (`retry` from 1).
    fn wait_before(&self, retry: u32) -> Duration {
        let ceiling = self
            .first
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// The limits of one answer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// The whole answer, retries included.
    pub(super) timeout: Duration,
    /// The response, and each part of its stream.
    pub(super) idle: Duration,
    pub(super) backoff: RetryBackoff,
}

impl Limits {
    /// `bedrock.timeout` and `bedrock.idle_timeout`, with the default retry schedule.
    pub(super) fn of(bedrock: &crate::config::BedrockConfig) -> Self {
        Self {
            timeout: bedrock.timeout,
            idle: bedrock.idle_timeout,
            backoff: RetryBackoff::default(),
        }
    }

    /// `sdk` as one backend's client uses it: `bedrock`'s region and endpoint; 5 s to connect
    /// and `timeout` for the whole operation; the SDK's own retries off (its standard retry
    /// would repeat throttled calls on its own schedule and outside `timeout`: here throttling
    /// is retried by [`RetryBackoff`], inside `timeout`, and never once text has streamed); and
    /// stalled-stream protection off, which InvokeAgentRuntime and ConverseStream install and
    /// which would cut an answer silent for more than 5 s between two events: `idle` is the
    /// limit on silence (aws-sdk-bedrockagentruntime does not install it on InvokeAgent).
    pub(super) fn sdk_config(
        &self,
        sdk: &aws_config::SdkConfig,
        bedrock: &crate::config::BedrockConfig,
    ) -> aws_config::SdkConfig {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_timeout(self.timeout)
            .build();
        let mut config = sdk
            .to_builder()
            .region(aws_config::Region::new(bedrock.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .stalled_stream_protection(
                aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
            )
            .timeout_config(timeouts);
        if let Some(endpoint) = &bedrock.endpoint_url {
            config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        config.build()
    }
}

/// What one successful attempt read.
pub(super) struct Streamed {
    pub(super) text: String,
    pub(super) citations: Vec<Citation>,
    /// The session the service reported, when it reports one.
    pub(super) session_id: Option<SessionId>,
}

/// One attempt's failure, and whether any text had already gone out on `pieces`.
pub(super) struct AttemptFailed {
    pub(super) error: AgentError,
    pub(super) sent_text: bool,
}

impl AttemptFailed {
    pub(super) fn before_text(error: AgentError) -> Self {
        Self {
            error,
            sent_text: false,
        }
    }
}

/// One backend's single call.
#[async_trait]
pub(super) trait Attempts: Send + Sync {
    fn target(&self) -> &AgentTarget;

    /// Sends `request` once and reads the whole answer, every wait limited to `idle`; text
    /// goes out on `pieces` as it arrives.
    async fn attempt(
        &self,
        request: &AgentRequest,
        idle: Duration,
        pieces: &UnboundedSender<String>,
    ) -> Result<Streamed, AttemptFailed>;
}

/// Asks through `backend` within `limits`, and logs the outcome.
pub(super) async fn ask_within(
    backend: &dyn Attempts,
    limits: &Limits,
    request: &AgentRequest,
    pieces: &UnboundedSender<String>,
) -> Result<AgentAnswer, AgentError> {
    let started = Instant::now();
    let deadline = started + limits.timeout;
    let asked = with_retries(backend, limits, request, pieces, deadline, started);
    let outcome = match tokio::time::timeout_at(deadline, asked).await {
        Ok(outcome) => outcome,
        Err(_) => Err(AgentError::TimedOut {
            limit: limits.timeout,
        }),
    };
    let target = backend.target().describe();
    match &outcome {
        Ok(answer) => tracing::info!(
            target = %target,
            session_id = %answer.session_id,
            chars = answer.text.chars().count(),
            citations = answer.citations.len(),
            attempts = answer.attempts,
            duration_ms = u64::try_from(answer.duration.as_millis()).unwrap_or(u64::MAX),
            "the agent answered"
        ),
        Err(error) => tracing::warn!(
            target = %target,
            session_id = %request.session_id,
            error = format!("{error:#}"),
            "the agent gave no answer"
        ),
    }
    outcome
}

/// Calls until an answer, an error other than throttling, throttling after text, the last
/// attempt, or a wait that would end past `deadline`.
async fn with_retries(
    backend: &dyn Attempts,
    limits: &Limits,
    request: &AgentRequest,
    pieces: &UnboundedSender<String>,
    deadline: Instant,
    started: Instant,
) -> Result<AgentAnswer, AgentError> {
    let mut attempt = 1;
    loop {
        let failed = match backend.attempt(request, limits.idle, pieces).await {
            Ok(streamed) => {
                return Ok(AgentAnswer {
                    text: streamed.text,
                    citations: streamed.citations,
                    session_id: streamed
                        .session_id
                        .unwrap_or_else(|| request.session_id.clone()),
                    duration: started.elapsed(),
                    attempts: attempt,
                })
            }
            Err(AttemptFailed { error, sent_text }) => {
                if !error.is_retryable_throttle() || sent_text {
                    return Err(with_attempts(error, attempt));
                }
                error
            }
        };
        let wait = limits.backoff.wait_before(attempt);
        if attempt >= limits.backoff.max_attempts || Instant::now() + wait >= deadline {
            return Err(with_attempts(failed, attempt));
        }
        tracing::info!(
            target = %backend.target().describe(),
            session_id = %request.session_id,
            attempt,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "the agent is throttled; retrying"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

fn with_attempts(error: AgentError, attempts: u32) -> AgentError {
    match error {
        AgentError::Throttled { after_text, .. } => AgentError::Throttled {
            attempts,
            after_text,
        },
        other => other,
    }
}

/// Sends a non-empty piece on, and adds it to the answer.
pub(super) fn emit(text: String, answer: &mut String, pieces: &UnboundedSender<String>) {
    if !text.is_empty() {
        answer.push_str(&text);
        // A dropped receiver only means nobody is watching; the answer is still returned.
        let _ = pieces.send(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_but_stay_under_the_ceiling() {
        let backoff = RetryBackoff {
            first: Duration::from_millis(100),
            max: Duration::from_millis(350),
            max_attempts: 10,
        };
        for _ in 0..50 {
            assert!(backoff.wait_before(1) <= Duration::from_millis(100));
            assert!(backoff.wait_before(2) <= Duration::from_millis(200));
            assert!(backoff.wait_before(3) <= Duration::from_millis(350));
            assert!(backoff.wait_before(40) <= Duration::from_millis(350));
        }
    }
}

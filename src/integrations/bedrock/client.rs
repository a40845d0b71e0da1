//! `BedrockAgent`: the real `Agent`, InvokeAgent through aws-sdk-bedrockagentruntime, with the
//! overall timeout and the retries on throttling.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::Region;
use rand::Rng;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::answer::AgentAnswer;
use super::error::{AgentError, AgentTarget};
use super::request::AgentRequest;
use super::stream::{invoke_once, AttemptFailed};
use super::Agent;
use crate::config::BedrockConfig;

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

/// InvokeAgent on one agent alias.
pub struct BedrockAgent {
    client: aws_sdk_bedrockagentruntime::Client,
    target: AgentTarget,
    timeout: Duration,
    idle_timeout: Duration,
    backoff: RetryBackoff,
}

impl BedrockAgent {
    /// A client on `sdk`'s credentials, with `bedrock`'s region and endpoint.
    ///
    /// The SDK's retries are off: its standard retry would repeat throttled calls on its own
    /// schedule and outside `timeout`; here throttling is retried by [`RetryBackoff`], inside
    /// `timeout`, and never once text has been streamed.
    ///
    /// Stalled-stream protection is left as configured: aws-sdk-bedrockagentruntime 1.151 does
    /// not install it on event-stream operations (`operation/invoke_agent.rs` registers no
    /// `StalledStreamProtectionInterceptor`), so it cannot cut a thinking agent short; the limit
    /// on a silent stream is `idle_timeout` (tests/bedrock_agent.rs checks a 12 s silence).
    pub fn new(sdk: &aws_config::SdkConfig, bedrock: &BedrockConfig) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_timeout(bedrock.timeout)
            .build();
        let mut config = aws_sdk_bedrockagentruntime::config::Builder::from(sdk)
            .region(Region::new(bedrock.region.clone()))
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(endpoint) = &bedrock.endpoint_url {
            config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        Self {
            client: aws_sdk_bedrockagentruntime::Client::from_conf(config.build()),
            target: AgentTarget {
                agent_id: bedrock.agent_id.clone(),
                agent_alias_id: bedrock.agent_alias_id.clone(),
                region: bedrock.region.clone(),
            },
            timeout: bedrock.timeout,
            idle_timeout: bedrock.idle_timeout,
            backoff: RetryBackoff::default(),
        }
    }

    /// The same agent with another retry schedule (tests use short waits).
    pub fn with_backoff(mut self, backoff: RetryBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The agent alias this client calls.
    pub fn target(&self) -> &AgentTarget {
        &self.target
    }

    /// Calls until an answer, an error other than throttling, throttling after text, the last
    /// attempt, or a wait that would end past `deadline`.
    async fn ask_with_retries(
        &self,
        request: &AgentRequest,
        pieces: &UnboundedSender<String>,
        deadline: Instant,
        started: Instant,
    ) -> Result<AgentAnswer, AgentError> {
        let mut attempt = 1;
        loop {
            let failed = match invoke_once(
                &self.client,
                &self.target,
                request,
                self.idle_timeout,
                pieces,
            )
            .await
            {
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
            let wait = self.backoff.wait_before(attempt);
            if attempt >= self.backoff.max_attempts || Instant::now() + wait >= deadline {
                return Err(with_attempts(failed, attempt));
            }
            tracing::info!(
                agent_id = %self.target.agent_id,
                session_id = %request.session_id,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "the agent is throttled; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
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

#[async_trait]
impl Agent for BedrockAgent {
    async fn ask(
        &self,
        request: AgentRequest,
        pieces: UnboundedSender<String>,
    ) -> Result<AgentAnswer, AgentError> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let asked = self.ask_with_retries(&request, &pieces, deadline, started);
        let outcome = match tokio::time::timeout_at(deadline, asked).await {
            Ok(outcome) => outcome,
            Err(_) => Err(AgentError::TimedOut {
                limit: self.timeout,
            }),
        };
        match &outcome {
            Ok(answer) => tracing::info!(
                agent_id = %self.target.agent_id,
                session_id = %answer.session_id,
                chars = answer.text.chars().count(),
                citations = answer.citations.len(),
                attempts = answer.attempts,
                duration_ms = u64::try_from(answer.duration.as_millis()).unwrap_or(u64::MAX),
                "the agent answered"
            ),
            Err(error) => tracing::warn!(
                agent_id = %self.target.agent_id,
                session_id = %request.session_id,
                error = format!("{error:#}"),
                "the agent gave no answer"
            ),
        }
        outcome
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

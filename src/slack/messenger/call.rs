//! `SlackMessenger::call`: every Web API call's attempts, with the per-method 429 pause, the
//! channel's pace, the method's slots and the request timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::warn;

use super::{
    SlackApiError, SlackMessenger, MAX_FAILURE_RETRIES, MAX_RATE_LIMITED_RETRIES,
    PER_METHOD_CONCURRENCY,
};
use crate::slack::interaction::ChannelId;
use crate::slack::pacing::ChannelPacer;
use crate::telemetry::metrics::ApiResult;

/// One queue per Web API method: a 429 pauses every later call of that method until Retry-After;
/// a tiered method is also paced to its tier.
pub(super) struct MethodGate {
    slots: Semaphore,
    resume_at: Mutex<Option<Instant>>,
    /// The method's tier pace: one key (the method's name) in a GCRA pacer.
    tier: Option<ChannelPacer>,
}

impl MethodGate {
    async fn wait_until_open(&self) {
        loop {
            let resume_at = *self.resume_at.lock().unwrap_or_else(|e| e.into_inner());
            match resume_at {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => return,
            }
        }
    }
    fn pause_for(&self, delay: Duration) {
        let mut resume_at = self.resume_at.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + delay;
        if resume_at.is_none_or(|at| at < until) {
            *resume_at = Some(until);
        }
    }
}

impl SlackMessenger {
    fn gate(&self, method: &'static str) -> Arc<MethodGate> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates
            .entry(method)
            .or_insert_with(|| {
                Arc::new(MethodGate {
                    slots: Semaphore::new(PER_METHOD_CONCURRENCY),
                    resume_at: Mutex::new(None),
                    tier: self
                        .tiers
                        .get(method)
                        .map(|(interval, burst)| ChannelPacer::new(*interval, *burst)),
                })
            })
            .clone()
    }

    /// Run one Web API call. Every attempt waits for the method's 429 pause, then for the
    /// channel's pace when `paced` names one, then for a slot in the method's queue, and is cut
    /// off after `request_timeout` (giving its slot back). A 429 is retried after Retry-After;
    /// a 5xx, a transport failure or a timeout is retried after a short backoff.
    pub(super) async fn call<T, F, Fut>(
        &self,
        method: &'static str,
        paced: Option<&ChannelId>,
        attempt: F,
    ) -> Result<T, SlackApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ClientResult<T>>,
    {
        let gate = self.gate(method);
        let (mut rate_limited, mut failures) = (0, 0);
        loop {
            gate.wait_until_open().await;
            if let Some(tier) = &gate.tier {
                tier.take_turn(method, &ChannelId(method.to_owned())).await;
            }
            if let (Some(pacer), Some(channel)) = (&self.pacer, paced) {
                pacer.take_turn(method, channel).await;
            }
            let outcome = {
                let _slot = gate.slots.acquire().await;
                tokio::time::timeout(self.request_timeout, attempt()).await
            };
            if let Some(metrics) = &self.metrics {
                metrics.attempt(method, api_result(&outcome));
            }
            let failure = match outcome {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(SlackClientError::RateLimitError(e))) => {
                    rate_limited += 1;
                    if rate_limited > MAX_RATE_LIMITED_RETRIES {
                        return Err(SlackApiError::RateLimited { method });
                    }
                    let delay = e.retry_after.unwrap_or(Duration::from_secs(1));
                    warn!(method, retry_after = ?delay, "Slack rate limited a call; pausing this method.");
                    gate.pause_for(delay);
                    continue;
                }
                Ok(Err(e)) => failed_attempt(method, e),
                Err(_elapsed) => FailedAttempt::Retryable(SlackApiError::TimedOut {
                    method,
                    timeout: self.request_timeout,
                }),
            };
            match failure {
                FailedAttempt::Retryable(error) if failures < MAX_FAILURE_RETRIES => {
                    failures += 1;
                    warn!(
                        method,
                        error = format!("{:#}", anyhow::Error::new(error)),
                        "Slack call failed; retrying."
                    );
                    tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(failures))).await;
                }
                FailedAttempt::Retryable(error) | FailedAttempt::Final(error) => return Err(error),
            }
        }
    }
}

/// How an attempt ended, for `chatops_slack_api_calls_total`.
fn api_result<T, E>(outcome: &Result<ClientResult<T>, E>) -> ApiResult {
    match outcome {
        Ok(Ok(_)) => ApiResult::Ok,
        Ok(Err(SlackClientError::RateLimitError(_))) => ApiResult::RateLimited,
        Ok(Err(SlackClientError::ApiError(_))) => ApiResult::Rejected,
        Ok(Err(SlackClientError::HttpError(_))) => ApiResult::HttpError,
        Ok(Err(_)) => ApiResult::Transport,
        Err(_elapsed) => ApiResult::Timeout,
    }
}

/// A failed attempt (other than a 429), and whether another attempt may succeed.
enum FailedAttempt {
    /// A 5xx, a transport failure or a timeout: Slack may answer the next attempt.
    Retryable(SlackApiError),
    /// Slack said no (`ok:false`, a 4xx) or answered something unreadable.
    Final(SlackApiError),
}

fn failed_attempt(method: &'static str, error: SlackClientError) -> FailedAttempt {
    match error {
        SlackClientError::ApiError(e) => FailedAttempt::Final(SlackApiError::Rejected {
            method,
            code: e.code,
        }),
        SlackClientError::HttpError(e) => {
            let status = e.status_code;
            let error = SlackApiError::Http {
                method,
                status: status.as_u16(),
            };
            if status.is_server_error() {
                FailedAttempt::Retryable(error)
            } else {
                FailedAttempt::Final(error)
            }
        }
        e @ (SlackClientError::HttpProtocolError(_) | SlackClientError::SystemError(_)) => {
            FailedAttempt::Retryable(SlackApiError::Transport {
                method,
                source: anyhow::anyhow!("{e}"),
            })
        }
        e => FailedAttempt::Final(SlackApiError::Transport {
            method,
            source: anyhow::anyhow!("{e}"),
        }),
    }
}

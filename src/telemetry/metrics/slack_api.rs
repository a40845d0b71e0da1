//! Web API metrics: every attempt of every call by method and result, and the 429s among them.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::family;

/// How one Web API attempt ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ApiResult {
    /// Slack answered `ok: true`.
    Ok,
    /// Slack answered `ok: false` (an error code).
    Rejected,
    /// 429 Too Many Requests.
    RateLimited,
    /// Another HTTP status (a 5xx, a 4xx).
    HttpError,
    /// No answer within `slack.request_timeout`.
    Timeout,
    /// The connection failed, or the answer did not read.
    Transport,
}

impl ApiResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Rejected => "rejected",
            Self::RateLimited => "rate_limited",
            Self::HttpError => "http_error",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
        }
    }
}

impl EncodeLabelValue for ApiResult {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodResult {
    method: &'static str,
    result: ApiResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Method {
    method: &'static str,
}

/// `chatops_slack_api_calls_total{method, result}` and `chatops_slack_rate_limited_total{method}`.
#[derive(Clone)]
pub struct SlackApiMetrics {
    calls: Family<MethodResult, Counter>,
    rate_limited: Family<Method, Counter>,
}

impl SlackApiMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        Self {
            calls: family(
                registry,
                "chatops_slack_api_calls",
                "Slack Web API call attempts (retries included), by method and result.",
            ),
            rate_limited: family(
                registry,
                "chatops_slack_rate_limited",
                "Slack Web API answers 429 Too Many Requests, by method.",
            ),
        }
    }

    /// One attempt of `method` ended with `result`.
    pub fn attempt(&self, method: &'static str, result: ApiResult) {
        self.calls
            .get_or_create(&MethodResult { method, result })
            .inc();
        if result == ApiResult::RateLimited {
            self.rate_limited.get_or_create(&Method { method }).inc();
        }
    }

    /// Attempts of `method` that ended with `result` so far.
    pub fn attempts(&self, method: &'static str, result: ApiResult) -> u64 {
        self.calls
            .get_or_create(&MethodResult { method, result })
            .get()
    }
}

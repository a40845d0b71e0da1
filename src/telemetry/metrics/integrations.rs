//! Bedrock, Confluence and GitHub: how long each operation took, and how many failed.

use std::future::Future;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use tokio::time::Instant;

use super::family;

/// An outside system the bot calls.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum System {
    Bedrock,
    Confluence,
    GitHub,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bedrock => "bedrock",
            Self::Confluence => "confluence",
            Self::GitHub => "github",
        }
    }
}

impl EncodeLabelValue for System {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Call {
    system: System,
    operation: &'static str,
}

type HistogramFamily = Family<Call, Histogram, fn() -> Histogram>;

/// `chatops_integration_request_seconds{system, operation}` (every call, failed ones too) and
/// `chatops_integration_errors_total{system, operation}`.
#[derive(Clone)]
pub struct IntegrationMetrics {
    seconds: HistogramFamily,
    errors: Family<Call, Counter>,
}

/// 10 ms to about 5 minutes: a GitHub call is quick, an agent's answer may take minutes.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

impl IntegrationMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let seconds = HistogramFamily::new_with_constructor(request_histogram);
        registry.register_with_unit(
            "chatops_integration_request",
            "Calls to Bedrock, Confluence and GitHub, by system and operation, failed ones included.",
            Unit::Seconds,
            seconds.clone(),
        );
        Self {
            seconds,
            errors: family(
                registry,
                "chatops_integration_errors",
                "Calls to Bedrock, Confluence and GitHub that failed, by system and operation.",
            ),
        }
    }

    /// One call of `operation` on `system` took `elapsed` and succeeded or not.
    pub fn observe(&self, system: System, operation: &'static str, elapsed: Duration, ok: bool) {
        let call = Call { system, operation };
        self.seconds
            .get_or_create(&call)
            .observe(elapsed.as_secs_f64());
        if !ok {
            self.errors.get_or_create(&call).inc();
        }
    }

    /// Run `call`, observing its time and whether it failed.
    pub async fn time<T, E>(
        &self,
        system: System,
        operation: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = call.await;
        self.observe(system, operation, started.elapsed(), result.is_ok());
        result
    }

    /// Failed calls of `operation` on `system` so far.
    pub fn errors(&self, system: System, operation: &'static str) -> u64 {
        self.errors.get_or_create(&Call { system, operation }).get()
    }
}

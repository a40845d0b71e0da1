//! Amazon CloudWatch: metric graphs (`MetricGraphs`, GetMetricWidgetImage) and an alarm's data for the agent (`AlarmEvidence`).
//!
//! The widget arrives as plain data (its JSON, built from the alarm by `alarms::graph`), so this
//! module knows neither Slack nor the alarm pipeline's types.

mod client;
mod evidence;
mod evidence_client;

use async_trait::async_trait;

pub use client::{CloudWatchGraphs, GRAPH_ACTION};
pub use evidence::{
    AlarmEvidence, AlarmNow, EvidenceError, HistoryItem, Series, SeriesQuery, SeriesRequest,
    SeriesSource, EVIDENCE_ACTIONS,
};
pub use evidence_client::CloudWatchEvidence;

/// A CloudWatch client from `sdk` (built by `egress::aws::aws_config_loader`), sending to
/// `endpoint` (`aws.endpoints.cloudwatch`, else `aws.endpoint_url`; `None`: CloudWatch's own),
/// with `retry`, `connect` to connect and `timeout` for each whole call.
fn client(
    sdk: &aws_config::SdkConfig,
    endpoint: Option<&url::Url>,
    retry: aws_config::retry::RetryConfig,
    connect: std::time::Duration,
    timeout: std::time::Duration,
) -> aws_sdk_cloudwatch::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(connect)
        .operation_timeout(timeout)
        .build();
    let mut config = aws_sdk_cloudwatch::config::Builder::from(sdk)
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    aws_sdk_cloudwatch::Client::from_conf(config.build())
}

/// One graph to render: a CloudWatch MetricWidget as JSON (the metrics, annotations, period,
/// time range and region are in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphRequest {
    pub metric_widget: String,
}

/// A PNG image, as CloudWatch drew it.
#[derive(Clone, PartialEq, Eq)]
pub struct Png(pub Vec<u8>);

impl std::fmt::Debug for Png {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Png({} bytes)", self.0.len())
    }
}

/// The eight bytes every PNG file starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Why a graph was not drawn.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The credentials may not call GetMetricWidgetImage: nothing changes that until an
    /// operator adds the IAM action.
    #[error("access denied: the bot's role needs {GRAPH_ACTION} ({detail})")]
    AccessDenied { detail: String },
    /// CloudWatch refused the widget (`InvalidParameterValue`, …) or failed.
    #[error("GetMetricWidgetImage failed: {detail}")]
    Failed { detail: String },
    /// No answer within the graph timeout.
    #[error("GetMetricWidgetImage did not answer within {0:?}")]
    TimedOut(std::time::Duration),
    /// CloudWatch answered with something that is not a PNG.
    #[error("GetMetricWidgetImage answered {0} bytes that are not a PNG")]
    NotPng(usize),
}

/// Draws metric graphs.
#[async_trait]
pub trait MetricGraphs: Send + Sync + 'static {
    /// Renders `request` as a PNG.
    async fn render(&self, request: &GraphRequest) -> Result<Png, GraphError>;
}

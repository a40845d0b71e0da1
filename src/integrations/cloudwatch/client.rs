//! `MetricGraphs` on aws-sdk-cloudwatch: GetMetricWidgetImage (Smithy RPC v2 CBOR on the wire), bounded by a timeout, errors by AWS's code.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::{GraphError, GraphRequest, MetricGraphs, Png, PNG_SIGNATURE};

/// The IAM action a graph needs, named in the access-denied warning and by `check --live`.
pub const GRAPH_ACTION: &str = "cloudwatch:GetMetricWidgetImage";

/// CloudWatch's GetMetricWidgetImage in the bot's region (the widget names each metric's region).
#[derive(Clone, Debug)]
pub struct CloudWatchGraphs {
    client: aws_sdk_cloudwatch::Client,
    timeout: Duration,
}

impl CloudWatchGraphs {
    /// A client from `sdk` (built by `egress::aws::aws_config_loader`), sending to `endpoint`
    /// (`aws.endpoints.cloudwatch`, else `aws.endpoint_url`; `None`: CloudWatch's own), each
    /// call bounded by `timeout` with one retry of a throttled or failed attempt inside it.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<&url::Url>,
        timeout: Duration,
    ) -> Self {
        let retry = RetryConfig::standard().with_max_attempts(2);
        let connect = timeout.min(Duration::from_secs(5));
        Self {
            client: super::client(sdk, endpoint, retry, connect, timeout),
            timeout,
        }
    }
}

#[async_trait]
impl MetricGraphs for CloudWatchGraphs {
    async fn render(&self, request: &GraphRequest) -> Result<Png, GraphError> {
        let call = self
            .client
            .get_metric_widget_image()
            .metric_widget(&request.metric_widget)
            .output_format("png")
            .send();
        // The SDK's operation timeout bounds the call; this one also bounds credential loading.
        let output = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => return Err(GraphError::TimedOut(self.timeout)),
            Ok(result) => result.map_err(|error| {
                let detail = error
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| DisplayErrorContext(&error).to_string());
                match error.code() {
                    Some(code) if is_access_denied(code) => GraphError::AccessDenied { detail },
                    Some(code) => GraphError::Failed {
                        detail: format!("{code}: {detail}"),
                    },
                    None if is_timeout(&error) => GraphError::TimedOut(self.timeout),
                    None => GraphError::Failed { detail },
                }
            })?,
        };
        let bytes = output
            .metric_widget_image
            .map(|blob| blob.into_inner())
            .unwrap_or_default();
        if !bytes.starts_with(&PNG_SIGNATURE) {
            return Err(GraphError::NotPng(bytes.len()));
        }
        Ok(Png(bytes))
    }
}

/// AWS spells it `AccessDenied` in the query-compatible header, `AccessDeniedException` in JSON.
fn is_access_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
    )
}

fn is_timeout<E, R>(error: &aws_sdk_cloudwatch::error::SdkError<E, R>) -> bool {
    matches!(error, aws_sdk_cloudwatch::error::SdkError::TimeoutError(_))
}

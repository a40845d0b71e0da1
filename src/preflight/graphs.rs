//! The metric graphs' row: GetMetricWidgetImage draws a tiny widget (the alarm queue's sent
//! messages for the last hour), so an AccessDenied shows before the first alarm needs a graph.

use std::time::Duration;

use super::ProbeResult;
use crate::config::{AwsService, Config};
use crate::integrations::cloudwatch::{
    CloudWatchGraphs, GraphError, GraphRequest, MetricGraphs, GRAPH_ACTION,
};

pub(super) const GRAPHS: &str = "CloudWatch graphs";

/// One small GetMetricWidgetImage, when the pipeline runs with `alarms.graphs` on.
pub(super) async fn graphs(config: &Config, limit: Duration) -> Vec<ProbeResult> {
    let alarms = &config.alarms;
    let (Some(queue_url), true) = (&alarms.queue_url, alarms.graphs) else {
        let why = if alarms.queue_url.is_none() {
            "not configured (alarms.queue_url is not set)"
        } else {
            "off (alarms.graphs = false)"
        };
        return vec![ProbeResult::skipped(GRAPHS, why)];
    };
    let Some(region) = config.aws.region.as_deref() else {
        return vec![ProbeResult::fail(
            GRAPHS,
            "aws.region is not set",
            "set aws.region",
        )];
    };
    let queue = queue_url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default();
    let widget = serde_json::json!({
        "metrics": [["AWS/SQS", "NumberOfMessagesSent", "QueueName", queue]],
        "start": "-PT1H",
        "width": 60,
        "height": 30,
        "region": region,
    });
    let sdk = crate::egress::aws::aws_config_loader(region, &config.proxy)
        .load()
        .await;
    let endpoint = config.aws.endpoint(AwsService::CloudWatch);
    let graphs = CloudWatchGraphs::new(&sdk, endpoint, limit);
    let request = GraphRequest {
        metric_widget: widget.to_string(),
    };
    let row = match graphs.render(&request).await {
        Ok(png) => ProbeResult::ok(
            GRAPHS,
            format!(
                "GetMetricWidgetImage drew a test graph ({} bytes)",
                png.0.len()
            ),
        ),
        Err(error @ GraphError::AccessDenied { .. }) => ProbeResult::fail(
            GRAPHS,
            error.to_string(),
            format!(
                "allow {GRAPH_ACTION} in the bot's IAM policy (docs/aws-setup.md), or set \
                 alarms.graphs = false; until then cards have no graphs"
            ),
        ),
        Err(error) => ProbeResult::fail(GRAPHS, error.to_string(), super::aws::HINT),
    };
    vec![row]
}

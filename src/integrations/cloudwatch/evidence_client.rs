//! `AlarmEvidence` on aws-sdk-cloudwatch: GetMetricData, DescribeAlarms and DescribeAlarmHistory in the alarm's region, each bounded by a timeout.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatch::config::Region;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, HistoryItemType, Metric, MetricDataQuery, MetricStat, ScanBy,
    StandardUnit, StatusCode,
};

use super::evidence::{
    AlarmEvidence, AlarmNow, EvidenceError, HistoryItem, Series, SeriesQuery, SeriesRequest,
    SeriesSource,
};

/// CloudWatch's read calls for the agent's context, one client for every region.
#[derive(Clone, Debug)]
pub struct CloudWatchEvidence {
    client: aws_sdk_cloudwatch::Client,
    timeout: Duration,
}

impl CloudWatchEvidence {
    /// A client from `sdk` (built by `egress::aws::aws_config_loader`), sending to `endpoint`
    /// (`aws.endpoints.cloudwatch`, else `aws.endpoint_url`; `None`: CloudWatch's own in each
    /// alarm's region), each call bounded by `timeout` and not retried (the caller's budget is
    /// short).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<&url::Url>,
        timeout: Duration,
    ) -> Self {
        Self {
            client: super::client(sdk, endpoint, RetryConfig::disabled(), timeout, timeout),
            timeout,
        }
    }

    fn in_region(region: &str) -> aws_sdk_cloudwatch::config::Builder {
        aws_sdk_cloudwatch::config::Builder::default().region(Region::new(region.to_owned()))
    }

    /// `call`, bounded by the timeout (credential loading included), its error made typed.
    async fn bounded<T, E, R>(
        &self,
        operation: &'static str,
        action: &'static str,
        call: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, EvidenceError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let timed_out = EvidenceError::TimedOut {
            operation,
            after: self.timeout,
        };
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(timed_out),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(SdkError::TimeoutError(_))) => Err(timed_out),
            Ok(Err(error)) => Err(match error.code() {
                Some("AccessDenied" | "AccessDeniedException") => {
                    EvidenceError::AccessDenied { action }
                }
                code => EvidenceError::Failed {
                    operation,
                    detail: match (code, error.message()) {
                        (Some(code), Some(message)) => format!("{code}: {message}"),
                        _ => DisplayErrorContext(&error).to_string(),
                    },
                },
            }),
        }
    }
}

#[async_trait]
impl AlarmEvidence for CloudWatchEvidence {
    async fn metric_data(&self, request: &SeriesRequest) -> Result<Vec<Series>, EvidenceError> {
        let call = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(request.queries.iter().map(query).collect()))
            .start_time(DateTime::from(request.start))
            .end_time(DateTime::from(request.end))
            .scan_by(ScanBy::TimestampAscending)
            .max_datapoints(request.max_points.saturating_mul(request.queries.len()) as i32)
            .customize()
            .config_override(Self::in_region(&request.region))
            .send();
        let output = self
            .bounded("GetMetricData", "cloudwatch:GetMetricData", call)
            .await?;
        let series = output
            .metric_data_results()
            .iter()
            .map(|result| {
                let mut points: Vec<(SystemTime, f64)> = result
                    .timestamps()
                    .iter()
                    .zip(result.values())
                    .filter_map(|(at, value)| Some((SystemTime::try_from(*at).ok()?, *value)))
                    .collect();
                points.sort_by_key(|(at, _)| *at);
                Series {
                    id: result.id().unwrap_or_default().to_owned(),
                    label: result.label().unwrap_or_default().to_owned(),
                    points,
                    complete: result.status_code() != Some(&StatusCode::PartialData),
                }
            })
            .collect();
        Ok(series)
    }

    async fn alarms(&self, region: &str, names: &[String]) -> Result<Vec<AlarmNow>, EvidenceError> {
        let call = self
            .client
            .describe_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .customize()
            .config_override(Self::in_region(region))
            .send();
        let output = self
            .bounded("DescribeAlarms", "cloudwatch:DescribeAlarms", call)
            .await?;
        let metric = output.metric_alarms().iter().map(|a| {
            let state = a.state_value().map(|s| s.as_str());
            alarm_now(
                a.alarm_name(),
                state,
                a.state_reason(),
                a.state_updated_timestamp(),
            )
        });
        let composite = output.composite_alarms().iter().map(|a| {
            let state = a.state_value().map(|s| s.as_str());
            alarm_now(
                a.alarm_name(),
                state,
                a.state_reason(),
                a.state_updated_timestamp(),
            )
        });
        Ok(metric.chain(composite).collect())
    }

    async fn history(
        &self,
        region: &str,
        name: &str,
        max: usize,
    ) -> Result<Vec<HistoryItem>, EvidenceError> {
        let call = self
            .client
            .describe_alarm_history()
            .alarm_name(name)
            .max_records(max.clamp(1, 100) as i32)
            .scan_by(ScanBy::TimestampDescending)
            .customize()
            .config_override(Self::in_region(region))
            .send();
        let output = self
            .bounded(
                "DescribeAlarmHistory",
                "cloudwatch:DescribeAlarmHistory",
                call,
            )
            .await?;
        let items = output
            .alarm_history_items()
            .iter()
            .filter_map(|item| {
                Some(HistoryItem {
                    at: SystemTime::try_from(*item.timestamp()?).ok()?,
                    kind: item
                        .history_item_type()
                        .map(HistoryItemType::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    summary: item.history_summary().unwrap_or_default().to_owned(),
                })
            })
            .take(max)
            .collect();
        Ok(items)
    }
}

/// A [`SeriesQuery`] in the SDK's terms.
/// One alarm's state as DescribeAlarms gives it (a metric alarm's and a composite's fields are
/// the same, on two types).
fn alarm_now(
    name: Option<&str>,
    state: Option<&str>,
    reason: Option<&str>,
    updated: Option<&DateTime>,
) -> AlarmNow {
    AlarmNow {
        name: name.unwrap_or_default().to_owned(),
        state: state.unwrap_or_default().to_owned(),
        reason: reason.unwrap_or_default().to_owned(),
        since: updated.and_then(|t| SystemTime::try_from(*t).ok()),
    }
}

fn query(q: &SeriesQuery) -> MetricDataQuery {
    let builder = MetricDataQuery::builder()
        .id(&q.id)
        .set_label(q.label.clone())
        .return_data(q.return_data);
    match &q.source {
        SeriesSource::Expression(expression) => builder
            .expression(expression)
            .period(q.period_secs as i32)
            .build(),
        SeriesSource::Metric {
            namespace,
            name,
            dimensions,
            stat,
            unit,
        } => {
            let metric = Metric::builder()
                .namespace(namespace)
                .metric_name(name)
                .set_dimensions(Some(
                    dimensions
                        .iter()
                        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                        .collect(),
                ))
                .build();
            let stat = MetricStat::builder()
                .metric(metric)
                .period(q.period_secs as i32)
                .stat(stat)
                .set_unit(unit.as_deref().map(StandardUnit::from))
                .build();
            builder.metric_stat(stat).build()
        }
    }
}

//! What CloudWatch can tell the agent about an alarm: the `AlarmEvidence` trait (GetMetricData, DescribeAlarms, DescribeAlarmHistory) and its plain-data types.
//!
//! The queries arrive as plain data (built from the alarm by `notify::lifecycle::agent_evidence`),
//! so this module knows neither the alarm pipeline's types nor the agent's.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// The IAM actions the agent's alarm data needs (docs/bedrock.md lists them).
pub const EVIDENCE_ACTIONS: [&str; 3] = [
    "cloudwatch:GetMetricData",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DescribeAlarmHistory",
];

/// One GetMetricData query: a metric with its statistic, or a metric-math expression.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesQuery {
    /// The query's id within the request (`m1`, `e1`, …): lowercase first, CloudWatch's rule.
    pub id: String,
    pub label: Option<String>,
    /// Whether its data comes back (math inputs may not).
    pub return_data: bool,
    pub source: SeriesSource,
    pub period_secs: u64,
}

/// What a [`SeriesQuery`] computes.
#[derive(Clone, Debug, PartialEq)]
pub enum SeriesSource {
    Metric {
        namespace: String,
        name: String,
        dimensions: Vec<(String, String)>,
        stat: String,
        unit: Option<String>,
    },
    Expression(String),
}

/// The alarm's metric over a time range, in the alarm's region.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRequest {
    pub region: String,
    pub queries: Vec<SeriesQuery>,
    pub start: SystemTime,
    pub end: SystemTime,
    /// At most this many points per series come back.
    pub max_points: usize,
}

/// One series CloudWatch returned, oldest point first.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub id: String,
    pub label: String,
    pub points: Vec<(SystemTime, f64)>,
    /// False when CloudWatch said more data was left (`PartialData`).
    pub complete: bool,
}

/// An alarm as DescribeAlarms tells it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmNow {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub since: Option<SystemTime>,
}

/// One DescribeAlarmHistory item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryItem {
    pub at: SystemTime,
    /// `StateUpdate`, `ConfigurationUpdate`, `Action`.
    pub kind: String,
    pub summary: String,
}

/// Why a part of the alarm's data could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("access denied: the bot's role needs {action}")]
    AccessDenied { action: &'static str },
    #[error("{operation} failed: {detail}")]
    Failed {
        operation: &'static str,
        detail: String,
    },
    #[error("{operation} did not answer within {after:?}")]
    TimedOut {
        operation: &'static str,
        after: Duration,
    },
}

/// Reads an alarm's data from CloudWatch.
#[async_trait]
pub trait AlarmEvidence: Send + Sync + 'static {
    /// GetMetricData: every returned series of `request`.
    async fn metric_data(&self, request: &SeriesRequest) -> Result<Vec<Series>, EvidenceError>;
    /// DescribeAlarms of `names` (metric and composite alarms) in `region`.
    async fn alarms(&self, region: &str, names: &[String]) -> Result<Vec<AlarmNow>, EvidenceError>;
    /// DescribeAlarmHistory of `name` in `region`: the newest `max` items, newest first.
    async fn history(
        &self,
        region: &str,
        name: &str,
        max: usize,
    ) -> Result<Vec<HistoryItem>, EvidenceError>;
}

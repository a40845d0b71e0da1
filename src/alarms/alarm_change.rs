//! "CloudWatch Alarm State Change" events (EventBridge `detail`, or Lambda-action `alarmData`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::condition::classify_queries;
use super::condition::{
    ActionsSuppressor, AlarmCondition, ChildAlarm, CompositeCondition, Dimension, Evaluation,
    MetricQuery, MetricRef, MetricStat, QuerySource,
};
use super::eventbridge::EventFrame;
use super::lenient::{opt_bool, opt_f64, opt_string, opt_u64, string_map};
use super::notification::{ActionsSuppression, Alarm, AlarmSource};
use super::region::Arn;
use super::region::{arn_text, normalize_arn, resolve_region};
use super::timestamp::parse_aws_time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmDetail {
    #[serde(default, deserialize_with = "opt_string")]
    alarm_name: Option<String>,
    #[serde(default)]
    state: Option<StateDetail>,
    #[serde(default)]
    previous_state: Option<StateDetail>,
    #[serde(default)]
    configuration: Option<Configuration>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateDetail {
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    reason_data: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    timestamp: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    actions_suppressed_by: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    actions_suppressed_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    #[serde(default, deserialize_with = "opt_string")]
    description: Option<String>,
    #[serde(default)]
    metrics: Option<Vec<Query>>,
    #[serde(default, deserialize_with = "opt_string")]
    alarm_rule: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    actions_suppressor: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    actions_suppressor_wait_period: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    actions_suppressor_extension_period: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Query {
    #[serde(default, deserialize_with = "opt_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    label: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    expression: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    return_data: Option<bool>,
    #[serde(default)]
    metric_stat: Option<QueryMetricStat>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryMetricStat {
    #[serde(default)]
    metric: Option<QueryMetric>,
    #[serde(default, deserialize_with = "opt_u64")]
    period: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    stat: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryMetric {
    #[serde(default, deserialize_with = "opt_string")]
    namespace: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    dimensions: BTreeMap<String, String>,
}

/// The JSON string in `state.reasonData`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasonData {
    #[serde(default, deserialize_with = "opt_f64")]
    threshold: Option<f64>,
    #[serde(default)]
    triggering_alarms: Option<Vec<TriggeringAlarm>>,
}

#[derive(Debug, Deserialize)]
struct TriggeringAlarm {
    #[serde(default, deserialize_with = "opt_string")]
    arn: Option<String>,
    #[serde(default)]
    state: Option<TriggeringState>,
}

#[derive(Debug, Deserialize)]
struct TriggeringState {
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    timestamp: Option<String>,
}

/// Builds the alarm from an EventBridge frame. `None` without an alarm name or a valid state.
pub(crate) fn parse(frame: &EventFrame) -> Option<Alarm> {
    let detail = AlarmDetail::deserialize(&frame.detail).ok()?;
    let state = detail.state?;
    let value = state.value.as_deref()?.parse().ok()?;
    let raw_arn = frame.alarm_arn.as_deref().or_else(|| {
        frame
            .resources
            .iter()
            .map(String::as_str)
            .find(|resource| resource.contains(":alarm:"))
    });
    let arn = raw_arn.and_then(Arn::parse);
    let name = detail
        .alarm_name
        .or_else(|| arn.as_ref().and_then(Arn::alarm_name).map(str::to_string))?;
    let reason_data: ReasonData = state
        .reason_data
        .as_deref()
        .and_then(|data| serde_json::from_str(data).ok())
        .unwrap_or_default();
    let configuration = detail.configuration;
    let description = configuration
        .as_ref()
        .and_then(|config| config.description.clone());
    Some(Alarm {
        name,
        description,
        account: frame
            .account
            .clone()
            .or_else(|| arn.as_ref().and_then(Arn::account_id).map(str::to_string))
            .unwrap_or_default(),
        region: resolve_region(arn.as_ref(), frame.region.as_deref()),
        arn: arn_text(arn.as_ref(), raw_arn),
        state: value,
        previous_state: detail
            .previous_state
            .as_ref()
            .and_then(|previous| previous.value.as_deref())
            .and_then(|previous| previous.parse().ok()),
        reason: state.reason.unwrap_or_default(),
        changed_at: state
            .timestamp
            .as_deref()
            .and_then(parse_aws_time)
            .or(frame.time),
        previous_changed_at: detail
            .previous_state
            .as_ref()
            .and_then(|previous| previous.timestamp.as_deref())
            .and_then(parse_aws_time),
        actions_suppressed: state.actions_suppressed_by.map(|by| ActionsSuppression {
            by,
            reason: state.actions_suppressed_reason,
        }),
        condition: configuration
            .map(|config| condition(config, reason_data))
            .unwrap_or(AlarmCondition::Unknown),
        source: if frame.is_alarm_action {
            AlarmSource::LambdaAction
        } else {
            AlarmSource::EventBridge
        },
    })
}

fn condition(config: Configuration, reason_data: ReasonData) -> AlarmCondition {
    if let Some(rule) = config.alarm_rule {
        return AlarmCondition::Composite(CompositeCondition {
            rule,
            triggering_children: reason_data
                .triggering_alarms
                .unwrap_or_default()
                .into_iter()
                .filter_map(|child| {
                    let state = child.state;
                    Some(ChildAlarm {
                        arn: normalize_arn(&child.arn?),
                        state: state
                            .as_ref()
                            .and_then(|s| s.value.as_deref())
                            .and_then(|v| v.parse().ok()),
                        at: state
                            .as_ref()
                            .and_then(|s| s.timestamp.as_deref())
                            .and_then(parse_aws_time),
                    })
                })
                .collect(),
            actions_suppressor: config.actions_suppressor.map(|alarm| ActionsSuppressor {
                alarm,
                wait_period_secs: config.actions_suppressor_wait_period,
                extension_period_secs: config.actions_suppressor_extension_period,
            }),
        });
    }
    let queries: Vec<MetricQuery> = config
        .metrics
        .unwrap_or_default()
        .into_iter()
        .map(query)
        .collect();
    if queries.is_empty() {
        return AlarmCondition::Unknown;
    }
    // EventBridge carries no comparison operator or evaluation periods; the threshold only
    // appears in the state's reasonData.
    classify_queries(queries, None, reason_data.threshold, Evaluation::default())
}

fn query(raw: Query) -> MetricQuery {
    let source = match (raw.expression, raw.metric_stat) {
        (Some(expression), _) => QuerySource::Expression(expression),
        (None, Some(stat)) => QuerySource::Metric(MetricStat {
            metric: stat
                .metric
                .map(|metric| MetricRef {
                    namespace: metric.namespace.unwrap_or_default(),
                    name: metric.name.unwrap_or_default(),
                    dimensions: metric
                        .dimensions
                        .into_iter()
                        .map(|(name, value)| Dimension { name, value })
                        .collect(),
                })
                .unwrap_or_default(),
            period_secs: stat.period,
            stat: stat.stat,
            unit: stat.unit,
        }),
        (None, None) => QuerySource::Missing,
    };
    MetricQuery {
        id: raw.id.unwrap_or_default(),
        label: raw.label,
        return_data: raw.return_data.unwrap_or(true),
        source,
    }
}

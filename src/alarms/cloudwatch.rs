//! CloudWatch alarms in the classic SNS alarm-action format (`AlarmName`, `Trigger`, …).

use serde::Deserialize;
use serde_json::Value;

use super::condition::classify_queries;
use super::condition::{
    ActionsSuppressor, AlarmCondition, ChildAlarm, ComparisonOperator, CompositeCondition,
    Dimension, Evaluation, MetricQuery, MetricRef, MetricStat, QuerySource, SingleMetricCondition,
    TreatMissingData,
};
use super::lenient::{opt_bool, opt_f64, opt_string, opt_u64};
use super::notification::{Alarm, AlarmSource};
use super::region::Arn;
use super::region::{arn_text, normalize_arn, resolve_region};
use super::timestamp::parse_aws_time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsAlarm {
    #[serde(default, deserialize_with = "opt_string")]
    alarm_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    alarm_description: Option<String>,
    #[serde(rename = "AWSAccountId", default, deserialize_with = "opt_string")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    new_state_value: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    new_state_reason: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    state_change_time: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    region: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    alarm_arn: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    old_state_value: Option<String>,
    #[serde(default)]
    trigger: Option<Trigger>,
    #[serde(default, deserialize_with = "opt_string")]
    alarm_rule: Option<String>,
    #[serde(default)]
    triggering_children: Option<Vec<SnsChild>>,
    #[serde(default, deserialize_with = "opt_string")]
    actions_suppressor: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    actions_suppressor_wait_period: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    actions_suppressor_extension_period: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger {
    #[serde(default, deserialize_with = "opt_string")]
    metric_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    namespace: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    statistic: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    extended_statistic: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    unit: Option<String>,
    #[serde(default)]
    dimensions: Option<Vec<RawDimension>>,
    #[serde(default, deserialize_with = "opt_u64")]
    period: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    evaluation_periods: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    datapoints_to_alarm: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    comparison_operator: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    threshold: Option<f64>,
    #[serde(default, deserialize_with = "opt_string")]
    threshold_metric_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    treat_missing_data: Option<String>,
    #[serde(default)]
    metrics: Option<Vec<SnsQuery>>,
}

/// SNS alarm dimensions come as `{"value","name"}` (lower case); accept `Name`/`Value` too.
#[derive(Debug, Deserialize)]
struct RawDimension {
    #[serde(alias = "Name", default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(alias = "Value", default, deserialize_with = "opt_string")]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsQuery {
    #[serde(default, deserialize_with = "opt_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    expression: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    label: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    return_data: Option<bool>,
    #[serde(default)]
    metric_stat: Option<SnsMetricStat>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetricStat {
    #[serde(default)]
    metric: Option<SnsMetric>,
    #[serde(default, deserialize_with = "opt_u64")]
    period: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    stat: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetric {
    #[serde(default, deserialize_with = "opt_string")]
    metric_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    namespace: Option<String>,
    #[serde(default)]
    dimensions: Option<Vec<RawDimension>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsChild {
    #[serde(default, deserialize_with = "opt_string")]
    arn: Option<String>,
    #[serde(default)]
    state: Option<SnsChildState>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsChildState {
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    timestamp: Option<String>,
}

/// Parses the SNS alarm JSON (`AlarmName`, `NewStateValue`, …). `None` when it lacks a name or
/// a valid state, or a field has an impossible shape.
pub(crate) fn parse_sns_alarm(value: &Value) -> Option<Alarm> {
    let raw = SnsAlarm::deserialize(value).ok()?;
    let state = raw.new_state_value.as_deref()?.parse().ok()?;
    let arn = raw.alarm_arn.as_deref().and_then(Arn::parse);
    let name = raw
        .alarm_name
        .or_else(|| arn.as_ref().and_then(Arn::alarm_name).map(str::to_string))?;
    let condition = match (raw.alarm_rule, raw.trigger) {
        (Some(rule), _) => AlarmCondition::Composite(CompositeCondition {
            rule,
            triggering_children: raw
                .triggering_children
                .unwrap_or_default()
                .into_iter()
                .filter_map(child_from_sns)
                .collect(),
            actions_suppressor: raw.actions_suppressor.map(|alarm| ActionsSuppressor {
                alarm,
                wait_period_secs: raw.actions_suppressor_wait_period,
                extension_period_secs: raw.actions_suppressor_extension_period,
            }),
        }),
        (None, Some(trigger)) => condition_from_trigger(trigger),
        (None, None) => AlarmCondition::Unknown,
    };
    Some(Alarm {
        account: raw
            .account_id
            .or_else(|| arn.as_ref().and_then(Arn::account_id).map(str::to_string))
            .unwrap_or_default(),
        region: resolve_region(arn.as_ref(), raw.region.as_deref()),
        arn: arn_text(arn.as_ref(), raw.alarm_arn.as_deref()),
        name,
        description: raw.alarm_description,
        state,
        previous_state: raw
            .old_state_value
            .as_deref()
            .and_then(|old| old.parse().ok()),
        reason: raw.new_state_reason.unwrap_or_default(),
        changed_at: raw.state_change_time.as_deref().and_then(parse_aws_time),
        previous_changed_at: None,
        actions_suppressed: None,
        condition,
        source: AlarmSource::Sns,
    })
}

fn child_from_sns(child: SnsChild) -> Option<ChildAlarm> {
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
}

fn condition_from_trigger(trigger: Trigger) -> AlarmCondition {
    let evaluation = Evaluation {
        period_secs: trigger.period,
        evaluation_periods: trigger.evaluation_periods,
        datapoints_to_alarm: trigger.datapoints_to_alarm,
        comparison: trigger
            .comparison_operator
            .as_deref()
            .map(ComparisonOperator::parse),
        treat_missing_data: trigger
            .treat_missing_data
            .as_deref()
            .and_then(TreatMissingData::parse),
    };
    let queries: Vec<MetricQuery> = trigger
        .metrics
        .unwrap_or_default()
        .into_iter()
        .map(query_from_sns)
        .collect();
    if !queries.is_empty() || trigger.threshold_metric_id.is_some() {
        return classify_queries(
            queries,
            trigger.threshold_metric_id,
            trigger.threshold,
            evaluation,
        );
    }
    match trigger.metric_name {
        Some(name) => AlarmCondition::SingleMetric(SingleMetricCondition {
            metric: MetricRef {
                namespace: trigger.namespace.unwrap_or_default(),
                name,
                dimensions: dimensions(trigger.dimensions),
            },
            statistic: trigger.statistic.or(trigger.extended_statistic),
            unit: trigger.unit,
            threshold: trigger.threshold,
            evaluation,
        }),
        None => AlarmCondition::Unknown,
    }
}

fn query_from_sns(query: SnsQuery) -> MetricQuery {
    let source = match (query.expression, query.metric_stat) {
        (Some(expression), _) => QuerySource::Expression(expression),
        (None, Some(stat)) => {
            let metric = stat.metric.map(|metric| MetricRef {
                namespace: metric.namespace.unwrap_or_default(),
                name: metric.metric_name.unwrap_or_default(),
                dimensions: dimensions(metric.dimensions),
            });
            QuerySource::Metric(MetricStat {
                metric: metric.unwrap_or_default(),
                period_secs: stat.period,
                stat: stat.stat,
                unit: stat.unit,
            })
        }
        (None, None) => QuerySource::Missing,
    };
    MetricQuery {
        id: query.id.unwrap_or_default(),
        label: query.label,
        return_data: query.return_data.unwrap_or(true),
        source,
    }
}

fn dimensions(raw: Option<Vec<RawDimension>>) -> Vec<Dimension> {
    raw.unwrap_or_default()
        .into_iter()
        .filter_map(|dimension| {
            Some(Dimension {
                name: dimension.name?,
                value: dimension.value.unwrap_or_default(),
            })
        })
        .collect()
}

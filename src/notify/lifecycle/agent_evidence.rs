//! What the agent's answer fetches about an alarm (`EvidencePlan`), read from its notification: the metric queries at the alarm's period, or a composite alarm's children.

use crate::alarms::graph::widget_stat;
use crate::alarms::{Alarm, AlarmCondition, MetricQuery, QuerySource};
use crate::conversation::evidence::{EvidencePlan, EVIDENCE_WINDOW, MAX_CHILDREN, MAX_POINTS};
use crate::integrations::cloudwatch::{SeriesQuery, SeriesSource};

/// CloudWatch's default period, where the notification gives none.
const DEFAULT_PERIOD_SECS: u64 = 300;

/// The plan for `alarm`; `None` when there is nothing to ask CloudWatch (no name or region, or
/// a condition the bot does not know).
pub fn evidence_plan(alarm: &Alarm) -> Option<EvidencePlan> {
    if alarm.name.trim().is_empty() || !crate::alarms::looks_like_region_code(&alarm.region) {
        return None;
    }
    let alarm_period = alarm
        .condition
        .evaluation()
        .and_then(|e| e.period_secs)
        .or_else(|| first_query_period(&alarm.condition))
        .unwrap_or(DEFAULT_PERIOD_SECS);
    // The alarm's period, but never more than MAX_POINTS points in the window.
    let floor = EVIDENCE_WINDOW.as_secs().div_ceil(MAX_POINTS as u64);
    let period_secs = alarm_period.max(floor).div_ceil(60) * 60;
    let (queries, children) = match &alarm.condition {
        AlarmCondition::SingleMetric(single) => {
            let query = SeriesQuery {
                id: "m1".into(),
                label: Some(single.metric.name.clone()),
                return_data: true,
                source: SeriesSource::Metric {
                    namespace: single.metric.namespace.clone(),
                    name: single.metric.name.clone(),
                    dimensions: single
                        .metric
                        .dimensions
                        .iter()
                        .map(|d| (d.name.clone(), d.value.clone()))
                        .collect(),
                    stat: widget_stat(single.statistic.as_deref().unwrap_or("Average")),
                    unit: single.unit.clone(),
                },
                period_secs,
            };
            (vec![query], vec![])
        }
        AlarmCondition::MetricMath(math) => (queries(&math.metrics, None, period_secs), vec![]),
        AlarmCondition::AnomalyDetection(anomaly) => (
            queries(
                &anomaly.metrics,
                anomaly.threshold_metric_id.as_deref(),
                period_secs,
            ),
            vec![],
        ),
        AlarmCondition::Composite(composite) => {
            let mut names = rule_children(&composite.rule);
            for child in &composite.triggering_children {
                if !names.iter().any(|n| n == child.name()) {
                    names.push(child.name().to_owned());
                }
            }
            names.truncate(MAX_CHILDREN);
            (vec![], names)
        }
        AlarmCondition::Unknown => (vec![], vec![]),
    };
    Some(EvidencePlan {
        alarm_name: alarm.name.clone(),
        region: alarm.region.clone(),
        queries,
        period_secs,
        children,
    })
}

/// The alarm's queries in GetMetricData's terms; the band (`band_id`) is returned too, since it
/// is what an anomaly alarm is about.
fn queries(list: &[MetricQuery], band_id: Option<&str>, period_secs: u64) -> Vec<SeriesQuery> {
    list.iter()
        .filter_map(|q| {
            let source = match &q.source {
                QuerySource::Expression(expression) => SeriesSource::Expression(expression.clone()),
                QuerySource::Metric(stat) => SeriesSource::Metric {
                    namespace: stat.metric.namespace.clone(),
                    name: stat.metric.name.clone(),
                    dimensions: stat
                        .metric
                        .dimensions
                        .iter()
                        .map(|d| (d.name.clone(), d.value.clone()))
                        .collect(),
                    stat: widget_stat(stat.stat.as_deref().unwrap_or("Average")),
                    unit: stat.unit.clone(),
                },
                QuerySource::Missing => return None,
            };
            Some(SeriesQuery {
                id: q.id.clone(),
                label: q.label.clone(),
                return_data: q.return_data || band_id == Some(q.id.as_str()),
                source,
                period_secs,
            })
        })
        .collect()
}

fn first_query_period(condition: &AlarmCondition) -> Option<u64> {
    let queries = match condition {
        AlarmCondition::MetricMath(math) => &math.metrics,
        AlarmCondition::AnomalyDetection(anomaly) => &anomaly.metrics,
        _ => return None,
    };
    queries.iter().find_map(|q| match &q.source {
        QuerySource::Metric(stat) => stat.period_secs,
        _ => None,
    })
}

/// The alarms a composite rule names, in order, once each: the argument of every `ALARM(…)`,
/// `OK(…)` and `INSUFFICIENT_DATA(…)`, quoted or not, an ARN reduced to its alarm name.
pub fn rule_children(rule: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for function in ["ALARM(", "OK(", "INSUFFICIENT_DATA("] {
        let mut rest = rule;
        while let Some(at) = rest.find(function) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + function.len()..];
            // `NOT_OK(` or `XALARM(` are not these functions.
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let Some(end) = rest.find(')') else { break };
            let argument = rest[..end].trim().trim_matches('"').trim();
            let name = argument
                .split_once(":alarm:")
                .map_or(argument, |(_, name)| name);
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::rule_children;

    #[test]
    fn a_composite_rule_names_its_children_once_each() {
        let rule = r#"ALARM("api-5xx") OR (ALARM(arn:aws:cloudwatch:eu-west-1:123456789012:alarm:db cpu) AND NOT OK("api-5xx")) OR INSUFFICIENT_DATA(queue-age)"#;
        assert_eq!(rule_children(rule), ["api-5xx", "db cpu", "queue-age"]);
        assert!(rule_children("TRUE").is_empty());
        assert!(rule_children("ALARM(").is_empty());
    }
}

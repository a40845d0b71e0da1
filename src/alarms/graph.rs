//! The metric graph of an alarm card: a CloudWatch MetricWidget (JSON) built from the typed `Alarm`, for GetMetricWidgetImage.
//!
//! The last 3 hours of what the alarm watches: its metric (single metric), every query of its
//! metric math (queries the alarm does not evaluate drawn hidden, so expressions can use them),
//! or the metric with its anomaly detection band. The static threshold is a horizontal
//! annotation, the state change a vertical one. Composite alarms, alarms with no metric and
//! every other notification have no graph. Pure: the time range is relative to when CloudWatch
//! draws it.

use std::time::Duration;

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;

use super::condition::{
    AlarmCondition, ComparisonOperator, MetricQuery, MetricRef, MetricStat, QuerySource,
};
use super::notification::{Alarm, Event, Notification};
use crate::config::looks_like_region_code;

/// How far back the graph reaches (ISO 8601, relative to now).
pub const GRAPH_START: &str = "-PT3H";
/// The graph's size in pixels: wide enough to read in a Slack card, small enough to upload fast.
const WIDTH: u32 = 600;
const HEIGHT: u32 = 300;
/// CloudWatch's default period, for alarms whose notification names none.
const DEFAULT_PERIOD_SECS: u64 = 300;
/// Titles longer than this are cut (the widget draws one line).
const MAX_TITLE_CHARS: usize = 120;

/// The MetricWidget JSON for `n`'s graph; `None` when it has none (not a metric alarm, a
/// composite alarm, no metric, no region). `period`: `alarms.graph_period`, else the alarm's.
pub fn metric_widget(n: &Notification, period: Option<Duration>) -> Option<String> {
    let Event::Alarm(alarm) = &n.event else {
        return None;
    };
    widget_value(alarm, period).map(|widget| widget.to_string())
}

/// The widget as a JSON value (see [`metric_widget`]).
pub fn widget_value(alarm: &Alarm, period: Option<Duration>) -> Option<Value> {
    if !looks_like_region_code(&alarm.region) {
        return None;
    }
    let (metrics, threshold) = match &alarm.condition {
        AlarmCondition::SingleMetric(single) => {
            let stat = single.statistic.as_deref().map(widget_stat);
            let mut options = Map::new();
            if let Some(stat) = stat {
                options.insert("stat".into(), json!(stat));
            }
            let line = metric_line(&single.metric, options)?;
            (vec![line], single.threshold)
        }
        AlarmCondition::MetricMath(math) => (query_lines(&math.metrics, None)?, math.threshold),
        AlarmCondition::AnomalyDetection(anomaly) => {
            let band = anomaly.threshold_metric_id.as_deref();
            (query_lines(&anomaly.metrics, band)?, None)
        }
        AlarmCondition::Composite(_) | AlarmCondition::Unknown => return None,
    };
    let period_secs = period
        .map(|period| period.as_secs())
        .filter(|secs| *secs > 0)
        .or_else(|| alarm.condition.evaluation()?.period_secs)
        .or_else(|| first_query_period(&alarm.condition))
        .unwrap_or(DEFAULT_PERIOD_SECS);
    let mut widget = Map::new();
    widget.insert("metrics".into(), Value::Array(metrics));
    widget.insert("view".into(), json!("timeSeries"));
    widget.insert("stacked".into(), json!(false));
    widget.insert("region".into(), json!(alarm.region));
    widget.insert("title".into(), json!(title(&alarm.name)));
    widget.insert("start".into(), json!(GRAPH_START));
    widget.insert("end".into(), json!("P0D"));
    widget.insert("period".into(), json!(period_secs));
    widget.insert("width".into(), json!(WIDTH));
    widget.insert("height".into(), json!(HEIGHT));
    if let AlarmCondition::SingleMetric(single) = &alarm.condition {
        if let Some(stat) = single.statistic.as_deref() {
            widget.insert("stat".into(), json!(widget_stat(stat)));
        }
    }
    widget.insert("annotations".into(), annotations(alarm, threshold));
    widget.insert("legend".into(), json!({ "position": "bottom" }));
    Some(Value::Object(widget))
}

/// The threshold (with the side that breaches shaded) and the state change.
fn annotations(alarm: &Alarm, threshold: Option<f64>) -> Value {
    let mut annotations = Map::new();
    let comparison = alarm
        .condition
        .evaluation()
        .and_then(|evaluation| evaluation.comparison.as_ref());
    if let Some(value) = threshold.filter(|value| value.is_finite()) {
        let mut line = Map::new();
        let symbol = comparison.map(ComparisonOperator::symbol).unwrap_or("");
        let label = format!("{symbol} {}", show_number(value));
        line.insert("label".into(), json!(label.trim()));
        line.insert("value".into(), json!(value));
        line.insert("color".into(), json!("#d62728"));
        if let Some(fill) = comparison.and_then(fill) {
            line.insert("fill".into(), json!(fill));
        }
        annotations.insert("horizontal".into(), json!([line]));
    }
    if let Some(at) = alarm.changed_at.and_then(|at| at.format(&Rfc3339).ok()) {
        let line = json!({ "label": alarm.state.as_str(), "value": at, "color": "#9e9e9e" });
        annotations.insert("vertical".into(), json!([line]));
    }
    Value::Object(annotations)
}

/// Which side of the threshold breaches (the widget shades it).
fn fill(comparison: &ComparisonOperator) -> Option<&'static str> {
    match comparison {
        ComparisonOperator::GreaterThanOrEqualToThreshold
        | ComparisonOperator::GreaterThanThreshold => Some("above"),
        ComparisonOperator::LessThanThreshold | ComparisonOperator::LessThanOrEqualToThreshold => {
            Some("below")
        }
        _ => None,
    }
}

/// One line per query: expressions as `{expression, id, label}`, metrics as
/// `[namespace, name, dim, value, …, {id, stat, period, label}]`; queries the alarm does not
/// return are hidden, except the band (`band_id`, or any `ANOMALY_DETECTION_BAND` expression),
/// which is what an anomaly alarm is about.
fn query_lines(queries: &[MetricQuery], band_id: Option<&str>) -> Option<Vec<Value>> {
    let mut lines = Vec::new();
    for query in queries {
        let mut options = Map::new();
        options.insert("id".into(), json!(query.id));
        if let Some(label) = &query.label {
            options.insert("label".into(), json!(label));
        }
        let is_band = band_id == Some(query.id.as_str())
            || matches!(&query.source, QuerySource::Expression(e)
                if e.to_ascii_uppercase().contains("ANOMALY_DETECTION_BAND"));
        let shown = query.return_data || is_band;
        if !shown {
            options.insert("visible".into(), json!(false));
        }
        match &query.source {
            QuerySource::Expression(expression) => {
                options.insert("expression".into(), json!(expression));
                lines.push(json!([Value::Object(options)]));
            }
            QuerySource::Metric(MetricStat {
                metric,
                period_secs,
                stat,
                ..
            }) => {
                if let Some(stat) = stat {
                    options.insert("stat".into(), json!(widget_stat(stat)));
                }
                if let Some(period) = period_secs {
                    options.insert("period".into(), json!(period));
                }
                lines.push(metric_line(metric, options)?);
            }
            QuerySource::Missing => {}
        }
    }
    (!lines.is_empty()).then_some(lines)
}

/// `[namespace, name, dim1, value1, …, {options}]`; `None` without a namespace and a name.
fn metric_line(metric: &MetricRef, options: Map<String, Value>) -> Option<Value> {
    if metric.namespace.trim().is_empty() || metric.name.trim().is_empty() {
        return None;
    }
    let mut line = vec![json!(metric.namespace), json!(metric.name)];
    for dimension in &metric.dimensions {
        line.push(json!(dimension.name));
        line.push(json!(dimension.value));
    }
    if !options.is_empty() {
        line.push(Value::Object(options));
    }
    Some(Value::Array(line))
}

fn first_query_period(condition: &AlarmCondition) -> Option<u64> {
    let queries = match condition {
        AlarmCondition::MetricMath(math) => &math.metrics,
        AlarmCondition::AnomalyDetection(anomaly) => &anomaly.metrics,
        _ => return None,
    };
    queries.iter().find_map(|query| match &query.source {
        QuerySource::Metric(stat) => stat.period_secs,
        _ => None,
    })
}

/// The widget's spelling of a statistic: the SNS format sends `AVERAGE`, `SAMPLE_COUNT`, …;
/// percentiles and other extended statistics (`p99`, `tm90`) are kept as sent.
pub fn widget_stat(stat: &str) -> String {
    let stat = stat.trim();
    match stat.to_ascii_uppercase().as_str() {
        "AVERAGE" => "Average".into(),
        "SUM" => "Sum".into(),
        "MINIMUM" => "Minimum".into(),
        "MAXIMUM" => "Maximum".into(),
        "SAMPLE_COUNT" | "SAMPLECOUNT" => "SampleCount".into(),
        _ => stat.to_owned(),
    }
}

fn title(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    if name.chars().count() <= MAX_TITLE_CHARS {
        return name;
    }
    let mut cut: String = name.chars().take(MAX_TITLE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `80`, `2.5`, `0.001`: no trailing `.0`.
fn show_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_take_the_widget_spelling() {
        assert_eq!(widget_stat("AVERAGE"), "Average");
        assert_eq!(widget_stat("SAMPLE_COUNT"), "SampleCount");
        assert_eq!(widget_stat("Sum"), "Sum");
        assert_eq!(widget_stat("p99"), "p99");
    }

    #[test]
    fn thresholds_read_as_written() {
        assert_eq!(show_number(80.0), "80");
        assert_eq!(show_number(2.5), "2.5");
    }

    #[test]
    fn long_titles_are_cut() {
        let long = "x".repeat(300);
        assert_eq!(title(&long).chars().count(), MAX_TITLE_CHARS);
    }
}

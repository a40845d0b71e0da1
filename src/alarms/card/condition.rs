//! One-glance plain-text summaries of what an alarm watches (escaped later, like any AWS text).

use crate::alarms::{
    AlarmCondition, AnomalyDetectionCondition, CompositeCondition, Evaluation, MetricMathCondition,
    MetricQuery, MetricRef, MetricStat, QuerySource, SingleMetricCondition, TreatMissingData,
};

use super::text::{format_clock, format_period, number};

/// The condition as plain text lines, e.g.
/// `CPUUtilization > 80 for 3×5m (Average, AWS/EC2, InstanceId=i-…)`; `None` when unknown.
pub(super) fn summary(condition: &AlarmCondition) -> Option<String> {
    let lines = match condition {
        AlarmCondition::SingleMetric(single) => single_metric(single),
        AlarmCondition::MetricMath(math) => metric_math(math),
        AlarmCondition::AnomalyDetection(anomaly) => anomaly_band(anomaly),
        AlarmCondition::Composite(composite) => composite_rule(composite),
        AlarmCondition::Unknown => return None,
    };
    Some(lines.join("\n"))
}

fn single_metric(single: &SingleMetricCondition) -> Vec<String> {
    let mut line = format!(
        "{}{}{}",
        or_unnamed(&single.metric.name),
        comparison(&single.evaluation, single.threshold),
        window(&single.evaluation, single.evaluation.period_secs)
    );
    let mut details: Vec<String> = Vec::new();
    details.extend(single.statistic.as_deref().map(statistic));
    details.push(metric_place(&single.metric));
    line.push_str(&format!(" ({})", details.join(", ")));
    let mut lines = vec![line];
    lines.extend(missing_data(&single.evaluation));
    lines
}

fn metric_math(math: &MetricMathCondition) -> Vec<String> {
    let returned = math.metrics.iter().find(|query| query.return_data);
    let subject = match returned {
        Some(query) => match &query.source {
            QuerySource::Expression(expression) => {
                format!("{} = `{}`", query_name(query), tick(expression))
            }
            QuerySource::Metric(stat) => metric_stat(stat, false),
            QuerySource::Missing => query_name(query),
        },
        None => "Metric math".to_owned(),
    };
    let period = math
        .evaluation
        .period_secs
        .or_else(|| first_period(&math.metrics));
    let mut lines = vec![format!(
        "{subject}{}{}",
        comparison(&math.evaluation, math.threshold),
        window(&math.evaluation, period)
    )];
    lines.extend(query_lines(&math.metrics, returned));
    lines.extend(missing_data(&math.evaluation));
    lines
}

fn anomaly_band(anomaly: &AnomalyDetectionCondition) -> Vec<String> {
    let band_id = anomaly.threshold_metric_id.as_deref();
    let watched = anomaly
        .metrics
        .iter()
        .find(|query| query.return_data && Some(query.id.as_str()) != band_id);
    let subject = match watched.map(|query| &query.source) {
        Some(QuerySource::Metric(stat)) => metric_stat(stat, false),
        Some(QuerySource::Expression(expression)) => format!("`{}`", tick(expression)),
        _ => "The metric".to_owned(),
    };
    let side = match &anomaly.evaluation.comparison {
        Some(operator) => operator.symbol().to_owned(),
        None => "outside band".to_owned(),
    };
    let band = match (&anomaly.band_expression, anomaly.band_width) {
        (Some(expression), _) => format!("`{}`", tick(expression)),
        (None, Some(width)) => format!("the anomaly band (width {})", number(width)),
        (None, None) => "the anomaly band".to_owned(),
    };
    let period = anomaly
        .evaluation
        .period_secs
        .or_else(|| first_period(&anomaly.metrics));
    let mut lines = vec![format!(
        "{subject} {side} {band}{}",
        window(&anomaly.evaluation, period)
    )];
    let shown: Vec<&MetricQuery> = anomaly
        .metrics
        .iter()
        .filter(|query| {
            Some(query.id.as_str()) != band_id
                && watched.map(|w| w.id.as_str()) != Some(query.id.as_str())
        })
        .collect();
    lines.extend(shown.into_iter().map(query_line));
    lines.extend(missing_data(&anomaly.evaluation));
    lines
}

fn composite_rule(composite: &CompositeCondition) -> Vec<String> {
    let mut lines = vec![format!("Rule: `{}`", tick(&short_rule(&composite.rule)))];
    if !composite.triggering_children.is_empty() {
        lines.push("Triggered by:".to_owned());
        for child in &composite.triggering_children {
            let mut line = format!("• {}", child.name());
            if let Some(state) = child.state {
                line.push_str(&format!(" {state}"));
            }
            if let Some(at) = child.at {
                line.push_str(&format!(" at {}", format_clock(at)));
            }
            lines.push(line);
        }
    }
    if let Some(suppressor) = &composite.actions_suppressor {
        let mut line = format!("Actions suppressed while {} is in ALARM", suppressor.alarm);
        let periods: Vec<String> = [
            ("wait", suppressor.wait_period_secs),
            ("extension", suppressor.extension_period_secs),
        ]
        .into_iter()
        .filter_map(|(name, secs)| secs.map(|s| format!("{name} {}", format_period(s))))
        .collect();
        if !periods.is_empty() {
            line.push_str(&format!(" ({})", periods.join(", ")));
        }
        lines.push(line);
    }
    lines
}

/// The rule with alarm ARNs inside quotes shortened to their names.
fn short_rule(rule: &str) -> String {
    rule.split('"')
        .enumerate()
        .map(|(index, part)| match part.split_once(":alarm:") {
            Some((prefix, name)) if index % 2 == 1 && prefix.starts_with("arn:") => name,
            _ => part,
        })
        .collect::<Vec<_>>()
        .join("\"")
}

/// ` > 85`, ` outside band`, ` vs threshold 85`, or nothing.
fn comparison(evaluation: &Evaluation, threshold: Option<f64>) -> String {
    match (&evaluation.comparison, threshold) {
        (Some(operator), Some(value)) => format!(" {} {}", operator.symbol(), number(value)),
        (Some(operator), None) => format!(" {}", operator.symbol()),
        (None, Some(value)) => format!(", threshold {}", number(value)),
        (None, None) => String::new(),
    }
}

/// ` for 2 of 3×5m`, ` for 3×5m`, ` for 3 periods`, ` per 5m`, or nothing.
fn window(evaluation: &Evaluation, period: Option<u64>) -> String {
    let periods = evaluation.evaluation_periods;
    let count = match (evaluation.datapoints_to_alarm, periods) {
        (Some(datapoints), Some(total)) if datapoints != total => {
            Some(format!("{datapoints} of {total}"))
        }
        (_, Some(total)) => Some(total.to_string()),
        (_, None) => None,
    };
    match (count, period) {
        (Some(count), Some(secs)) => format!(" for {count}×{}", format_period(secs)),
        (Some(count), None) => format!(" for {count} periods"),
        (None, Some(secs)) => format!(" per {}", format_period(secs)),
        (None, None) => String::new(),
    }
}

fn missing_data(evaluation: &Evaluation) -> Option<String> {
    match evaluation.treat_missing_data.as_ref()? {
        TreatMissingData::Missing => None,
        treat => Some(format!("Missing data is treated as {}.", treat.as_str())),
    }
}

/// `AWS/EC2, InstanceId=i-…, Env=prod`.
fn metric_place(metric: &MetricRef) -> String {
    let mut parts = vec![or_unnamed(&metric.namespace)];
    parts.extend(
        metric
            .dimensions
            .iter()
            .map(|dimension| format!("{}={}", dimension.name, dimension.value)),
    );
    parts.join(", ")
}

/// `Sum of Errors (Payments, Service=authorizer)`, plus ` per 1m` when `with_period` (the
/// evaluated metric's period is already in the `for N×P` window).
fn metric_stat(stat: &MetricStat, with_period: bool) -> String {
    let mut text = match &stat.stat {
        Some(name) => format!("{} of {}", statistic(name), or_unnamed(&stat.metric.name)),
        None => or_unnamed(&stat.metric.name),
    };
    text.push_str(&format!(" ({})", metric_place(&stat.metric)));
    if let Some(secs) = stat.period_secs.filter(|_| with_period) {
        text.push_str(&format!(" per {}", format_period(secs)));
    }
    text
}

fn query_lines<'a>(
    metrics: &'a [MetricQuery],
    skip: Option<&'a MetricQuery>,
) -> impl Iterator<Item = String> + 'a {
    metrics
        .iter()
        .filter(move |query| skip.map(|s| s.id.as_str()) != Some(query.id.as_str()))
        .map(query_line)
}

fn query_line(query: &MetricQuery) -> String {
    let source = match &query.source {
        QuerySource::Expression(expression) => format!("`{}`", tick(expression)),
        QuerySource::Metric(stat) => metric_stat(stat, true),
        QuerySource::Missing => "(no metric or expression)".to_owned(),
    };
    format!("• {}: {source}", query_name(query))
}

/// `Error % (errors_pct)`, or the id alone.
fn query_name(query: &MetricQuery) -> String {
    match &query.label {
        Some(label) if !label.is_empty() && label != &query.id => {
            format!("{label} ({})", query.id)
        }
        _ => query.id.clone(),
    }
}

fn first_period(metrics: &[MetricQuery]) -> Option<u64> {
    metrics.iter().find_map(|query| match &query.source {
        QuerySource::Metric(stat) => stat.period_secs,
        _ => None,
    })
}

/// CloudWatch's SNS spelling (`AVERAGE`, `SAMPLE_COUNT`) in the console's (`Average`).
fn statistic(name: &str) -> String {
    match name.to_ascii_uppercase().as_str() {
        "AVERAGE" => "Average".to_owned(),
        "SUM" => "Sum".to_owned(),
        "MINIMUM" => "Minimum".to_owned(),
        "MAXIMUM" => "Maximum".to_owned(),
        "SAMPLE_COUNT" | "SAMPLECOUNT" => "SampleCount".to_owned(),
        _ => name.to_owned(),
    }
}

/// Keeps a code span closed: backticks inside become `'`.
fn tick(text: &str) -> String {
    text.replace('`', "'")
}

fn or_unnamed(text: &str) -> String {
    if text.trim().is_empty() {
        "(unnamed)".to_owned()
    } else {
        text.to_owned()
    }
}

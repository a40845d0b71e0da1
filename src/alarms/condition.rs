//! What a CloudWatch alarm watches: metric, metric math, anomaly band or composite rule.

use time::OffsetDateTime;

use super::notification::AlarmState;

/// What the alarm watches.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmCondition {
    SingleMetric(SingleMetricCondition),
    MetricMath(MetricMathCondition),
    AnomalyDetection(AnomalyDetectionCondition),
    Composite(CompositeCondition),
    /// The payload described no condition we recognise.
    Unknown,
}

impl AlarmCondition {
    /// The static threshold, where the condition has one.
    pub fn threshold(&self) -> Option<f64> {
        match self {
            AlarmCondition::SingleMetric(single) => single.threshold,
            AlarmCondition::MetricMath(math) => math.threshold,
            _ => None,
        }
    }

    /// The evaluation settings of metric-based conditions.
    pub fn evaluation(&self) -> Option<&Evaluation> {
        match self {
            AlarmCondition::SingleMetric(single) => Some(&single.evaluation),
            AlarmCondition::MetricMath(math) => Some(&math.evaluation),
            AlarmCondition::AnomalyDetection(anomaly) => Some(&anomaly.evaluation),
            AlarmCondition::Composite(_) | AlarmCondition::Unknown => None,
        }
    }
}

/// Evaluation settings shared by the metric-based conditions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    pub period_secs: Option<u64>,
    pub evaluation_periods: Option<u64>,
    pub datapoints_to_alarm: Option<u64>,
    pub comparison: Option<ComparisonOperator>,
    pub treat_missing_data: Option<TreatMissingData>,
}

/// A metric alarm on one metric with a static threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleMetricCondition {
    pub metric: MetricRef,
    /// `AVERAGE`, `Sum`, `p99`, … exactly as sent.
    pub statistic: Option<String>,
    pub unit: Option<String>,
    pub threshold: Option<f64>,
    pub evaluation: Evaluation,
}

/// A metric alarm on a metric math expression or several metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricMathCondition {
    pub metrics: Vec<MetricQuery>,
    pub threshold: Option<f64>,
    pub evaluation: Evaluation,
}

/// A metric alarm against an anomaly detection band.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyDetectionCondition {
    /// Id of the query that produces the band (`ThresholdMetricId`).
    pub threshold_metric_id: Option<String>,
    /// The band expression, e.g. `ANOMALY_DETECTION_BAND(m1, 2)`.
    pub band_expression: Option<String>,
    /// The band width argument of the expression, when given.
    pub band_width: Option<f64>,
    pub metrics: Vec<MetricQuery>,
    pub evaluation: Evaluation,
}

/// A composite alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeCondition {
    pub rule: String,
    /// The children that caused this transition; may be empty.
    pub triggering_children: Vec<ChildAlarm>,
    pub actions_suppressor: Option<ActionsSuppressor>,
}

/// A child alarm named in a composite alarm notification.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildAlarm {
    pub arn: String,
    pub state: Option<AlarmState>,
    pub at: Option<OffsetDateTime>,
}

impl ChildAlarm {
    /// The alarm name at the end of the ARN (the whole ARN if it has no `:alarm:` part).
    pub fn name(&self) -> &str {
        match self.arn.split_once(":alarm:") {
            Some((_, name)) => name,
            None => &self.arn,
        }
    }
}

/// A composite alarm's actions suppressor configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionsSuppressor {
    pub alarm: String,
    pub wait_period_secs: Option<u64>,
    pub extension_period_secs: Option<u64>,
}

/// A metric: namespace, name and dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricRef {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<Dimension>,
}

/// One metric dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// One entry of a metric math alarm's query list.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub id: String,
    pub label: Option<String>,
    /// Whether this query's result is what the alarm evaluates (AWS default: true).
    pub return_data: bool,
    pub source: QuerySource,
}

/// What a [`MetricQuery`] computes.
#[derive(Debug, Clone, PartialEq)]
pub enum QuerySource {
    Expression(String),
    Metric(MetricStat),
    /// Neither an expression nor a metric was given.
    Missing,
}

/// A metric with its statistic and period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricStat {
    pub metric: MetricRef,
    pub period_secs: Option<u64>,
    pub stat: Option<String>,
    pub unit: Option<String>,
}

/// An alarm comparison operator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ComparisonOperator {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
    LessThanLowerOrGreaterThanUpperThreshold,
    LessThanLowerThreshold,
    GreaterThanUpperThreshold,
    /// An operator this code does not know yet, kept verbatim.
    Other(String),
}

impl ComparisonOperator {
    /// Parses the AWS name; unknown names become [`ComparisonOperator::Other`].
    pub fn parse(text: &str) -> ComparisonOperator {
        match text.trim() {
            "GreaterThanOrEqualToThreshold" => ComparisonOperator::GreaterThanOrEqualToThreshold,
            "GreaterThanThreshold" => ComparisonOperator::GreaterThanThreshold,
            "LessThanThreshold" => ComparisonOperator::LessThanThreshold,
            "LessThanOrEqualToThreshold" => ComparisonOperator::LessThanOrEqualToThreshold,
            "LessThanLowerOrGreaterThanUpperThreshold" => {
                ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold
            }
            "LessThanLowerThreshold" => ComparisonOperator::LessThanLowerThreshold,
            "GreaterThanUpperThreshold" => ComparisonOperator::GreaterThanUpperThreshold,
            other => ComparisonOperator::Other(other.to_string()),
        }
    }

    /// The AWS name.
    pub fn as_str(&self) -> &str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            ComparisonOperator::GreaterThanThreshold => "GreaterThanThreshold",
            ComparisonOperator::LessThanThreshold => "LessThanThreshold",
            ComparisonOperator::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold => {
                "LessThanLowerOrGreaterThanUpperThreshold"
            }
            ComparisonOperator::LessThanLowerThreshold => "LessThanLowerThreshold",
            ComparisonOperator::GreaterThanUpperThreshold => "GreaterThanUpperThreshold",
            ComparisonOperator::Other(other) => other,
        }
    }

    /// A short human form: `>=`, `>`, `<`, `<=`, `outside band`, `below band`, `above band`.
    pub fn symbol(&self) -> &str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => ">=",
            ComparisonOperator::GreaterThanThreshold => ">",
            ComparisonOperator::LessThanThreshold => "<",
            ComparisonOperator::LessThanOrEqualToThreshold => "<=",
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold => "outside band",
            ComparisonOperator::LessThanLowerThreshold => "below band",
            ComparisonOperator::GreaterThanUpperThreshold => "above band",
            ComparisonOperator::Other(other) => other,
        }
    }
}

/// How the alarm treats missing data points.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TreatMissingData {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
    Other(String),
}

impl TreatMissingData {
    /// Parses `missing`, `ignore`, `breaching`, `notBreaching`, also in the odd SNS spelling
    /// `"- TreatMissingData:   missing"`. Returns `None` for an empty value.
    pub fn parse(text: &str) -> Option<TreatMissingData> {
        let trimmed = text.trim();
        let value = match trimmed.split_once("TreatMissingData:") {
            Some((_, rest)) => rest.trim(),
            None => trimmed,
        };
        let parsed = match value.to_ascii_lowercase().as_str() {
            "" => return None,
            "missing" => TreatMissingData::Missing,
            "ignore" => TreatMissingData::Ignore,
            "breaching" => TreatMissingData::Breaching,
            "notbreaching" => TreatMissingData::NotBreaching,
            _ => TreatMissingData::Other(value.to_string()),
        };
        Some(parsed)
    }

    /// The AWS spelling.
    pub fn as_str(&self) -> &str {
        match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::Ignore => "ignore",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::NotBreaching => "notBreaching",
            TreatMissingData::Other(other) => other,
        }
    }
}

/// Picks the condition for a list of metric queries: an anomaly band when a threshold metric
/// id or an `ANOMALY_DETECTION_BAND` expression is present, a single metric when the list is one
/// plain metric, metric math otherwise.
pub(crate) fn classify_queries(
    queries: Vec<MetricQuery>,
    threshold_metric_id: Option<String>,
    threshold: Option<f64>,
    evaluation: Evaluation,
) -> AlarmCondition {
    let band_expression = queries
        .iter()
        .filter(|query| match &threshold_metric_id {
            Some(id) => &query.id == id,
            None => true,
        })
        .find_map(|query| match &query.source {
            QuerySource::Expression(expression)
                if threshold_metric_id.is_some()
                    || expression
                        .to_ascii_uppercase()
                        .contains("ANOMALY_DETECTION_BAND") =>
            {
                Some(expression.clone())
            }
            _ => None,
        });
    if threshold_metric_id.is_some() || band_expression.is_some() {
        return AlarmCondition::AnomalyDetection(AnomalyDetectionCondition {
            band_width: band_expression.as_deref().and_then(band_width),
            threshold_metric_id,
            band_expression,
            metrics: queries,
            evaluation,
        });
    }
    if let [only] = queries.as_slice() {
        if let QuerySource::Metric(stat) = &only.source {
            return AlarmCondition::SingleMetric(SingleMetricCondition {
                metric: stat.metric.clone(),
                statistic: stat.stat.clone(),
                unit: stat.unit.clone(),
                threshold,
                evaluation: Evaluation {
                    period_secs: evaluation.period_secs.or(stat.period_secs),
                    ..evaluation
                },
            });
        }
    }
    AlarmCondition::MetricMath(MetricMathCondition {
        metrics: queries,
        threshold,
        evaluation,
    })
}

/// The width argument of `ANOMALY_DETECTION_BAND(m1, 2)`; `None` when it is left out.
fn band_width(expression: &str) -> Option<f64> {
    let open = expression.find('(')?;
    let close = expression.rfind(')')?;
    let arguments = expression.get(open + 1..close)?;
    let (_, width) = arguments.rsplit_once(',')?;
    width
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|width| width.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treat_missing_data_odd_spelling_is_normalised() {
        assert_eq!(
            TreatMissingData::parse("- TreatMissingData:                    missing"),
            Some(TreatMissingData::Missing)
        );
        assert_eq!(
            TreatMissingData::parse("notBreaching"),
            Some(TreatMissingData::NotBreaching)
        );
        assert_eq!(TreatMissingData::parse("- TreatMissingData:   "), None);
        assert_eq!(
            TreatMissingData::parse("sometimes"),
            Some(TreatMissingData::Other("sometimes".to_string()))
        );
    }

    #[test]
    fn comparison_operators_round_trip() {
        for name in [
            "GreaterThanOrEqualToThreshold",
            "GreaterThanThreshold",
            "LessThanThreshold",
            "LessThanOrEqualToThreshold",
            "LessThanLowerOrGreaterThanUpperThreshold",
            "LessThanLowerThreshold",
            "GreaterThanUpperThreshold",
            "SomethingNew",
        ] {
            assert_eq!(ComparisonOperator::parse(name).as_str(), name);
        }
        assert_eq!(
            ComparisonOperator::parse("GreaterThanThreshold").symbol(),
            ">"
        );
    }

    #[test]
    fn child_alarm_name_comes_from_the_arn() {
        let child = ChildAlarm {
            arn: "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:queue depth".to_string(),
            state: None,
            at: None,
        };
        assert_eq!(child.name(), "queue depth");
    }

    #[test]
    fn band_width_is_read_from_the_expression() {
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1, 2)"), Some(2.0));
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1,0.592)"), Some(0.592));
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1)"), None);
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1, x"), None);
    }
}

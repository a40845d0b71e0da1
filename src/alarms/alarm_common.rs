//! Pieces shared by the SNS and EventBridge alarm parsers: condition choice, region, ARNs.

use super::condition::{
    AlarmCondition, AnomalyDetectionCondition, Evaluation, MetricMathCondition, MetricQuery,
    QuerySource, SingleMetricCondition,
};
use super::region::{region_code_from_name, Arn};
use crate::config::looks_like_region_code;

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

/// Region code: the ARN's region, else the display name mapped to a code, else the given text.
pub(crate) fn resolve_region(arn: Option<&Arn>, region: Option<&str>) -> String {
    if let Some(code) = arn.and_then(Arn::region_code) {
        return code.to_string();
    }
    let Some(region) = region.map(str::trim).filter(|region| !region.is_empty()) else {
        return String::new();
    };
    if looks_like_region_code(region) {
        return region.to_string();
    }
    region_code_from_name(region)
        .map(str::to_string)
        .unwrap_or_else(|| region.to_string())
}

/// The ARN to keep: the normalised form when it parses, else the trimmed text.
pub(crate) fn arn_text(arn: Option<&Arn>, raw: Option<&str>) -> Option<String> {
    match arn {
        Some(arn) => Some(arn.normalized()),
        None => raw
            .map(str::trim)
            .filter(|raw| !raw.is_empty())
            .map(str::to_string),
    }
}

/// Removes stray whitespace from an ARN's fields, leaving unparseable text trimmed.
pub(crate) fn normalize_arn(raw: &str) -> String {
    match Arn::parse(raw) {
        Some(arn) => arn.normalized(),
        None => raw.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_width_is_read_from_the_expression() {
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1, 2)"), Some(2.0));
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1,0.592)"), Some(0.592));
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1)"), None);
        assert_eq!(band_width("ANOMALY_DETECTION_BAND(m1, x"), None);
    }

    #[test]
    fn region_resolution_order() {
        let arn = Arn::parse("arn:aws:cloudwatch:eu-west-2:210987654321:alarm:a");
        assert_eq!(
            resolve_region(arn.as_ref(), Some("US East (Ohio)")),
            "eu-west-2"
        );
        assert_eq!(resolve_region(None, Some("US East (Ohio)")), "us-east-2");
        let placeholder = Arn::parse("arn:aws:cloudwatch:REGION:ACCOUNT:alarm:a");
        assert_eq!(
            resolve_region(placeholder.as_ref(), Some("Asia Pacific (Tokyo)")),
            "ap-northeast-1"
        );
        assert_eq!(resolve_region(None, Some("ca-central-1")), "ca-central-1");
        assert_eq!(resolve_region(None, Some("EXAMPLE")), "EXAMPLE");
        assert_eq!(resolve_region(None, None), "");
    }
}

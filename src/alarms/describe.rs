//! A stable, human-readable multi-line summary of a parsed `Notification` (for tests and logs).

use super::condition::{AlarmCondition, Evaluation, MetricQuery, MetricRef, QuerySource};
use super::notification::Alarm;
use super::notification::{Delivery, Event, Notification};
use super::other_events::{
    ApiCallEvent, CustomNotification, GenericNotification, PipelineEvent, PipelineOrigin,
    TextFormat,
};
use super::summary::Summary;
use super::timestamp::format_utc;

/// Renders every field of the notification, one per line, `-` for absent values. Times are UTC
/// RFC 3339, floats use Rust's shortest round-trip form, control and invisible characters are
/// shown as `\u{…}` escapes, and long text is truncated with its length and sha256.
pub fn describe(notification: &Notification) -> String {
    let mut out = Summary::default();
    out.line(0, "message_id", &notification.message_id);
    match &notification.delivery {
        Delivery::SnsEnvelope { message_type } => {
            out.line(0, "delivery", &format!("sns-envelope ({message_type})"))
        }
        Delivery::Raw => out.line(0, "delivery", "raw"),
    }
    out.opt(0, "topic_arn", notification.topic_arn.as_deref());
    out.opt(0, "subject", notification.subject.as_deref());
    out.time(0, "published_at", notification.published_at);
    out.list(0, "attributes", notification.attributes.iter().map(entry));
    out.line(0, "kind", notification.kind().as_str());
    out.line(0, "name", &notification.name());
    out.opt(0, "account", notification.account());
    out.opt(0, "region", notification.region());
    out.opt(0, "state_label", notification.state_label());
    out.time(0, "occurred_at", notification.occurred_at());
    match &notification.event {
        Event::Alarm(alarm) => describe_alarm(&mut out, alarm),
        Event::Pipeline(pipeline) => describe_pipeline(&mut out, pipeline),
        Event::ApiCall(call) => describe_api_call(&mut out, call),
        Event::Custom(custom) => describe_custom(&mut out, custom),
        Event::Other(other) => describe_other(&mut out, other),
    }
    out.into_text()
}

fn describe_alarm(out: &mut Summary, alarm: &Alarm) {
    out.header(0, "alarm");
    out.line(1, "name", &alarm.name);
    out.line(1, "key", alarm.key().as_str());
    out.opt(1, "arn", alarm.arn.as_deref());
    out.line(1, "account", &alarm.account);
    out.line(1, "region", &alarm.region);
    out.line(1, "state", alarm.state.as_str());
    out.opt(
        1,
        "previous_state",
        alarm.previous_state.map(|state| state.as_str()),
    );
    out.line(1, "is_state_change", &alarm.is_state_change().to_string());
    out.time(1, "changed_at", alarm.changed_at);
    out.time(1, "previous_changed_at", alarm.previous_changed_at);
    out.opt(1, "description", alarm.description.as_deref());
    out.line(1, "reason", &alarm.reason);
    let suppressed = alarm.actions_suppressed.as_ref().map(|suppressed| {
        format!(
            "by {} ({})",
            suppressed.by,
            suppressed.reason.as_deref().unwrap_or("-")
        )
    });
    out.opt(1, "actions_suppressed", suppressed.as_deref());
    out.line(1, "source", &format!("{:?}", alarm.source));
    match &alarm.condition {
        AlarmCondition::SingleMetric(single) => {
            out.line(1, "condition", "single-metric");
            out.line(2, "metric", &metric_text(&single.metric));
            out.opt(2, "statistic", single.statistic.as_deref());
            out.opt(2, "unit", single.unit.as_deref());
            out.opt(2, "threshold", single.threshold.map(float).as_deref());
            evaluation(out, &single.evaluation);
        }
        AlarmCondition::MetricMath(math) => {
            out.line(1, "condition", "metric-math");
            out.opt(2, "threshold", math.threshold.map(float).as_deref());
            evaluation(out, &math.evaluation);
            queries(out, &math.metrics);
        }
        AlarmCondition::AnomalyDetection(anomaly) => {
            out.line(1, "condition", "anomaly-detection");
            out.opt(
                2,
                "threshold_metric_id",
                anomaly.threshold_metric_id.as_deref(),
            );
            out.opt(2, "band_expression", anomaly.band_expression.as_deref());
            out.opt(2, "band_width", anomaly.band_width.map(float).as_deref());
            evaluation(out, &anomaly.evaluation);
            queries(out, &anomaly.metrics);
        }
        AlarmCondition::Composite(composite) => {
            out.line(1, "condition", "composite");
            out.line(2, "rule", &composite.rule);
            out.list(
                2,
                "triggering_children",
                composite.triggering_children.iter().map(|child| {
                    format!(
                        "{} {} at {} ({})",
                        child.name(),
                        child.state.map_or("-", |state| state.as_str()),
                        child.at.map_or_else(|| "-".to_string(), format_utc),
                        child.arn
                    )
                }),
            );
            let suppressor = composite.actions_suppressor.as_ref().map(|suppressor| {
                format!(
                    "{} wait={} extension={}",
                    suppressor.alarm,
                    number(suppressor.wait_period_secs),
                    number(suppressor.extension_period_secs)
                )
            });
            out.opt(2, "actions_suppressor", suppressor.as_deref());
        }
        AlarmCondition::Unknown => out.line(1, "condition", "unknown"),
    }
}

fn evaluation(out: &mut Summary, evaluation: &Evaluation) {
    out.opt(
        2,
        "period_secs",
        evaluation.period_secs.map(|n| n.to_string()).as_deref(),
    );
    out.opt(
        2,
        "evaluation_periods",
        evaluation
            .evaluation_periods
            .map(|n| n.to_string())
            .as_deref(),
    );
    out.opt(
        2,
        "datapoints_to_alarm",
        evaluation
            .datapoints_to_alarm
            .map(|n| n.to_string())
            .as_deref(),
    );
    let comparison = evaluation
        .comparison
        .as_ref()
        .map(|comparison| format!("{} ({})", comparison.as_str(), comparison.symbol()));
    out.opt(2, "comparison", comparison.as_deref());
    out.opt(
        2,
        "treat_missing_data",
        evaluation.treat_missing_data.as_ref().map(|t| t.as_str()),
    );
}

fn queries(out: &mut Summary, metrics: &[MetricQuery]) {
    out.list(
        2,
        "queries",
        metrics.iter().map(|query| {
            let source = match &query.source {
                QuerySource::Expression(expression) => format!("expression {expression}"),
                QuerySource::Metric(stat) => format!(
                    "metric {} stat={} period={} unit={}",
                    metric_text(&stat.metric),
                    stat.stat.as_deref().unwrap_or("-"),
                    number(stat.period_secs),
                    stat.unit.as_deref().unwrap_or("-")
                ),
                QuerySource::Missing => "missing".to_string(),
            };
            format!(
                "{} label={} return_data={}: {source}",
                query.id,
                query.label.as_deref().unwrap_or("-"),
                query.return_data
            )
        }),
    );
}

fn metric_text(metric: &MetricRef) -> String {
    let dimensions: Vec<String> = metric
        .dimensions
        .iter()
        .map(|dimension| format!("{}={}", dimension.name, dimension.value))
        .collect();
    format!(
        "{} {} [{}]",
        metric.namespace,
        metric.name,
        dimensions.join(", ")
    )
}

fn describe_pipeline(out: &mut Summary, pipeline: &PipelineEvent) {
    out.header(0, "pipeline");
    out.line(1, "service", pipeline.service.as_str());
    let origin = match &pipeline.origin {
        PipelineOrigin::EventBridge => "EventBridge".to_string(),
        PipelineOrigin::CodeStarNotification { rule_arn } => {
            format!("CodeStar Notifications ({rule_arn})")
        }
    };
    out.line(1, "origin", &origin);
    out.line(1, "detail_type", &pipeline.detail_type);
    out.line(1, "name", &pipeline.name);
    out.line(1, "status", &pipeline.status);
    out.line(1, "outcome", &format!("{:?}", pipeline.outcome()));
    out.opt(1, "stage", pipeline.stage.as_deref());
    out.opt(1, "action", pipeline.action.as_deref());
    out.opt(1, "action_provider", pipeline.action_provider.as_deref());
    out.opt(1, "phase", pipeline.phase.as_deref());
    out.opt(1, "execution_id", pipeline.execution_id.as_deref());
    out.opt(1, "deployment_group", pipeline.deployment_group.as_deref());
    out.line(1, "account", &pipeline.account);
    out.line(1, "region", &pipeline.region);
    out.time(1, "at", pipeline.at);
    out.opt(1, "summary", pipeline.summary.as_deref());
    out.opt(1, "error_code", pipeline.error_code.as_deref());
    out.opt(1, "link", pipeline.link.as_deref());
    out.opt(1, "failed_stage", pipeline.failed_stage.as_deref());
    out.list(
        1,
        "failed_actions",
        pipeline.failed_actions.iter().map(|failed| {
            format!(
                "{}: {}",
                failed.action,
                failed.info.as_deref().unwrap_or("-")
            )
        }),
    );
    out.opt(1, "initiator", pipeline.initiator.as_deref());
    out.opt(1, "source_version", pipeline.source_version.as_deref());
    out.list(1, "resources", pipeline.resources.iter().cloned());
}

fn describe_api_call(out: &mut Summary, call: &ApiCallEvent) {
    out.header(0, "api_call");
    out.line(1, "event_source", &call.event_source);
    out.line(1, "event_name", &call.event_name);
    out.opt(1, "event_type", call.event_type.as_deref());
    out.line(1, "identity", &call.identity.display_name());
    out.line(2, "type", &call.identity.identity_type);
    out.opt(2, "arn", call.identity.arn.as_deref());
    out.opt(2, "principal_id", call.identity.principal_id.as_deref());
    out.opt(2, "account_id", call.identity.account_id.as_deref());
    out.opt(2, "user_name", call.identity.user_name.as_deref());
    out.opt(2, "session_issuer", call.identity.session_issuer.as_deref());
    out.opt(2, "invoked_by", call.identity.invoked_by.as_deref());
    out.opt(1, "source_ip", call.source_ip.as_deref());
    out.opt(1, "user_agent", call.user_agent.as_deref());
    out.opt(1, "bucket", call.bucket());
    out.opt(1, "object_key", call.object_key());
    out.list(1, "request", call.request.iter().map(entry));
    out.list(1, "resources", call.resources.iter().cloned());
    out.line(1, "account", &call.account);
    out.line(1, "region", &call.region);
    out.time(1, "at", call.at);
    out.opt(1, "error_code", call.error_code.as_deref());
    out.opt(1, "error_message", call.error_message.as_deref());
    out.opt(
        1,
        "read_only",
        call.read_only.map(|flag| flag.to_string()).as_deref(),
    );
    out.opt(1, "event_id", call.event_id.as_deref());
}

fn describe_custom(out: &mut Summary, custom: &CustomNotification) {
    out.header(0, "custom");
    out.opt(1, "id", custom.id.as_deref());
    out.opt(1, "version", custom.version.as_deref());
    out.opt(1, "text_type", custom.text_type.as_deref());
    out.opt(1, "title", custom.title.as_deref());
    out.block(1, "description", &custom.description);
    out.list(1, "next_steps", custom.next_steps.iter().cloned());
    out.list(1, "keywords", custom.keywords.iter().cloned());
    out.opt(1, "thread_id", custom.thread_id.as_deref());
    out.opt(1, "summary", custom.summary.as_deref());
    out.opt(1, "event_type", custom.event_type.as_deref());
    out.list(
        1,
        "related_resources",
        custom.related_resources.iter().cloned(),
    );
    out.list(
        1,
        "additional_context",
        custom.additional_context.iter().map(entry),
    );
    out.opt(
        1,
        "enable_custom_actions",
        custom
            .enable_custom_actions
            .map(|f| f.to_string())
            .as_deref(),
    );
}

fn describe_other(out: &mut Summary, other: &GenericNotification) {
    out.header(0, "other");
    out.opt(1, "subject", other.subject.as_deref());
    out.opt(1, "detail_type", other.detail_type.as_deref());
    out.opt(1, "source", other.source.as_deref());
    out.opt(1, "account", other.account.as_deref());
    out.opt(1, "region", other.region.as_deref());
    out.time(1, "at", other.at);
    out.list(1, "resources", other.resources.iter().cloned());
    let format = match other.format {
        TextFormat::Plain => "plain",
        TextFormat::Json => "json",
    };
    out.line(1, "format", format);
    out.block(1, "text", &other.text);
}

/// `name = value`, with an empty value shown as `""`.
fn entry((name, value): (&String, &String)) -> String {
    if value.is_empty() {
        format!("{name} = \"\"")
    } else {
        format!("{name} = {value}")
    }
}

fn float(value: f64) -> String {
    value.to_string()
}

fn number(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_string(), |n| n.to_string())
}

//! The alarm pipeline's pure half: parses every SQS message body into one typed [`Notification`],
//! routes it (`routing`) and renders it (`card`). No I/O: that is the `notify` module.
//!
//! Entry point: [`parse_sqs_message`]. It never fails and never drops content: bodies it does
//! not recognise become [`Event::Other`] with the text kept (JSON pretty-printed). Parsing is
//! pure: no I/O, no clock.
//!
//! Recognised, in an SNS envelope or as a raw-delivery body:
//! - CloudWatch alarms in the SNS alarm format (single metric, metric math, anomaly band,
//!   composite) and as EventBridge "CloudWatch Alarm State Change" events;
//! - CodePipeline / CodeBuild / CodeDeploy events from EventBridge and CodeStar Notifications;
//! - "AWS API Call via CloudTrail" events (and bare CloudTrail records);
//! - AWS Chatbot custom notifications.

pub mod action_offers;
pub mod card;

mod alarm_change;
mod build_deploy;
mod cloudtrail;
mod cloudwatch;
mod condition;
mod custom;
mod describe;
mod envelope;
mod eventbridge;
mod generic;
pub mod graph;
mod lenient;
mod notification;
mod other_events;
mod region;
pub mod routing;
mod summary;
mod timestamp;

#[cfg(test)]
mod robustness_tests;

use std::collections::BTreeMap;

use serde_json::Value;

pub use crate::config::{looks_like_region_code, NotificationKind, UnknownNotificationKind};
pub use condition::{
    ActionsSuppressor, AlarmCondition, AnomalyDetectionCondition, ChildAlarm, ComparisonOperator,
    CompositeCondition, Dimension, Evaluation, MetricMathCondition, MetricQuery, MetricRef,
    MetricStat, QuerySource, SingleMetricCondition, TreatMissingData,
};
pub use describe::describe;
pub use envelope::content_id;
pub use notification::{
    ActionsSuppression, Alarm, AlarmKey, AlarmSource, AlarmState, UnknownAlarmState,
};
pub use notification::{Delivery, Event, Notification, TEST_ALARM_ATTRIBUTE};
pub use other_events::{
    ApiCallEvent, CallerIdentity, CustomNotification, FailedAction, GenericNotification,
    PipelineEvent, PipelineOrigin, PipelineOutcome, PipelineService, TextFormat,
};
pub use region::{region_code_from_name, region_display_name};
pub use timestamp::{format_utc, parse_aws_time};

/// Parses one SQS message body. `sqs_attributes` are the SQS message attributes (string
/// values); with raw delivery they carry the SNS message attributes. For an SNS envelope the
/// envelope's `MessageAttributes` are laid over them.
pub fn parse_sqs_message(body: &str, sqs_attributes: &BTreeMap<String, String>) -> Notification {
    let mut attributes = sqs_attributes.clone();
    match envelope::parse_sns_envelope(body) {
        Some(envelope) => {
            attributes.extend(envelope.attributes);
            Notification {
                event: parse_message(&envelope.message, envelope.subject.as_deref()),
                message_id: envelope.message_id,
                delivery: Delivery::SnsEnvelope {
                    message_type: envelope.message_type,
                },
                topic_arn: envelope.topic_arn,
                subject: envelope.subject,
                attributes,
                published_at: envelope.published_at,
            }
        }
        None => Notification {
            message_id: content_id(body),
            delivery: Delivery::Raw,
            topic_arn: None,
            subject: None,
            attributes,
            published_at: None,
            event: parse_message(body, None),
        },
    }
}

/// Parses a bare message (the SNS `Message`, or a raw-delivery body) into an [`Event`].
/// `subject` only feeds [`GenericNotification::subject`] when nothing is recognised.
pub fn parse_message(message: &str, subject: Option<&str>) -> Event {
    let other = || Event::Other(Box::new(generic::unrecognised(message, subject)));
    let Ok(value) = serde_json::from_str::<Value>(message) else {
        return other();
    };
    let Value::Object(object) = &value else {
        return other();
    };
    if object.contains_key("AlarmName") || object.contains_key("NewStateValue") {
        return cloudwatch::parse_sns_alarm(&value)
            .map(|alarm| Event::Alarm(Box::new(alarm)))
            .unwrap_or_else(other);
    }
    if eventbridge::is_event(object) {
        return eventbridge::parse_event(message, &value, subject);
    }
    if custom::is_custom(object) {
        return custom::parse(&value)
            .map(|custom| Event::Custom(Box::new(custom)))
            .unwrap_or_else(other);
    }
    if cloudtrail::is_bare_record(object) {
        return cloudtrail::parse_record(&value)
            .map(|call| Event::ApiCall(Box::new(call)))
            .unwrap_or_else(other);
    }
    other()
}

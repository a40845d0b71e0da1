//! EventBridge events and CodeStar Notifications (the same event with camelCase `detailType`).

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::lenient::{opt_string, opt_value, string_list};
use super::notification::Event;
use super::other_events::GenericNotification;
use super::timestamp::parse_aws_time;
use super::{alarm_change, build_deploy, cloudtrail, generic};

/// The common EventBridge fields. Also covers CodeStar Notifications (`detailType`,
/// `notificationRuleArn`, `additionalAttributes`) and the CloudWatch Lambda alarm-action shape
/// (`alarmArn`, `accountId`, `alarmData`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(
        rename = "detail-type",
        alias = "detailType",
        default,
        deserialize_with = "opt_string"
    )]
    detail_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    source: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    account: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    time: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    region: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    resources: Vec<String>,
    #[serde(default, deserialize_with = "opt_value")]
    detail: Option<Value>,
    #[serde(default, deserialize_with = "opt_value")]
    alarm_data: Option<Value>,
    #[serde(default, deserialize_with = "opt_string")]
    alarm_arn: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    notification_rule_arn: Option<String>,
    #[serde(default, deserialize_with = "opt_value")]
    additional_attributes: Option<Value>,
}

/// An EventBridge-style event with its envelope fields unpacked.
#[derive(Debug)]
pub(crate) struct EventFrame {
    pub(crate) detail_type: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) account: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) time: Option<OffsetDateTime>,
    pub(crate) resources: Vec<String>,
    /// `detail`, or `alarmData` for the alarm-action shape.
    pub(crate) detail: Value,
    pub(crate) alarm_arn: Option<String>,
    pub(crate) notification_rule_arn: Option<String>,
    pub(crate) additional_attributes: Value,
    /// The Lambda alarm-action shape: `alarmData` and no detail type.
    pub(crate) is_alarm_action: bool,
}

/// True when the JSON object looks like an EventBridge event, a CodeStar notification or an
/// alarm-action payload.
pub(crate) fn is_event(object: &serde_json::Map<String, Value>) -> bool {
    object.contains_key("detail-type")
        || object.contains_key("detailType")
        || (object.contains_key("alarmData") && object.contains_key("source"))
}

/// Parses an EventBridge-style event into the matching [`Event`]; unknown detail types and
/// broken details become [`Event::Other`] carrying the detail type, source, account and region.
pub(crate) fn parse_event(message: &str, value: &Value, subject: Option<&str>) -> Event {
    let Some(frame) = frame(value) else {
        return Event::Other(Box::new(generic::unrecognised(message, subject)));
    };
    let detail_type = frame.detail_type.as_deref().unwrap_or_default();
    let recognised = match detail_type {
        "CloudWatch Alarm State Change" => {
            alarm_change::parse(&frame).map(|a| Event::Alarm(Box::new(a)))
        }
        _ if frame.is_alarm_action => {
            alarm_change::parse(&frame).map(|a| Event::Alarm(Box::new(a)))
        }
        "CodePipeline Pipeline Execution State Change"
        | "CodePipeline Stage Execution State Change"
        | "CodePipeline Action Execution State Change" => {
            build_deploy::codepipeline(&frame).map(|p| Event::Pipeline(Box::new(p)))
        }
        "CodeBuild Build State Change" | "CodeBuild Build Phase Change" => {
            build_deploy::codebuild(&frame).map(|p| Event::Pipeline(Box::new(p)))
        }
        "CodeDeploy Deployment State-change Notification" => {
            build_deploy::codedeploy(&frame).map(|p| Event::Pipeline(Box::new(p)))
        }
        other if other.ends_with(" via CloudTrail") => {
            cloudtrail::parse_detail(&frame).map(|c| Event::ApiCall(Box::new(c)))
        }
        _ => None,
    };
    recognised.unwrap_or_else(|| Event::Other(Box::new(other_event(message, subject, frame))))
}

fn frame(value: &Value) -> Option<EventFrame> {
    let raw = RawEvent::deserialize(value).ok()?;
    let is_alarm_action = raw.detail_type.is_none() && raw.alarm_data.is_some();
    Some(EventFrame {
        detail_type: raw.detail_type,
        source: raw.source,
        account: raw.account.or(raw.account_id),
        region: raw.region,
        time: raw.time.as_deref().and_then(parse_aws_time),
        resources: raw.resources,
        detail: raw.detail.or(raw.alarm_data).unwrap_or(Value::Null),
        alarm_arn: raw.alarm_arn,
        notification_rule_arn: raw.notification_rule_arn,
        additional_attributes: raw.additional_attributes.unwrap_or(Value::Null),
        is_alarm_action,
    })
}

fn other_event(message: &str, subject: Option<&str>, frame: EventFrame) -> GenericNotification {
    GenericNotification {
        detail_type: frame.detail_type,
        source: frame.source,
        account: frame.account,
        region: frame.region,
        at: frame.time,
        resources: frame.resources,
        ..generic::unrecognised(message, subject)
    }
}

//! AWS console deep links for a notification: the alarm, the pipeline execution, the API event.

use crate::alarms::{looks_like_region_code, Event, Notification, PipelineEvent, PipelineService};

use super::text::percent_encode;

/// A console link for the notification: the CloudWatch alarm, the CodePipeline execution, the
/// CodeBuild build, the CodeDeploy deployment, or the CloudTrail event. `None` when the region
/// is unknown or the kind has no console page. Names are percent-encoded.
pub fn console_url(n: &Notification) -> Option<String> {
    let region = n.region().filter(|region| looks_like_region_code(region))?;
    let base = console_base(region);
    match &n.event {
        Event::Alarm(alarm) => {
            let name = non_empty(&alarm.name)?;
            Some(format!(
                "{base}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
                percent_encode(name)
            ))
        }
        Event::Pipeline(pipeline) => pipeline_url(&base, region, pipeline),
        Event::ApiCall(call) => Some(match non_empty_opt(call.event_id.as_deref()) {
            Some(id) => format!(
                "{base}/cloudtrailv2/home?region={region}#/events/{}",
                percent_encode(id)
            ),
            None => format!(
                "{base}/cloudtrailv2/home?region={region}#/events?EventName={}",
                percent_encode(&call.event_name)
            ),
        }),
        Event::Custom(_) | Event::Other(_) => None,
    }
}

/// The console origin for a region's partition.
fn console_base(region: &str) -> String {
    if region.starts_with("cn-") {
        "https://console.amazonaws.cn".to_owned()
    } else if region.starts_with("us-gov-") {
        "https://console.amazonaws-us-gov.com".to_owned()
    } else {
        format!("https://{region}.console.aws.amazon.com")
    }
}

fn pipeline_url(base: &str, region: &str, pipeline: &PipelineEvent) -> Option<String> {
    let name = percent_encode(non_empty(&pipeline.name)?);
    let execution = non_empty_opt(pipeline.execution_id.as_deref());
    let url = match pipeline.service {
        PipelineService::CodePipeline => match execution {
            Some(id) => format!(
                "{base}/codesuite/codepipeline/pipelines/{name}/executions/{}/timeline?region={region}",
                percent_encode(id)
            ),
            None => format!("{base}/codesuite/codepipeline/pipelines/{name}/view?region={region}"),
        },
        PipelineService::CodeBuild => match execution {
            Some(id) => {
                let build = id.rsplit_once(":build/").map_or(id, |(_, build)| build);
                let account = non_empty(&pipeline.account)
                    .filter(|account| account.chars().all(|c| c.is_ascii_digit()))
                    .map(|account| format!("{account}/"))
                    .unwrap_or_default();
                format!(
                    "{base}/codesuite/codebuild/{account}projects/{name}/build/{}/?region={region}",
                    percent_encode(build)
                )
            }
            None => format!("{base}/codesuite/codebuild/projects/{name}/history?region={region}"),
        },
        PipelineService::CodeDeploy => match execution {
            Some(id) => format!(
                "{base}/codesuite/codedeploy/deployments/{}?region={region}",
                percent_encode(id)
            ),
            None => format!("{base}/codesuite/codedeploy/applications/{name}?region={region}"),
        },
    };
    Some(url)
}

/// True for links from a payload that point at the AWS console (safe to show as a link).
pub(super) fn is_aws_console_link(url: &str) -> bool {
    let Some(rest) = url.trim().strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    [".aws.amazon.com", ".amazonaws.cn", ".amazonaws-us-gov.com"]
        .iter()
        .any(|suffix| host.ends_with(suffix) || host == &suffix[1..])
        && !host.contains('@')
}

fn non_empty(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then_some(text)
}

fn non_empty_opt(text: Option<&str>) -> Option<&str> {
    text.and_then(non_empty)
}

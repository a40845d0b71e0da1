//! CodePipeline, CodeBuild and CodeDeploy events (EventBridge `detail` and CodeStar Notifications).

use serde::Deserialize;
use serde_json::Value;

use super::eventbridge::EventFrame;
use super::lenient::{opt_string, opt_value, value_to_text};
use super::other_events::{FailedAction, PipelineEvent, PipelineOrigin, PipelineService};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CodePipelineDetail {
    #[serde(default, deserialize_with = "opt_string")]
    pipeline: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    execution_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    stage: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    action: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    region: Option<String>,
    #[serde(rename = "type", default)]
    action_type: Option<ActionType>,
    #[serde(default)]
    execution_result: Option<ExecutionResult>,
}

#[derive(Debug, Deserialize)]
struct ActionType {
    #[serde(default, deserialize_with = "opt_string")]
    provider: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ExecutionResult {
    #[serde(default, deserialize_with = "opt_string")]
    external_execution_url: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    external_execution_summary: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    error_code: Option<String>,
}

/// CodeStar Notifications' `additionalAttributes`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeStarAttributes {
    #[serde(default, deserialize_with = "opt_string")]
    additional_information: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    failed_stage: Option<String>,
    #[serde(default)]
    failed_actions: Option<Vec<CodeStarFailedAction>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeStarFailedAction {
    #[serde(default, deserialize_with = "opt_string")]
    action: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    additional_information: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CodeBuildDetail {
    #[serde(default, deserialize_with = "opt_string")]
    project_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    build_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    build_status: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    current_phase: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    completed_phase: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    completed_phase_status: Option<String>,
    #[serde(default)]
    additional_information: Option<BuildInformation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct BuildInformation {
    #[serde(default, deserialize_with = "opt_string")]
    initiator: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    source_version: Option<String>,
    #[serde(default)]
    logs: Option<BuildLogs>,
    #[serde(default)]
    phases: Option<Vec<BuildPhase>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct BuildLogs {
    #[serde(default, deserialize_with = "opt_string")]
    deep_link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct BuildPhase {
    #[serde(default, deserialize_with = "opt_string")]
    phase_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    phase_status: Option<String>,
    #[serde(default, deserialize_with = "opt_value")]
    phase_context: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeDeployDetail {
    #[serde(default, deserialize_with = "opt_string")]
    application: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    deployment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    deployment_group: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    region: Option<String>,
}

/// CodePipeline pipeline, stage and action execution state changes.
pub(crate) fn codepipeline(frame: &EventFrame) -> Option<PipelineEvent> {
    let detail = CodePipelineDetail::deserialize(&frame.detail).ok()?;
    let extras = CodeStarAttributes::deserialize(&frame.additional_attributes).unwrap_or_default();
    let result = detail.execution_result;
    let mut event = base(
        frame,
        PipelineService::CodePipeline,
        detail.pipeline?,
        detail.state?,
    );
    event.region = or_detail_region(event.region, detail.region);
    event.stage = detail.stage;
    event.action = detail.action;
    event.action_provider = detail.action_type.and_then(|kind| kind.provider);
    event.execution_id = detail.execution_id;
    event.summary = extras.additional_information.or_else(|| {
        result
            .as_ref()
            .and_then(|result| result.external_execution_summary.clone())
    });
    event.error_code = result.as_ref().and_then(|result| result.error_code.clone());
    event.link = result.and_then(|result| result.external_execution_url);
    event.failed_stage = extras.failed_stage;
    event.failed_actions = extras
        .failed_actions
        .unwrap_or_default()
        .into_iter()
        .filter_map(|failed| {
            Some(FailedAction {
                action: failed.action?,
                info: failed.additional_information,
            })
        })
        .collect();
    Some(event)
}

/// CodeBuild build state and build phase changes.
pub(crate) fn codebuild(frame: &EventFrame) -> Option<PipelineEvent> {
    let detail = CodeBuildDetail::deserialize(&frame.detail).ok()?;
    let is_phase_change = detail.completed_phase.is_some() && detail.build_status.is_none();
    let (status, phase) = if is_phase_change {
        (detail.completed_phase_status, detail.completed_phase)
    } else {
        (detail.build_status, detail.current_phase)
    };
    let mut event = base(
        frame,
        PipelineService::CodeBuild,
        detail.project_name?,
        status?,
    );
    event.phase = phase;
    event.execution_id = detail.build_id;
    if let Some(information) = detail.additional_information {
        event.initiator = information.initiator;
        event.source_version = information.source_version;
        event.link = information.logs.and_then(|logs| logs.deep_link);
        event.summary = failed_phase_summary(information.phases.unwrap_or_default());
    }
    Some(event)
}

/// CodeDeploy deployment state changes.
pub(crate) fn codedeploy(frame: &EventFrame) -> Option<PipelineEvent> {
    let detail = CodeDeployDetail::deserialize(&frame.detail).ok()?;
    let mut event = base(
        frame,
        PipelineService::CodeDeploy,
        detail.application?,
        detail.state?,
    );
    event.region = or_detail_region(event.region, detail.region);
    event.execution_id = detail.deployment_id;
    event.deployment_group = detail.deployment_group;
    Some(event)
}

fn base(
    frame: &EventFrame,
    service: PipelineService,
    name: String,
    status: String,
) -> PipelineEvent {
    PipelineEvent {
        service,
        origin: match &frame.notification_rule_arn {
            Some(rule_arn) => PipelineOrigin::CodeStarNotification {
                rule_arn: rule_arn.clone(),
            },
            None => PipelineOrigin::EventBridge,
        },
        detail_type: frame.detail_type.clone().unwrap_or_default(),
        name,
        status,
        stage: None,
        action: None,
        action_provider: None,
        phase: None,
        execution_id: None,
        deployment_group: None,
        account: frame.account.clone().unwrap_or_default(),
        region: frame.region.clone().unwrap_or_default(),
        at: frame.time,
        summary: None,
        error_code: None,
        link: None,
        failed_stage: None,
        failed_actions: Vec::new(),
        initiator: None,
        source_version: None,
        resources: frame.resources.clone(),
    }
}

fn or_detail_region(envelope_region: String, detail_region: Option<String>) -> String {
    if envelope_region.is_empty() {
        detail_region.unwrap_or_default()
    } else {
        envelope_region
    }
}

/// `"BUILD FAILED: COMMAND_EXECUTION_ERROR: …"` for each phase that did not succeed.
fn failed_phase_summary(phases: Vec<BuildPhase>) -> Option<String> {
    let failures: Vec<String> = phases
        .into_iter()
        .filter(|phase| {
            let status = phase.phase_status.as_deref().unwrap_or("SUCCEEDED");
            !matches!(status, "SUCCEEDED" | "IN_PROGRESS")
        })
        .map(|phase| {
            let context = phase_context(phase.phase_context);
            let mut line = format!(
                "{} {}",
                phase.phase_type.unwrap_or_else(|| "phase".to_string()),
                phase.phase_status.unwrap_or_default()
            );
            if !context.is_empty() {
                line.push_str(": ");
                line.push_str(&context.join("; "));
            }
            line
        })
        .collect();
    (!failures.is_empty()).then(|| failures.join("\n"))
}

/// CodeBuild sends phase context as a list of strings, or as that list serialised into a string.
fn phase_context(context: Option<Value>) -> Vec<String> {
    let items = match context {
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ Value::Array(_)) => parsed,
            _ => Value::String(text),
        },
        Some(other) => other,
        None => return Vec::new(),
    };
    let list = match items {
        Value::Array(list) => list,
        single => vec![single],
    };
    list.iter()
        .filter_map(value_to_text)
        .map(|line| line.trim().to_string())
        .filter(|line| !line.is_empty() && line != ":")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phase_context_accepts_lists_and_stringified_lists() {
        assert_eq!(phase_context(Some(json!(["a", ": ", "b"]))), vec!["a", "b"]);
        assert_eq!(phase_context(Some(json!("[\"x\"]"))), vec!["x"]);
        assert_eq!(phase_context(Some(json!("[]"))), Vec::<String>::new());
        assert_eq!(phase_context(None), Vec::<String>::new());
    }

    #[test]
    fn summary_lists_only_failed_phases() {
        let phases: Vec<BuildPhase> = serde_json::from_value(json!([
            {"phase-type": "INSTALL", "phase-status": "SUCCEEDED", "phase-context": [": "]},
            {"phase-type": "BUILD", "phase-status": "FAILED", "phase-context": ["COMMAND_EXECUTION_ERROR: exit status 2"]},
            {"phase-type": "COMPLETED"}
        ]))
        .expect("valid phases");
        assert_eq!(
            failed_phase_summary(phases).as_deref(),
            Some("BUILD FAILED: COMMAND_EXECUTION_ERROR: exit status 2")
        );
    }
}

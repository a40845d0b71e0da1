//! The non-alarm parts of the model: pipeline, API call, custom and generic notifications.

use std::collections::BTreeMap;

use time::OffsetDateTime;

/// A CodePipeline, CodeBuild or CodeDeploy event, from EventBridge or CodeStar Notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineEvent {
    pub service: PipelineService,
    pub origin: PipelineOrigin,
    /// e.g. `CodePipeline Action Execution State Change`.
    pub detail_type: String,
    /// Pipeline, build project or CodeDeploy application name.
    pub name: String,
    /// The state as sent: `FAILED`, `SUCCEEDED`, `IN_PROGRESS`, `SUCCESS`, `FAILURE`, …
    pub status: String,
    pub stage: Option<String>,
    pub action: Option<String>,
    /// Provider of a CodePipeline action, e.g. `CodeBuild`.
    pub action_provider: Option<String>,
    /// CodeBuild phase (current or just completed).
    pub phase: Option<String>,
    /// Pipeline execution id, CodeBuild build id or CodeDeploy deployment id.
    pub execution_id: Option<String>,
    pub deployment_group: Option<String>,
    pub account: String,
    pub region: String,
    pub at: Option<OffsetDateTime>,
    /// A one-line explanation when the payload has one (failure summary, failed phase context).
    pub summary: Option<String>,
    pub error_code: Option<String>,
    /// Console or log link from the payload.
    pub link: Option<String>,
    pub failed_stage: Option<String>,
    pub failed_actions: Vec<FailedAction>,
    /// Who started a build (CodeBuild `initiator`).
    pub initiator: Option<String>,
    pub source_version: Option<String>,
    pub resources: Vec<String>,
}

impl PipelineEvent {
    /// The status folded into a small set, for colours and routing.
    pub fn outcome(&self) -> PipelineOutcome {
        match self.status.to_ascii_uppercase().as_str() {
            "STARTED" | "START" | "RESUMED" | "CREATED" | "QUEUED" => PipelineOutcome::Started,
            "IN_PROGRESS" | "READY" | "STOPPING" => PipelineOutcome::InProgress,
            "SUCCEEDED" | "SUCCESS" => PipelineOutcome::Succeeded,
            "FAILED" | "FAILURE" | "FAULT" | "TIMED_OUT" => PipelineOutcome::Failed,
            "STOPPED" | "STOP" | "CANCELED" | "CANCELLED" | "ABANDONED" => PipelineOutcome::Stopped,
            "SUPERSEDED" => PipelineOutcome::Superseded,
            _ => PipelineOutcome::Other,
        }
    }
}

/// Which developer tool sent a [`PipelineEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PipelineService {
    CodePipeline,
    CodeBuild,
    CodeDeploy,
}

impl PipelineService {
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineService::CodePipeline => "CodePipeline",
            PipelineService::CodeBuild => "CodeBuild",
            PipelineService::CodeDeploy => "CodeDeploy",
        }
    }
}

/// How a [`PipelineEvent`] was produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineOrigin {
    EventBridge,
    CodeStarNotification { rule_arn: String },
}

/// [`PipelineEvent::status`] folded into a small set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PipelineOutcome {
    Started,
    InProgress,
    Succeeded,
    Failed,
    Stopped,
    Superseded,
    Other,
}

/// A failed action listed by a CodeStar "pipeline failed" notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAction {
    pub action: String,
    pub info: Option<String>,
}

/// An "AWS API Call via CloudTrail" (or other "… via CloudTrail") event.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallEvent {
    /// e.g. `s3.amazonaws.com`.
    pub event_source: String,
    /// e.g. `PutObject`.
    pub event_name: String,
    /// `AwsApiCall`, `AwsServiceEvent`, `AwsConsoleSignIn`, …
    pub event_type: Option<String>,
    pub identity: CallerIdentity,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `requestParameters` flattened to `name = value`; nested fields use dotted names and
    /// `[i]` indexes (`delete.objects[0].key`).
    pub request: BTreeMap<String, String>,
    pub resources: Vec<String>,
    pub account: String,
    pub region: String,
    pub at: Option<OffsetDateTime>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub read_only: Option<bool>,
    pub event_id: Option<String>,
}

impl ApiCallEvent {
    /// The S3 bucket named in the request, if any.
    pub fn bucket(&self) -> Option<&str> {
        self.request.get("bucketName").map(String::as_str)
    }

    /// The S3 object key named in the request, if any.
    pub fn object_key(&self) -> Option<&str> {
        self.request.get("key").map(String::as_str)
    }
}

/// Who made an API call (CloudTrail `userIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallerIdentity {
    /// `AssumedRole`, `IAMUser`, `Root`, `FederatedUser`, `AWSService`, `Unknown`, …
    pub identity_type: String,
    pub arn: Option<String>,
    pub principal_id: Option<String>,
    pub account_id: Option<String>,
    pub user_name: Option<String>,
    /// ARN of the role or user that issued the session, for assumed roles.
    pub session_issuer: Option<String>,
    /// The AWS service that made the call on the caller's behalf.
    pub invoked_by: Option<String>,
}

impl CallerIdentity {
    /// The most readable name available: user name, `role/session` of an assumed role, the last
    /// part of the ARN, the principal id, or the identity type.
    pub fn display_name(&self) -> String {
        if let Some(user) = &self.user_name {
            return user.clone();
        }
        if let Some(arn) = &self.arn {
            if let Some((_, role_session)) = arn.split_once(":assumed-role/") {
                return role_session.to_string();
            }
            if let Some((_, resource)) = arn.rsplit_once(':') {
                if !resource.is_empty() {
                    return resource.to_string();
                }
            }
        }
        self.principal_id
            .clone()
            .unwrap_or_else(|| self.identity_type.clone())
    }
}

/// An AWS Chatbot custom notification (`version: "1.0"`, `source: "custom"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomNotification {
    pub id: Option<String>,
    pub version: Option<String>,
    /// `client-markdown` when the text is Slack-flavoured markdown.
    pub text_type: Option<String>,
    pub title: Option<String>,
    pub description: String,
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
    /// `metadata.threadId`: notifications sharing it belong in one thread.
    pub thread_id: Option<String>,
    pub summary: Option<String>,
    pub event_type: Option<String>,
    pub related_resources: Vec<String>,
    pub additional_context: BTreeMap<String, String>,
    pub enable_custom_actions: Option<bool>,
}

/// Anything not recognised, kept whole.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericNotification {
    pub subject: Option<String>,
    /// The message text exactly as received, or pretty-printed when it is JSON.
    pub text: String,
    pub format: TextFormat,
    /// EventBridge `detail-type` / CodeStar `detailType`, when the message had one.
    pub detail_type: Option<String>,
    /// EventBridge `source`, when the message had one.
    pub source: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub at: Option<OffsetDateTime>,
    pub resources: Vec<String>,
}

/// Whether [`GenericNotification::text`] is plain text or (pretty-printed) JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextFormat {
    Plain,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_prefers_user_then_role_session() {
        let mut identity = CallerIdentity {
            identity_type: "AssumedRole".to_string(),
            arn: Some("arn:aws:sts::210987654321:assumed-role/Deployer/ci-run-7".to_string()),
            principal_id: Some("AROAEXAMPLE:ci-run-7".to_string()),
            ..CallerIdentity::default()
        };
        assert_eq!(identity.display_name(), "Deployer/ci-run-7");
        identity.user_name = Some("dana".to_string());
        assert_eq!(identity.display_name(), "dana");
        let bare = CallerIdentity {
            identity_type: "Unknown".to_string(),
            arn: Some(String::new()),
            principal_id: Some("210987654321".to_string()),
            ..CallerIdentity::default()
        };
        assert_eq!(bare.display_name(), "210987654321");
    }
}

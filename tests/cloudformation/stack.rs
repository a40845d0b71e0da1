//! The harness of tests/cloudformation.rs: moto, its Query API and SDK clients on it, the stack deployed with parameters, its policies and outputs read back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use aws_config::SdkConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_sqs::error::DisplayErrorContext;
use serde_json::Value;

use crate::query::{self, Query, CLOUDFORMATION, IAM};
use crate::server::MotoServer;
use crate::support;

pub const TEMPLATE: &str = include_str!("../../deploy/aws/chatops-bot.yaml");
pub const REGION: &str = "eu-west-1";
pub const CHANNEL: &str = "C0ALERTS01";

pub fn unique(prefix: &str) -> String {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
    let nanos = since_epoch.map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

pub fn aws_error<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow::anyhow!("moto {operation}: {}", DisplayErrorContext(e))
}

/// Moto, its Query API and SDK clients on it; `None` when moto is skipped on purpose.
pub struct Moto {
    pub server: MotoServer,
    pub query: Query,
    pub sdk: SdkConfig,
}

impl Moto {
    pub async fn find() -> anyhow::Result<Option<Moto>> {
        let Some(server) = MotoServer::find().await? else {
            return Ok(None);
        };
        support::aws_test_env();
        let credentials = Credentials::new("test", "test", None, None, "moto-test");
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&server.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        let query = Query::new(&server.endpoint)?;
        Ok(Some(Moto { server, query, sdk }))
    }

    /// Creates the stack with `parameters` and waits (up to 30 s) for CREATE_COMPLETE; its outputs.
    pub async fn deploy(
        &self,
        parameters: &[(&str, &str)],
    ) -> anyhow::Result<BTreeMap<String, String>> {
        let stack = unique("chatops-cfn");
        let mut params = vec![
            ("StackName".to_owned(), stack.clone()),
            ("TemplateBody".to_owned(), TEMPLATE.to_owned()),
            (
                "Capabilities.member.1".to_owned(),
                "CAPABILITY_IAM".to_owned(),
            ),
        ];
        for (n, (key, value)) in parameters.iter().enumerate() {
            let member = format!("Parameters.member.{}", n + 1);
            params.push((format!("{member}.ParameterKey"), key.to_string()));
            params.push((format!("{member}.ParameterValue"), value.to_string()));
        }
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.query
            .call(CLOUDFORMATION, REGION, "CreateStack", &params)
            .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let described = self
                .query
                .call(
                    CLOUDFORMATION,
                    REGION,
                    "DescribeStacks",
                    &[("StackName", &stack)],
                )
                .await?;
            match query::text(&described, "StackStatus")?.as_str() {
                "CREATE_COMPLETE" => return query::outputs(&described),
                "CREATE_IN_PROGRESS" if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                status => bail!("stack {stack} is {status}: {described}"),
            }
        }
    }

    /// A new IAM role for EC2, standing in for the bot's instance role; its name.
    pub async fn instance_role(&self) -> anyhow::Result<String> {
        let role = unique("chatops-bot-instance");
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let trust = trust.to_string();
        let params = [
            ("RoleName", role.as_str()),
            ("AssumeRolePolicyDocument", trust.as_str()),
        ];
        self.query
            .call(IAM, "us-east-1", "CreateRole", &params)
            .await?;
        Ok(role)
    }

    /// The managed policies attached to `role`.
    pub async fn attached_policies(&self, role: &str) -> anyhow::Result<BTreeSet<String>> {
        let params = [("RoleName", role)];
        let listed = self
            .query
            .call(IAM, "us-east-1", "ListAttachedRolePolicies", &params)
            .await?;
        Ok(query::texts(&listed, "PolicyArn")?.into_iter().collect())
    }

    /// The statements of the managed policy `arn`'s default version.
    pub async fn policy_statements(&self, arn: &str) -> anyhow::Result<Vec<Value>> {
        let policy = self
            .query
            .call(IAM, "us-east-1", "GetPolicy", &[("PolicyArn", arn)])
            .await?;
        let version = query::text(&policy, "DefaultVersionId")?;
        let params = [("PolicyArn", arn), ("VersionId", version.as_str())];
        let answer = self
            .query
            .call(IAM, "us-east-1", "GetPolicyVersion", &params)
            .await?;
        let document = query::text(&answer, "Document")?;
        // AWS URL-encodes the document; accept it either way.
        let document: Value = serde_json::from_str(&document).or_else(|_| {
            let decoded = percent_encoding::percent_decode_str(&document).decode_utf8()?;
            serde_json::from_str(&decoded).context("the policy document")
        })?;
        let statements = document["Statement"]
            .as_array()
            .context("no Statement list")?;
        Ok(statements.clone())
    }
}

pub fn sids(statements: &[Value]) -> BTreeSet<&str> {
    statements
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect()
}

pub fn statement<'a>(statements: &'a [Value], sid: &str) -> anyhow::Result<&'a Value> {
    statements
        .iter()
        .find(|s| s["Sid"] == sid)
        .with_context(|| format!("no {sid} statement"))
}

pub fn output<'a>(outputs: &'a BTreeMap<String, String>, key: &str) -> anyhow::Result<&'a str> {
    outputs
        .get(key)
        .map(String::as_str)
        .with_context(|| format!("no {key} output in {outputs:?}"))
}

/// A directory standing in for `$CREDENTIALS_DIRECTORY`, holding both Slack tokens.
pub fn credentials() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("slack_app_token"),
        format!("{}\n", support::APP_TOKEN),
    )?;
    std::fs::write(
        dir.path().join("slack_bot_token"),
        format!("{}\n", support::BOT_TOKEN),
    )?;
    Ok(dir)
}

/// The `BotToml` output loaded as the bot loads its config, tokens from the unit's credentials.
pub fn bot_toml(outputs: &BTreeMap<String, String>) -> anyhow::Result<chatops_bot::config::Config> {
    let credentials = credentials()?;
    let env = [(
        "CREDENTIALS_DIRECTORY".to_owned(),
        credentials.path().display().to_string(),
    )];
    let text = output(outputs, "BotToml")?;
    chatops_bot::config::Config::load_from_str(
        "BotToml",
        text,
        env,
        chatops_bot::config::Purpose::Run,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
}

//! deploy/aws/chatops-bot.yaml on moto's CloudFormation: the stack makes what bot.toml needs.
//!
//! The queue (SSE, redrive to the dead-letter queue after 5 receives), the topic and its
//! subscription exist; an alarm published to the topic reaches the queue as the SNS envelope the
//! bot parses; the BotToml output is a config the bot accepts, naming them; the bot's policies
//! hold what the parameters ask for.
//!
//! moto's CloudFormation skips the queue policy, the topic policy and the CloudWatch alarm (it
//! has no model for them; `cfn-lint` in .ci/run checks their shape). Finds moto as
//! tests/moto_sns_sqs.rs does (`CHATOPS_TEST_MOTO_ENDPOINT`, else `moto_server` from PATH;
//! `CHATOPS_SKIP_MOTO=1` skips).

#[path = "cloudformation/query.rs"]
mod query;
#[path = "moto_sns_sqs/server.rs"]
mod server;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context};
use aws_config::SdkConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use chatops_bot::alarms::{parse_sqs_message, Delivery, Event};
use chatops_bot::config::{Config, ProxySettings, Purpose};
use chatops_bot::egress::aws::secrets_manager;
use query::{Query, CLOUDFORMATION, IAM};
use serde_json::{json, Value};
use server::MotoServer;

const TEMPLATE: &str = include_str!("../deploy/aws/chatops-bot.yaml");
const REGION: &str = "eu-west-1";
const CHANNEL: &str = "C0ALERTS01";

fn unique(prefix: &str) -> String {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
    let nanos = since_epoch.map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

fn aws_error<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow::anyhow!("moto {operation}: {}", DisplayErrorContext(e))
}

/// Moto, its Query API and SDK clients on it; `None` when moto is skipped on purpose.
struct Moto {
    server: MotoServer,
    query: Query,
    sdk: SdkConfig,
}

impl Moto {
    async fn find() -> anyhow::Result<Option<Moto>> {
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
    async fn deploy(
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

    /// The statements of the managed policy `arn`'s default version.
    async fn policy_statements(&self, arn: &str) -> anyhow::Result<Vec<Value>> {
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

fn sids(statements: &[Value]) -> BTreeSet<&str> {
    statements
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect()
}

fn statement<'a>(statements: &'a [Value], sid: &str) -> anyhow::Result<&'a Value> {
    statements
        .iter()
        .find(|s| s["Sid"] == sid)
        .with_context(|| format!("no {sid} statement"))
}

fn output<'a>(outputs: &'a BTreeMap<String, String>, key: &str) -> anyhow::Result<&'a str> {
    outputs
        .get(key)
        .map(String::as_str)
        .with_context(|| format!("no {key} output in {outputs:?}"))
}

/// A directory standing in for `$CREDENTIALS_DIRECTORY`, holding both Slack tokens.
fn credentials() -> anyhow::Result<tempfile::TempDir> {
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

#[tokio::test]
async fn the_stack_makes_the_queue_the_topic_and_an_envelope_subscription() -> anyhow::Result<()> {
    let Some(moto) = Moto::find().await? else {
        return Ok(());
    };
    let outputs = moto.deploy(&[("AlarmChannel", CHANNEL)]).await?;
    let (queue, topic) = (output(&outputs, "QueueUrl")?, output(&outputs, "TopicArn")?);
    let dead_letters = output(&outputs, "DeadLetterQueueUrl")?;
    assert_eq!(output(&outputs, "Region")?, REGION);

    let sqs = aws_sdk_sqs::Client::new(&moto.sdk);
    let attributes = |url: &str| {
        let request = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(Attr::All);
        async move {
            let answer = request
                .send()
                .await
                .map_err(aws_error("GetQueueAttributes"))?;
            anyhow::Ok(answer.attributes.unwrap_or_default())
        }
    };
    let (queue_attributes, dlq_attributes) =
        (attributes(queue).await?, attributes(dead_letters).await?);
    for attributes in [&queue_attributes, &dlq_attributes] {
        let sse = attributes
            .get(&Attr::SqsManagedSseEnabled)
            .map(String::as_str);
        assert_eq!(sse, Some("true"), "SSE on both queues: {attributes:?}");
    }
    let redrive = queue_attributes
        .get(&Attr::RedrivePolicy)
        .context("no RedrivePolicy")?;
    let redrive: Value = serde_json::from_str(redrive)?;
    assert_eq!(
        redrive["deadLetterTargetArn"].as_str(),
        dlq_attributes.get(&Attr::QueueArn).map(String::as_str)
    );
    let dlq_arn = dlq_attributes.get(&Attr::QueueArn).map(String::as_str);
    assert_eq!(Some(output(&outputs, "DeadLetterQueueArn")?), dlq_arn);
    let max_receives = &redrive["maxReceiveCount"];
    assert!(
        *max_receives == 5 || *max_receives == "5",
        "maxReceiveCount 5: {redrive}"
    );
    let queue_arn = queue_attributes
        .get(&Attr::QueueArn)
        .context("no QueueArn")?;

    let sns = aws_sdk_sns::Client::new(&moto.sdk);
    let listed = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await;
    let subscriptions = listed
        .map_err(aws_error("ListSubscriptionsByTopic"))?
        .subscriptions
        .unwrap_or_default();
    ensure!(
        subscriptions.len() == 1,
        "one subscription: {subscriptions:?}"
    );
    assert_eq!(subscriptions[0].protocol(), Some("sqs"));
    assert_eq!(subscriptions[0].endpoint(), Some(queue_arn.as_str()));
    let arn = subscriptions[0]
        .subscription_arn()
        .context("no SubscriptionArn")?;
    let subscription = sns
        .get_subscription_attributes()
        .subscription_arn(arn)
        .send()
        .await;
    let subscription = subscription
        .map_err(aws_error("GetSubscriptionAttributes"))?
        .attributes
        .unwrap_or_default();
    assert_eq!(
        subscription.get("RawMessageDelivery").map(String::as_str),
        Some("false")
    );

    // An alarm through the topic arrives as an SNS envelope that the bot reads as that alarm.
    let name = unique("CheckoutLatency");
    let alarm = support::cloudwatch_alarm(
        &name,
        "ALARM",
        "OK",
        "2026-12-02T09:15:27.482+0000",
        "Threshold Crossed",
    );
    let published = sns
        .publish()
        .topic_arn(topic)
        .subject(format!("ALARM: \"{name}\""))
        .message(alarm)
        .send()
        .await;
    published.map_err(aws_error("Publish"))?;
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(5)
        .send()
        .await;
    let messages = received
        .map_err(aws_error("ReceiveMessage"))?
        .messages
        .unwrap_or_default();
    ensure!(
        messages.len() == 1,
        "one message in the queue: {messages:?}"
    );
    let notification = parse_sqs_message(messages[0].body().unwrap_or_default(), &BTreeMap::new());
    assert!(
        matches!(notification.delivery, Delivery::SnsEnvelope { .. }),
        "{:?}",
        notification.delivery
    );
    assert_eq!(notification.topic_arn.as_deref(), Some(topic));
    match &notification.event {
        Event::Alarm(parsed) => assert_eq!(parsed.name, name),
        other => bail!("not read as an alarm: {other:?}"),
    }

    // BotToml is a whole config, tokens from the unit's credentials.
    let credentials = credentials()?;
    let env = [(
        "CREDENTIALS_DIRECTORY".to_owned(),
        credentials.path().display().to_string(),
    )];
    let config = Config::load_from_str("BotToml", output(&outputs, "BotToml")?, env, Purpose::Run)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(
        config.alarms.queue_url.as_ref().map(|u| u.as_str()),
        Some(queue)
    );
    assert_eq!(config.alarms.topic_arn.as_deref(), Some(topic));
    assert_eq!(config.alarms.default_channel.as_deref(), Some(CHANNEL));
    assert_eq!(config.aws.region.as_deref(), Some(REGION));
    assert!(config.bedrock.is_none());

    // Least privilege: the queue, the dead-letter queue's depth, the topic, the alarms' graphs;
    // nothing optional.
    for optional in ["AgentPolicyArn", "ModelPolicyArn", "SecretPolicyArn"] {
        assert!(
            !outputs.contains_key(optional),
            "no {optional}: {outputs:?}"
        );
    }
    let statements = moto
        .policy_statements(output(&outputs, "BotPolicyArn")?)
        .await?;
    let expected = BTreeSet::from([
        "ConsumeAlarmQueue",
        "ReadDeadLetterQueueDepth",
        "PublishTestAlarm",
        "DrawAlarmGraphs",
    ]);
    assert_eq!(sids(&statements), expected);
    assert_eq!(
        statement(&statements, "DrawAlarmGraphs")?["Action"],
        json!("cloudwatch:GetMetricWidgetImage")
    );
    assert_eq!(
        statement(&statements, "ConsumeAlarmQueue")?["Resource"],
        json!(queue_arn)
    );
    assert_eq!(
        statement(&statements, "PublishTestAlarm")?["Resource"],
        json!(topic)
    );
    Ok(())
}

#[tokio::test]
async fn a_role_a_secret_and_an_agent_widen_the_policy_and_the_config() -> anyhow::Result<()> {
    let Some(moto) = Moto::find().await? else {
        return Ok(());
    };
    let role = unique("chatops-bot-instance");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let trust = trust.to_string();
    let params = [
        ("RoleName", role.as_str()),
        ("AssumeRolePolicyDocument", trust.as_str()),
    ];
    moto.query
        .call(IAM, "us-east-1", "CreateRole", &params)
        .await?;
    let secret = format!("wn/{}", unique("chatops"));
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk);
    let created = secrets
        .create_secret()
        .name(&secret)
        .secret_string(json!({"slack_token": support::BOT_TOKEN}).to_string())
        .send()
        .await;
    created.map_err(aws_error("CreateSecret"))?;

    let outputs = moto
        .deploy(&[
            ("AlarmChannel", CHANNEL),
            ("InstanceRoleName", role.as_str()),
            ("SecretName", secret.as_str()),
            ("BedrockAgentId", "AGENT12345"),
            ("BedrockAgentAliasId", "ALIAS12345"),
        ])
        .await?;
    // One policy per feature, each attached to the role.
    let agent_policy = output(&outputs, "AgentPolicyArn")?;
    let statements = moto.policy_statements(agent_policy).await?;
    assert_eq!(
        sids(&statements),
        BTreeSet::from(["AskBedrockAgent", "ReadAlarmDataForTheAgent"])
    );
    let data = statement(&statements, "ReadAlarmDataForTheAgent")?;
    assert_eq!(
        data["Action"],
        json!([
            "cloudwatch:GetMetricData",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:DescribeAlarmHistory"
        ])
    );
    let agent = statement(&statements, "AskBedrockAgent")?;
    let alias = format!("arn:aws:bedrock:{REGION}:123456789012:agent-alias/AGENT12345/ALIAS12345");
    assert_eq!(agent["Resource"], json!(alias));
    assert_eq!(
        agent["Action"],
        json!(["bedrock:InvokeAgent", "bedrock:GetAgentAlias"])
    );
    let secret_policy = output(&outputs, "SecretPolicyArn")?;
    let statements = moto.policy_statements(secret_policy).await?;
    assert_eq!(sids(&statements), BTreeSet::from(["ReadConfigSecret"]));
    let read = statement(&statements, "ReadConfigSecret")?;
    let secret_arn = format!("arn:aws:secretsmanager:{REGION}:123456789012:secret:{secret}-??????");
    assert_eq!(read["Resource"], json!(secret_arn));
    assert_eq!(read["Action"], json!("secretsmanager:GetSecretValue"));
    let listed = moto
        .query
        .call(
            IAM,
            "us-east-1",
            "ListAttachedRolePolicies",
            &[("RoleName", &role)],
        )
        .await?;
    let attached: BTreeSet<String> = query::texts(&listed, "PolicyArn")?.into_iter().collect();
    let expected = [
        output(&outputs, "BotPolicyArn")?,
        agent_policy,
        secret_policy,
    ];
    let expected: BTreeSet<String> = expected.into_iter().map(str::to_owned).collect();
    assert_eq!(attached, expected, "attached to {role}");

    // BotToml reads the bot token from the secret and asks the agent.
    let credentials = credentials()?;
    let env = [
        (
            "CREDENTIALS_DIRECTORY".to_owned(),
            credentials.path().display().to_string(),
        ),
        (
            "CHATOPS_AWS__ENDPOINT_URL".to_owned(),
            moto.server.endpoint.clone(),
        ),
    ];
    let text = output(&outputs, "BotToml")?;
    let connect = secrets_manager(ProxySettings::default());
    let config = Config::resolve_from_str("BotToml", text, env, Purpose::Run, connect)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = config.slack.bot_token.as_ref().map(ToString::to_string);
    assert_eq!(
        source,
        Some(format!("aws-secretsmanager:{secret}#slack_token"))
    );
    let bedrock = config.bedrock.context("BotToml has [bedrock]")?;
    assert_eq!(
        bedrock.backend,
        chatops_bot::config::Backend::Agent(chatops_bot::config::AgentBackend {
            agent_id: "AGENT12345".into(),
            agent_alias_id: "ALIAS12345".into(),
        })
    );
    Ok(())
}

#[tokio::test]
async fn a_model_id_gives_the_model_policy_and_a_model_backend() -> anyhow::Result<()> {
    let Some(moto) = Moto::find().await? else {
        return Ok(());
    };
    let model = "eu.anthropic.claude-3-5-haiku-20241022-v1:0";
    let outputs = moto
        .deploy(&[("AlarmChannel", CHANNEL), ("BedrockModelId", model)])
        .await?;
    assert!(!outputs.contains_key("AgentPolicyArn"), "{outputs:?}");
    let statements = moto
        .policy_statements(output(&outputs, "ModelPolicyArn")?)
        .await?;
    assert_eq!(
        sids(&statements),
        BTreeSet::from(["AskBedrockModel", "AskThroughInferenceProfile"])
    );
    let profile = format!("arn:aws:bedrock:{REGION}:123456789012:inference-profile/{model}");
    let direct = statement(&statements, "AskBedrockModel")?;
    assert_eq!(
        direct["Resource"],
        json!([
            format!("arn:aws:bedrock:{REGION}::foundation-model/{model}"),
            profile
        ])
    );
    assert_eq!(
        direct["Action"],
        json!("bedrock:InvokeModelWithResponseStream")
    );
    let through = statement(&statements, "AskThroughInferenceProfile")?;
    assert_eq!(
        through["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"],
        json!(profile)
    );

    let credentials = credentials()?;
    let env = [(
        "CREDENTIALS_DIRECTORY".to_owned(),
        credentials.path().display().to_string(),
    )];
    let config = Config::load_from_str("BotToml", output(&outputs, "BotToml")?, env, Purpose::Run)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bedrock = config.bedrock.context("BotToml has [bedrock]")?;
    match &bedrock.backend {
        chatops_bot::config::Backend::Model(settings) => assert_eq!(settings.model_id, model),
        other => bail!("not the model backend: {other:?}"),
    }
    Ok(())
}

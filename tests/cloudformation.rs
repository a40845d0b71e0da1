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
#[path = "cloudformation/stack.rs"]
mod stack;
mod support;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, ensure, Context};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use chatops_bot::alarms::{parse_sqs_message, Delivery, Event};
use chatops_bot::config::{Config, ProxySettings, Purpose};
use chatops_bot::egress::aws::secrets_manager;
use query::IAM;
use serde_json::{json, Value};
use stack::*;

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
    let config = bot_toml(&outputs)?;
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
    let role = moto.instance_role().await?;
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
    let attached = moto.attached_policies(&role).await?;
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

    let config = bot_toml(&outputs)?;
    let bedrock = config.bedrock.context("BotToml has [bedrock]")?;
    match &bedrock.backend {
        chatops_bot::config::Backend::Model(settings) => assert_eq!(settings.model_id, model),
        other => bail!("not the model backend: {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn a_channel_for_aws_commands_gives_a_view_only_role_the_bot_may_assume() -> anyhow::Result<()>
{
    let Some(moto) = Moto::find().await? else {
        return Ok(());
    };
    let role = moto.instance_role().await?;
    let ops = "C0OPS00001";
    let outputs = moto
        .deploy(&[
            ("AlarmChannel", CHANNEL),
            ("InstanceRoleName", role.as_str()),
            ("AwsCommandsChannel", ops),
        ])
        .await?;
    let cli_role_arn = output(&outputs, "AwsCommandsRoleArn")?;
    let cli_role = cli_role_arn.rsplit('/').next().context("a role name")?;

    // The CLI's role: view-only, data and secrets denied, trusting only the bot's role.
    let got = moto
        .query
        .call(IAM, "us-east-1", "GetRole", &[("RoleName", cli_role)])
        .await?;
    let document = query::text(&got, "AssumeRolePolicyDocument")?;
    let document = percent_encoding::percent_decode_str(&document).decode_utf8()?;
    let document: Value = serde_json::from_str(&document).context("the trust policy")?;
    let instance_role = format!("arn:aws:iam::123456789012:role/{role}");
    assert_eq!(
        document["Statement"][0]["Principal"]["AWS"],
        json!(instance_role),
        "{document}"
    );
    assert_eq!(document["Statement"][0]["Action"], json!("sts:AssumeRole"));
    assert_eq!(
        document["Statement"][0]["Condition"]["StringLike"]["sts:RoleSessionName"],
        json!("chatops-bot-*"),
        "only the bot's sessions: {document}"
    );
    // moto's CloudFormation does not apply a role's ManagedPolicyArns (cfn-lint checks their
    // shape in .ci/run): the template must name AWS's view-only policy for this role.
    let role_resource = TEMPLATE
        .split("\n  AwsCommandsRole:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .context("the AwsCommandsRole resource")?;
    assert!(
        role_resource.contains(
            "ManagedPolicyArns:\n        - !Sub \"arn:${AWS::Partition}:iam::aws:policy/job-function/ViewOnlyAccess\""
        ),
        "{role_resource}"
    );
    let params = [("RoleName", cli_role), ("PolicyName", "DenyDataAndSecrets")];
    let inline = moto
        .query
        .call(IAM, "us-east-1", "GetRolePolicy", &params)
        .await?;
    let deny = query::text(&inline, "PolicyDocument")?;
    let deny = percent_encoding::percent_decode_str(&deny).decode_utf8()?;
    // moto's CloudFormation stores an inline policy as Python's repr of the document; AWS
    // returns it URL-encoded JSON. Accept both (the document has no quotes of its own).
    let deny: Value = serde_json::from_str(&deny)
        .or_else(|_| serde_json::from_str(&deny.replace('\'', "\"")))
        .with_context(|| format!("the deny policy: {deny}"))?;
    let statement = &deny["Statement"][0];
    assert_eq!(statement["Effect"], json!("Deny"));
    for action in [
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        "kms:Decrypt",
        "s3:GetObject",
        "lambda:GetFunction",
    ] {
        let denied = statement["Action"].as_array().context("actions")?;
        assert!(denied.contains(&json!(action)), "{action} in {deny}");
    }

    // The bot may assume it, and nothing more comes with that.
    let assume = output(&outputs, "AwsCommandsPolicyArn")?;
    let statements = moto.policy_statements(assume).await?;
    assert_eq!(sids(&statements), BTreeSet::from(["AssumeAwsCommandsRole"]));
    let allowed = stack::statement(&statements, "AssumeAwsCommandsRole")?;
    assert_eq!(allowed["Action"], json!("sts:AssumeRole"));
    assert_eq!(allowed["Resource"], json!(cli_role_arn));
    let attached = moto.attached_policies(&role).await?;
    let expected: BTreeSet<String> = [output(&outputs, "BotPolicyArn")?, assume]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(attached, expected, "attached to {role}");

    // BotToml turns `@bot aws` on in that channel, as that role.
    let config = bot_toml(&outputs)?;
    let commands = config.aws_commands.context("BotToml has [aws_commands]")?;
    assert_eq!(commands.role_arn, cli_role_arn);
    let channels: Vec<&str> = commands
        .channels
        .iter()
        .map(|c| c.channel.as_str())
        .collect();
    assert_eq!(channels, [ops]);
    Ok(())
}

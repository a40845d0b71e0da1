//! `chatops-sandbox demo`: run the real bot against the fake Slack and print what happened.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

mod agent;
mod deploy;
mod report;

use super::bot_process::{bot_binary, sandbox_config, BotProcess};
use super::serve::TEAM_SECRET;
use crate::aws::FakeSqs;
use crate::bedrock::FakeBedrock;
use crate::cloudwatch::FakeCloudWatch;
use crate::confluence::FakeConfluence;
use crate::github::FakeGitHub;
use crate::secretsmanager::FakeSecretsManager;
use crate::slack::{envelopes, FakeSlack, FakeSlackOptions, Target};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Show the bot's own logs (stderr) as well.
    #[arg(long)]
    pub bot_logs: bool,
    /// Which Bedrock backend the bot uses (`bedrock.backend`): "model" (ConverseStream),
    /// "agent" (InvokeAgent) or "agentcore" (InvokeAgentRuntime). The fake serves all three.
    #[arg(long, default_value = "model", value_parser = ["model", "agent", "agentcore"])]
    pub backend: String,
}

const WAIT: Duration = Duration::from_secs(15);

/// Print the fakes' timeline entries not printed yet.
struct Transcript<'a> {
    fake: &'a FakeSlack,
    sqs: &'a FakeSqs,
    printed: usize,
    printed_sqs: usize,
}

impl Transcript<'_> {
    fn flush(&mut self) {
        for entry in self.sqs.timeline_since(self.printed_sqs) {
            self.printed_sqs += 1;
            // Empty long polls are noise in a transcript.
            if !entry.to_string().contains("ReceiveMessage -> 0") {
                println!("  {entry}");
            }
        }
        for entry in self.fake.timeline_since(self.printed) {
            self.printed += 1;
            println!("  {entry}");
        }
    }
    fn say(&mut self, who: &str, text: &str) {
        self.flush();
        println!("\n{who:>8} ▸ {text}");
    }
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let bin = bot_binary()?;
    let fake = FakeSlack::start(FakeSlackOptions::default()).await?;
    let sqs = FakeSqs::start().await?;
    let queue = sqs.create_queue("chatops-alarms", Duration::from_secs(30), None)?;
    let cloudwatch = FakeCloudWatch::start().await?;
    let bedrock = FakeBedrock::start().await?;
    let wiki = FakeConfluence::start().await?;
    wiki.add_space("OPS");
    let github = FakeGitHub::start().await?;
    // The team's secret holds the Confluence keys; the fake SQS's port answers for it too.
    let secrets = FakeSecretsManager::start().await?;
    sqs.serve_secrets_manager(&secrets);
    let keys: serde_json::Map<String, Value> = report::secret_keys(&wiki)
        .into_iter()
        .map(|(key, value)| (key.to_owned(), Value::from(value)))
        .collect();
    secrets.set_json(TEAM_SECRET, &Value::Object(keys));
    let mut t = Transcript {
        fake: &fake,
        sqs: &sqs,
        printed: 0,
        printed_sqs: 0,
    };
    t.say(
        "sandbox",
        &format!(
            "Fake Slack on {}, fake SQS on {}, fake Bedrock on {}, fake GitHub on {}; starting {}",
            fake.api_url(),
            sqs.endpoint_url(),
            bedrock.endpoint_url(),
            github.api_url(),
            bin.display()
        ),
    );
    let config = sandbox_config(
        &fake.api_url(),
        &fake.options().app_token,
        &fake.options().bot_token,
        2,
    ) + &alarms_config(&sqs.endpoint_url(), &cloudwatch.endpoint_url(), &queue)
        + &agent::config(&bedrock, &args.backend)
        + &report::config()
        + &deploy::config(&github);
    let log_level = if args.bot_logs { "info" } else { "warn" };
    let bot = BotProcess::spawn(&bin, &config, log_level, args.bot_logs)?;

    let conns = fake
        .wait_for_connections(2, WAIT)
        .await
        .context("the bot did not connect")?;
    t.say(
        "bot",
        &format!(
            "holds {} Socket Mode connections; [confluence] came from {TEAM_SECRET} in Secrets \
             Manager ({} GetSecretValue for its three keys)",
            conns.len(),
            secrets.get_calls(TEAM_SECRET)
        ),
    );

    t.say("alice", "@ChatOps Bot help   (in #ops)");
    let mention = envelopes::app_mention("C0OPS", "U0ALICE", "<@U0BOT> help");
    fake.send(Target::Any, mention).await?;
    let reply = fake
        .wait_for_call("chat.postMessage", |c| c.ok(), WAIT)
        .await?;
    t.say(
        "bot",
        &format!("replies in the thread:\n{}", indent(&render(&reply.params))),
    );

    alarm_scenario(&mut t, &sqs, &queue, &bedrock, &cloudwatch).await?;
    let root = first_card(&fake)?;
    report::scenario(&mut t, &bedrock, &wiki, &root).await?;
    deploy::scenario(&mut t, &github).await?;

    t.say("slack", "asks to refresh connection 1 (refresh_requested)");
    fake.disconnect(conns[0], "refresh_requested").await?;
    wait_for_replacement(&fake, conns[0]).await?;
    t.say(
        "bot",
        "opened a replacement first, then closed the old connection",
    );

    t.say("operator", "systemctl stop chatops-bot   (SIGTERM)");
    let status = bot.terminate(Duration::from_secs(30))?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    t.say("bot", &format!("exited with {status}"));
    t.flush();
    if !status.success() {
        bail!("the bot exited with {status}");
    }
    println!(
        "\nDemo complete: mention answered, alarm card posted (its metric graph added after) and watched, the agent's analysis \
         streamed into its thread and a follow-up answered in the same session, the card resolved \
         in place, the thread reported to Confluence, a deploy approved and followed to success \
         in its thread, connection refreshed, clean stop."
    );
    fake.shutdown().await;
    sqs.shutdown().await;
    cloudwatch.shutdown().await;
    bedrock.shutdown().await;
    wiki.shutdown().await;
    github.shutdown().await;
    secrets.shutdown().await;
    Ok(())
}

/// The alarm card's ts (the first top-level post in the alerts channel).
fn first_card(fake: &FakeSlack) -> anyhow::Result<String> {
    fake.calls_to("chat.postMessage")
        .into_iter()
        .find(|c| {
            c.ok() && c.param_str("channel") == Some(ALERTS) && c.param_str("thread_ts").is_none()
        })
        .and_then(|c| c.response["ts"].as_str().map(str::to_owned))
        .context("no alarm card")
}

const ALERTS: &str = "C0ALERTS01";
const ALARM_ARN: &str = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-api-5xx";

fn alarms_config(endpoint: &str, cloudwatch: &str, queue: &str) -> String {
    format!(
        r#"
[aws]
region = "eu-west-1"
endpoint_url = "{endpoint}"

[aws.endpoints]
cloudwatch = "{cloudwatch}"

[alarms]
queue_url = "{queue}"
default_channel = "{ALERTS}"
"#
    )
}

fn cloudwatch_alarm(state: &str, old: &str, time: &str, reason: &str) -> String {
    serde_json::json!({
        "AlarmName": "checkout-api-5xx", "AlarmDescription": "5xx responses on the checkout API",
        "AWSAccountId": "111122223333", "NewStateValue": state, "NewStateReason": reason,
        "StateChangeTime": time, "Region": "EU (Ireland)", "OldStateValue": old,
        "AlarmArn": ALARM_ARN,
        "Trigger": {"MetricName": "HTTPCode_Target_5XX_Count", "Namespace": "AWS/ApplicationELB",
            "Statistic": "SUM", "Unit": null, "Period": 60, "EvaluationPeriods": 3,
            "Dimensions": [{"value": "app/checkout/0123456789abcdef", "name": "LoadBalancer"}],
            "ComparisonOperator": "GreaterThanThreshold", "Threshold": 25.0, "TreatMissingData": "notBreaching"}
    })
    .to_string()
}

async fn alarm_scenario(
    t: &mut Transcript<'_>,
    sqs: &FakeSqs,
    queue: &str,
    bedrock: &FakeBedrock,
    cloudwatch: &FakeCloudWatch,
) -> anyhow::Result<()> {
    let fake = t.fake;
    t.say(
        "aws",
        "CloudWatch alarm checkout-api-5xx goes to ALARM; SNS delivers it to the SQS queue",
    );
    let firing = cloudwatch_alarm("ALARM", "OK", "2026-11-23T13:53:39.351+0000", "Threshold Crossed: 3 datapoints [41.0, 57.0, 88.0] were greater than the threshold (25.0).");
    sqs.publish_sns(
        queue,
        Some("ALARM: \"checkout-api-5xx\" in EU (Ireland)"),
        &firing,
        Default::default(),
        false,
    )?;
    let card = fake
        .wait_for_call(
            "chat.postMessage",
            |c| c.ok() && c.param_str("channel") == Some(ALERTS),
            WAIT,
        )
        .await?;
    let root = card.response["ts"].as_str().unwrap_or_default().to_owned();
    t.say(
        "bot",
        &format!(
            "posts the alarm card in {ALERTS}:\n{}",
            indent(&render(&card.params))
        ),
    );

    fake.wait_for_call(
        "chat.update",
        |c| c.ok() && c.params.to_string().contains("slack_file"),
        WAIT,
    )
    .await?;
    t.say(
        "bot",
        &format!(
            "then draws the alarm's metric graph ({} GetMetricWidgetImage, {} PNG bytes: the last \
             3 hours with the threshold and the state change), uploads it and adds it to the card",
            cloudwatch.requests().len(),
            fake.uploads()
                .first()
                .map_or(0, |upload| upload.bytes.len())
        ),
    );

    t.say("bob", "presses 👀 Watching");
    fake.send(
        Target::Any,
        envelopes::block_actions(ALERTS, "U0BOB", &root, "alarm.watch", ALARM_ARN),
    )
    .await?;
    fake.wait_for_call(
        "chat.update",
        |c| c.ok() && c.params.to_string().contains("U0BOB"),
        WAIT,
    )
    .await?;
    let note = fake
        .wait_for_call(
            "chat.postMessage",
            |c| c.ok() && c.param_str("thread_ts") == Some(root.as_str()),
            WAIT,
        )
        .await?;
    t.say(
        "bot",
        &format!(
            "adds Bob to the card's watchers and says so in the thread:\n{}",
            indent(&render(&note.params))
        ),
    );

    agent::scenario(t, bedrock, &root).await?;

    t.say("aws", "the alarm returns to OK twelve minutes later");
    let ok = cloudwatch_alarm(
        "OK",
        "ALARM",
        "2026-11-23T14:05:44.000+0000",
        "Threshold Crossed: 1 datapoint [3.0] was not greater than the threshold (25.0).",
    );
    sqs.publish_sns(
        queue,
        Some("OK: \"checkout-api-5xx\" in EU (Ireland)"),
        &ok,
        Default::default(),
        false,
    )?;
    sqs.wait_for_deleted(queue, 2, WAIT).await?;
    let update = fake
        .calls_to("chat.update")
        .into_iter()
        .last()
        .context("no card update")?;
    let transition = fake
        .calls_to("chat.postMessage")
        .into_iter()
        .last()
        .context("no transition note")?;
    t.say(
        "bot",
        &format!(
            "updates the same card in place:\n{}",
            indent(&render(&update.params))
        ),
    );
    t.say(
        "bot",
        &format!(
            "and posts the transition in its thread:\n{}",
            indent(&render(&transition.params))
        ),
    );
    Ok(())
}

async fn wait_for_replacement(fake: &FakeSlack, old: crate::slack::ConnId) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = fake.connection_log();
        let old_closed = log.iter().any(|c| c.id == old && c.closed_at.is_some());
        if old_closed && fake.open_connections().len() == 2 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the bot did not replace the refreshed connection");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text of a posted message: header and section texts from its blocks, else its `text`.
fn render(params: &Value) -> String {
    let mut lines = vec![];
    let blocks = params
        .get("blocks")
        .or_else(|| params.pointer("/attachments/0/blocks"));
    if let Some(blocks) = blocks.and_then(Value::as_array) {
        for block in blocks {
            let text = block.pointer("/text/text").and_then(Value::as_str);
            let elements = block.get("elements").and_then(Value::as_array);
            match (block.get("type").and_then(Value::as_str), text, elements) {
                (Some("header"), Some(text), _) => lines.push(format!("## {text}")),
                (_, Some(text), _) => lines.push(text.to_owned()),
                (Some("actions"), None, Some(buttons)) => lines.push(
                    buttons
                        .iter()
                        .filter_map(|b| b.pointer("/text/text")?.as_str().map(|s| format!("[{s}]")))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                (Some("context"), None, Some(items)) => lines.extend(
                    items
                        .iter()
                        .filter_map(|i| i.get("text")?.as_str().map(|s| format!("({s})"))),
                ),
                _ => {}
            }
        }
    }
    if lines.is_empty() {
        lines.push(
            params
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        );
    }
    lines.join("\n")
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("           │ {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

//! `chatops-sandbox serve`: run the fake Slack (and, with `--bedrock`, the fake Bedrock agent;
//! with `--secrets-manager`, a fake Secrets Manager holding `wn/chatops/secret`) in the
//! foreground and print the Slack timeline as it grows.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::bedrock::FakeBedrock;
use crate::secretsmanager::FakeSecretsManager;
use crate::slack::{FakeSlack, FakeSlackOptions, Redelivery};

/// How often the timeline is polled for new lines.
const TAIL_EVERY: Duration = Duration::from_millis(200);

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port of the Web API on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port_api: u16,
    /// Port of the Socket Mode WebSocket listener on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port_ws: u16,
    /// Seconds between WebSocket pings.
    #[arg(long, default_value_t = 10)]
    pub ping_interval_secs: u64,
    /// Redeliver unacked events_api envelopes as Slack does (3 s, 3 attempts).
    #[arg(long)]
    pub redelivery: bool,
    /// Also run the fake Bedrock (InvokeAgent, ConverseStream, InvokeAgentRuntime) with its
    /// default answer.
    #[arg(long)]
    pub bedrock: bool,
    /// Port of the fake Bedrock agent on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port_bedrock: u16,
    /// Also run a fake Secrets Manager whose `wn/chatops/secret` holds the fake Slack's bot token
    /// as `slack_token` (GetSecretValue, CreateSecret, PutSecretValue).
    #[arg(long)]
    pub secrets_manager: bool,
    /// Port of the fake Secrets Manager on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port_secrets_manager: u16,
}

/// The team's secret, as the sandbox seeds it.
pub const TEAM_SECRET: &str = "wn/chatops/secret";

/// Starts the fake, prints where it listens, then tails the timeline until Ctrl-C.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let opts = FakeSlackOptions {
        api_port: args.port_api,
        ws_port: args.port_ws,
        ping_interval: Duration::from_secs(args.ping_interval_secs.max(1)),
        redelivery: args.redelivery.then(Redelivery::slack),
        ..FakeSlackOptions::default()
    };
    let slack = FakeSlack::start(opts).await?;
    println!("api_url:   {}", slack.api_url());
    println!("hooks_url: {}", slack.hooks_url());
    println!("socket:    ws://{}/link/", slack.ws_addr());
    println!(
        "tokens:    app {}  bot {}  (sandbox values, not secrets)",
        slack.options().app_token,
        slack.options().bot_token
    );
    let bedrock = if args.bedrock {
        Some(FakeBedrock::start_on_port(args.port_bedrock).await?)
    } else {
        None
    };
    if let Some(bedrock) = &bedrock {
        println!(
            "bedrock:   {} (bedrock.endpoint_url)",
            bedrock.endpoint_url()
        );
    }
    let secrets = if args.secrets_manager {
        let secrets = FakeSecretsManager::start_on_port(args.port_secrets_manager).await?;
        let token = slack.options().bot_token.clone();
        secrets.set_json(TEAM_SECRET, &serde_json::json!({ "slack_token": token }));
        println!(
            "secrets:   {} (aws.endpoint_url), slack.bot_token = \"aws-secretsmanager:{TEAM_SECRET}#slack_token\"",
            secrets.endpoint_url()
        );
        Some(secrets)
    } else {
        None
    };
    println!("Ctrl-C to stop.");
    let mut printed = 0;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut tick = tokio::time::interval(TAIL_EVERY);
    let stopped = loop {
        tokio::select! {
            result = &mut ctrl_c => break result,
            _ = tick.tick() => {
                for entry in slack.timeline_since(printed) {
                    println!("{entry}");
                    printed += 1;
                }
            }
        }
    };
    stopped.context("listening for Ctrl-C")?;
    slack.shutdown().await;
    if let Some(bedrock) = bedrock {
        bedrock.shutdown().await;
    }
    if let Some(secrets) = secrets {
        secrets.shutdown().await;
    }
    Ok(())
}

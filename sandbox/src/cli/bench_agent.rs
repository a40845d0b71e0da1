//! `chatops-sandbox bench-agent`: how fast 🤖 To Bedrock Agent answers show in Slack. The real
//! bot (a child process) against the fake Slack, SQS (for the alarm cards) and InvokeAgent:
//! click → placeholder, agent chunk → visible in Slack (streamed, and with the `chat.update`
//! fallback), our overhead on top of the agent's own time, and peak RSS with 4 answers at once.

mod report;

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use std::time::Instant;

use super::bench::report::publish_section;
use super::bench_cards::post_cards;
use super::bot_process::{bot_binary, sandbox_config, BotProcess};
use crate::aws::FakeSqs;
use crate::bedrock::{AgentScript, FakeBedrock, StreamStep};
use crate::slack::{envelopes, ApiCall, FakeSlack, FakeSlackOptions, Target};

#[derive(Debug, Args)]
pub struct BenchAgentArgs {
    /// Answers measured on each path (streamed, then the `chat.update` fallback).
    #[arg(long, default_value_t = 20)]
    pub answers: usize,
    /// Chunks per answer.
    #[arg(long, default_value_t = 20)]
    pub chunks: usize,
    /// The fake agent's pause before each chunk, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub chunk_gap_ms: u64,
    /// Report file whose `bench-agent` section is rewritten; `-` prints it instead.
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: String,
    /// Show the bot's own logs (stderr).
    #[arg(long)]
    pub bot_logs: bool,
}

/// Alarm cards (threads) the answers rotate over; also the answers run at once for the RSS.
const CARDS: usize = 4;
const CHANNEL: &str = "C0AGENTBENCH";
const WAIT: Duration = Duration::from_secs(60);
/// Text after each chunk's tag: about 100 characters a chunk.
const FILLER: &str =
    "Check the target group's health and the deploy's error logs before scaling out.";

/// One measured answer.
#[derive(Debug, Default, Clone)]
pub struct Answer {
    pub placeholder: Duration,
    /// Each chunk: written by the fake agent → first Slack call that shows it.
    pub chunk_visible: Vec<Duration>,
    /// Click → final text in Slack, minus the agent's own scripted time.
    pub overhead: Duration,
}

pub async fn bench_agent(args: BenchAgentArgs) -> anyhow::Result<()> {
    if args.answers == 0 || args.chunks == 0 {
        bail!("--answers and --chunks must be at least 1");
    }
    let bin = bot_binary()?;
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let sqs = FakeSqs::start().await?;
    let queue = sqs.create_queue("chatops-alarms", Duration::from_secs(30), None)?;
    let agent = FakeBedrock::start().await?;
    let opts = slack.options();
    // The sandbox config has per-channel pacing off (`channel_interval = "0s"`): the fake does
    // not rate-limit, and the answers take turns in one channel far faster than people would.
    let config = sandbox_config(&slack.api_url(), &opts.app_token, &opts.bot_token, 1)
        + &extra_config(&sqs.endpoint_url(), &queue, &agent.endpoint_url());
    let level = if args.bot_logs { "info" } else { "warn" };
    let bot = BotProcess::spawn(&bin, &config, level, args.bot_logs)?;
    slack
        .wait_for_connections(1, WAIT)
        .await
        .context("the bot did not connect")?;
    let names: Vec<String> = (0..CARDS).map(|i| format!("bench-agent-{i}")).collect();
    let roots = post_cards(&slack, &sqs, &queue, &names, WAIT).await?;
    let gap = Duration::from_millis(args.chunk_gap_ms);

    eprintln!("streamed: {} answers …", args.answers);
    let mut streamed = vec![];
    for round in 0..args.answers {
        let root = &roots[round % CARDS];
        streamed
            .push(one_answer(&slack, &agent, root, &format!("s{round}"), args.chunks, gap).await?);
    }
    eprintln!("chat.update fallback: {} answers …", args.answers);
    slack.refuse_streaming(Some("unknown_method"));
    let mut fallback = vec![];
    for round in 0..args.answers {
        let root = &roots[round % CARDS];
        fallback
            .push(one_answer(&slack, &agent, root, &format!("f{round}"), args.chunks, gap).await?);
    }
    slack.refuse_streaming(None);

    eprintln!("{CARDS} long answers at once …");
    let rss_before = bot.peak_rss_kib()?;
    let at_once = roots.iter().enumerate().map(|(i, root)| {
        // 100 chunks of ~100 characters each, 50 ms apart: 5 s of streaming, 10,000 characters.
        let tag = format!("c{i}");
        let (slack, agent) = (&slack, &agent);
        async move { one_answer(slack, agent, root, &tag, 100, Duration::from_millis(50)).await }
    });
    for answer in futures_util::future::join_all(at_once).await {
        answer?;
    }
    let rss_after = bot.peak_rss_kib()?;
    let status = bot.terminate(Duration::from_secs(30))?;

    let results = report::Results {
        streamed,
        fallback,
        rss_before_kib: rss_before,
        rss_peak_kib: rss_after,
        exit: status.to_string(),
    };
    let section = report::section(&args, &results);
    publish_section(
        &args.out,
        report::SECTION_BEGIN,
        report::SECTION_END,
        &section,
    )?;
    slack.shutdown().await;
    sqs.shutdown().await;
    agent.shutdown().await;
    Ok(())
}

fn extra_config(sqs: &str, queue: &str, agent: &str) -> String {
    format!(
        r#"
[aws]
region = "eu-west-1"
endpoint_url = "{sqs}"

[alarms]
queue_url = "{queue}"
default_channel = "{CHANNEL}"

[bedrock]
agent_id = "BENCHAGENT"
agent_alias_id = "TSTALIASID"
endpoint_url = "{agent}"
per_user_per_hour = 10000
per_channel_per_hour = 100000
"#
    )
}

/// Clicks 🤖 on the card `root` with an answer of `chunks` tagged chunks, `gap` apart, and
/// measures it once its final text is in Slack.
async fn one_answer(
    slack: &FakeSlack,
    agent: &FakeBedrock,
    root: &str,
    tag: &str,
    chunks: usize,
    gap: Duration,
) -> anyhow::Result<Answer> {
    let texts: Vec<String> = (0..chunks)
        .map(|j| format!("[{tag}-{j:03}] {FILLER}\n\n"))
        .collect();
    let steps = texts
        .iter()
        .flat_map(|text| [StreamStep::Delay(gap), StreamStep::chunk(text)])
        .collect();
    // Concurrent answers take the queued scripts in arrival order: each answer's own script is
    // matched by its tag below, whichever request takes it.
    agent.push_script(AgentScript::Stream(steps));
    let first_call = slack.calls().last().map_or(0, |c| c.seq);
    let clicked = Instant::now();
    let click = envelopes::block_actions(
        CHANNEL,
        &format!("U0BENCH{tag}"),
        root,
        "alarm.bedrock",
        "bench",
    );
    slack.send(Target::Any, click).await?;
    let last_tag = format!("[{tag}-{:03}]", chunks - 1);
    let is_final = |c: &ApiCall| {
        let text = c.params.to_string();
        text.contains(&last_tag) && !text.contains("Analyzing")
    };
    let done = slack.wait_for_call("chat.update", is_final, WAIT).await?;
    let calls: Vec<ApiCall> = slack
        .calls()
        .into_iter()
        .filter(|c| c.seq > first_call && c.at >= clicked)
        .collect();
    let placeholder = calls
        .iter()
        .find(|c| {
            let opens = c.method == "chat.startStream"
                || (c.method == "chat.postMessage" && c.param_str("thread_ts") == Some(root));
            opens && c.params.to_string().contains(&format!("U0BENCH{tag}"))
        })
        .context("no placeholder")?
        .at;
    let mut chunk_visible = vec![];
    let (mut first_sent, mut last_sent) = (None::<Instant>, None::<Instant>);
    for sent in agent.sent_chunks() {
        let Some(j) = texts.iter().position(|t| *t == sent.text) else {
            continue;
        };
        first_sent = Some(first_sent.map_or(sent.at, |at| at.min(sent.at)));
        last_sent = Some(last_sent.map_or(sent.at, |at| at.max(sent.at)));
        let marker = format!("[{tag}-{j:03}]");
        let shown = calls
            .iter()
            .find(|c| c.at >= sent.at && c.params.to_string().contains(&marker))
            .with_context(|| format!("chunk {marker} never shown"))?;
        chunk_visible.push(shown.at - sent.at);
    }
    // The agent's own time as it streamed: its first pause, then first chunk → last chunk (the
    // fake's pauses run a little over `gap`, which is the agent's time, not ours).
    let own_time = match (first_sent, last_sent) {
        (Some(first), Some(last)) => gap + (last - first),
        _ => gap * chunks as u32,
    };
    Ok(Answer {
        placeholder: placeholder - clicked,
        chunk_visible,
        overhead: (done.at - clicked).saturating_sub(own_time),
    })
}

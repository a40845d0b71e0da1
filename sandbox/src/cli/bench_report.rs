//! `chatops-sandbox bench-report`: how fast 📝 Reporting turns a long thread into a Confluence
//! page, and how many Slack calls it spends. The real bot (a child process) against the fake
//! Slack, SQS (the alarm cards), InvokeAgent (the summary) and Confluence: click → the page's
//! link in the thread, minus the fake agent's own scripted time, for a first report (the page is
//! created) and a second one (the same page updated), and the Web API calls of each.

mod report;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use super::bench::report::publish_section;
use super::bench_cards::{alarm_arn, post_cards};
use super::bot_process::{bot_binary, sandbox_config, BotProcess};
use crate::aws::FakeSqs;
use crate::bedrock::{AgentScript, FakeBedrock, StreamStep};
use crate::confluence::FakeConfluence;
use crate::slack::{envelopes, ApiCall, FakeSlack, FakeSlackOptions, Seed, Target};

#[derive(Debug, Args)]
pub struct BenchReportArgs {
    /// Alarm threads reported; each is reported twice (created, then updated).
    #[arg(long, default_value_t = 10)]
    pub threads: usize,
    /// People's replies seeded into each thread; with the card, the 199 default makes a thread
    /// of 200 messages.
    #[arg(long, default_value_t = 199)]
    pub messages: usize,
    /// Distinct people writing in each thread (each thread has its own, so every first report
    /// looks its names up: the cold case).
    #[arg(long, default_value_t = 5)]
    pub users: usize,
    /// The fake agent's pause before it answers the summary, in milliseconds (its own time,
    /// subtracted from the figures).
    #[arg(long, default_value_t = 500)]
    pub agent_ms: u64,
    /// Report file whose `bench-report` section is rewritten; `-` prints it instead.
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: String,
    /// Show the bot's own logs (stderr).
    #[arg(long)]
    pub bot_logs: bool,
}

const CHANNEL: &str = "C0REPORTBENCH";
const SPACE: &str = "OPS";
const WAIT: Duration = Duration::from_secs(60);
const SUMMARY: &str = "What happened\nLatency rose after a deploy.\nImpact\n- slower checkouts\nRoot cause\nA cold cache.\nActions taken\n- rolled back\nFollow-ups\n- warm the cache on deploy";

/// One measured report.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Click → the link in the thread, minus the agent's scripted time.
    pub took: Duration,
    /// Web API calls between the click and the link, by method.
    pub slack_calls: BTreeMap<String, usize>,
    /// Confluence requests between the click and the link.
    pub wiki_calls: usize,
}

impl Measured {
    /// The calls that read the thread: `conversations.replies`, `users.info`, `chat.getPermalink`.
    pub fn reading_calls(&self) -> usize {
        ["conversations.replies", "users.info", "chat.getPermalink"]
            .iter()
            .map(|m| self.slack_calls.get(*m).copied().unwrap_or(0))
            .sum()
    }
}

pub async fn bench_report(args: BenchReportArgs) -> anyhow::Result<()> {
    if args.threads == 0 || args.users == 0 || args.messages < args.users {
        bail!("--threads and --users must be at least 1, and --messages at least --users");
    }
    let bin = bot_binary()?;
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let sqs = FakeSqs::start().await?;
    let queue = sqs.create_queue("chatops-alarms", Duration::from_secs(30), None)?;
    let agent = FakeBedrock::start().await?;
    let agent_time = Duration::from_millis(args.agent_ms);
    agent.set_default_script(AgentScript::Stream(vec![
        StreamStep::Delay(agent_time),
        StreamStep::chunk(SUMMARY),
    ]));
    let wiki = FakeConfluence::start().await?;
    wiki.add_space(SPACE);
    let opts = slack.options();
    let config = sandbox_config(&slack.api_url(), &opts.app_token, &opts.bot_token, 1)
        + &extra_config(&sqs.endpoint_url(), &queue, &agent.endpoint_url(), &wiki);
    let level = if args.bot_logs { "info" } else { "warn" };
    let bot = BotProcess::spawn(&bin, &config, level, args.bot_logs)?;
    slack
        .wait_for_connections(1, WAIT)
        .await
        .context("the bot did not connect")?;
    let names: Vec<String> = (0..args.threads)
        .map(|t| format!("bench-report-{t:03}"))
        .collect();
    let roots = post_cards(&slack, &sqs, &queue, &names, WAIT).await?;
    for (t, root) in roots.iter().enumerate() {
        let seeds = (0..args.messages).map(|i| {
            let user = format!("U0R{t:03}P{}", i % args.users);
            Seed::user(
                &user,
                format!(
                    "thread {t}, step {i}: checked <https://grafana.example/d/{i}|panel {i}> — ok"
                ),
            )
        });
        slack.seed_messages(CHANNEL, Some(root), seeds);
    }

    let (mut created, mut updated) = (vec![], vec![]);
    for (t, root) in roots.iter().enumerate() {
        eprintln!("thread {}/{} …", t + 1, roots.len());
        created.push(one_report(&slack, &wiki, root, t, "created", agent_time).await?);
        updated.push(one_report(&slack, &wiki, root, t, "updated", agent_time).await?);
    }
    let pages = wiki.pages();
    if pages.len() != roots.len() {
        bail!(
            "expected {} pages, the fake Confluence has {}",
            roots.len(),
            pages.len()
        );
    }
    if let Some(stale) = pages.iter().find(|p| p.version != 2) {
        bail!(
            "page {} is at version {}, not 2",
            stale.title,
            stale.version
        );
    }
    let status = bot.terminate(Duration::from_secs(30))?;

    let results = report::Results {
        created,
        updated,
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
    wiki.shutdown().await;
    Ok(())
}

fn extra_config(sqs: &str, queue: &str, agent: &str, wiki: &FakeConfluence) -> String {
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

[confluence]
base_url = "{base}"
user = "{user}"
api_token = "{token}"
space_key = "{SPACE}"
"#,
        base = wiki.base_url(),
        user = wiki.user(),
        token = wiki.api_token(),
    )
}

/// Clicks 📝 Reporting on card `t` and waits for the thread's note that says `outcome`
/// ("created" or "updated").
async fn one_report(
    slack: &FakeSlack,
    wiki: &FakeConfluence,
    root: &str,
    t: usize,
    outcome: &str,
    agent_time: Duration,
) -> anyhow::Result<Measured> {
    let first_call = slack.calls().last().map_or(0, |c| c.seq);
    let wiki_before = wiki.requests().len();
    let value = alarm_arn(&format!("bench-report-{t:03}"));
    let clicked = Instant::now();
    let click = envelopes::block_actions(CHANNEL, "U0CLICKER", root, "alarm.report", &value);
    slack.send(Target::Any, click).await?;
    let wanted = format!("Incident report {outcome}");
    let is_note = |c: &ApiCall| {
        c.seq > first_call
            && c.param_str("channel") == Some(CHANNEL)
            && c.params.to_string().contains(&wanted)
    };
    let done = slack
        .wait_for_call("chat.update", is_note, WAIT)
        .await
        .with_context(|| format!("thread {t}: no \"{wanted}\" note"))?;
    let mut slack_calls = BTreeMap::new();
    for call in slack.calls() {
        if call.seq > first_call && call.seq <= done.seq {
            *slack_calls.entry(call.method.clone()).or_default() += 1;
        }
    }
    let wiki_calls = wiki
        .requests()
        .iter()
        .skip(wiki_before)
        .filter(|r| r.at <= done.at)
        .count();
    Ok(Measured {
        took: (done.at - clicked).saturating_sub(agent_time),
        slack_calls,
        wiki_calls,
    })
}

//! `chatops-sandbox bench-deploy`: the deploy flow's figures (issue #11). The real bot (a child
//! process) against the fake Slack and the fake GitHub: slash command → the request's root
//! message; the fake run's completion → the outcome in the thread; and the GitHub calls one
//! tracked deploy of three minutes costs at the default poll interval.

mod report;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use super::bench::report::publish_section;
use super::bot_process::{bot_binary, sandbox_config, BotProcess};
use crate::github::{FakeGitHub, RunTimings};
use crate::slack::{envelopes, FakeSlack, FakeSlackOptions, Target};

#[derive(Debug, Args)]
pub struct BenchDeployArgs {
    /// Requests timed from the command to their root message (each is then rejected).
    #[arg(long, default_value_t = 200)]
    pub commands: usize,
    /// Deploys timed from the run's completion to the outcome in the thread.
    #[arg(long, default_value_t = 6)]
    pub deploys: usize,
    /// `deploy.poll_interval` for the completion phase, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub poll_ms: u64,
    /// The long deploy whose GitHub calls are counted, in seconds (at the default 15 s poll
    /// interval); 0 skips it.
    #[arg(long, default_value_t = 180)]
    pub long_run_secs: u64,
    /// Report file whose `bench-deploy` section is rewritten; `-` prints it instead.
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: String,
    /// Show the bot's own logs (stderr).
    #[arg(long)]
    pub bot_logs: bool,
}

const CHANNEL: &str = "C0DEPLOYBENCH";
const ASKER: &str = "U0BENCHASK1";
const APPROVER: &str = "U0BENCHAPPR";
const WAIT: Duration = Duration::from_secs(60);

/// What the runs measured.
pub struct Results {
    pub root_latencies: Vec<Duration>,
    pub completion_latencies: Vec<Duration>,
    /// GitHub requests of the long deploy, by kind, and its run's length.
    pub long_run: Option<LongRun>,
    pub exits: Vec<String>,
}

pub struct LongRun {
    pub run_time: Duration,
    pub dispatches: usize,
    pub finds: usize,
    pub run_reads: usize,
    pub job_reads: usize,
    pub other: usize,
}

impl LongRun {
    pub fn total(&self) -> usize {
        self.dispatches + self.finds + self.run_reads + self.job_reads + self.other
    }
}

pub async fn bench_deploy(args: BenchDeployArgs) -> anyhow::Result<()> {
    if args.commands == 0 || args.deploys == 0 || args.poll_ms < 100 {
        bail!("--commands and --deploys must be at least 1, --poll-ms at least 100");
    }
    let bin = bot_binary()?;
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let github = FakeGitHub::start().await?;
    let mut exits = Vec::new();

    let bot = start_bot(&bin, &slack, &github, &format!("{}ms", args.poll_ms), &args).await?;
    let root_latencies = command_to_root(&slack, args.commands).await?;
    let completion_latencies = completion_to_thread(&slack, &github, args.deploys).await?;
    exits.push(bot.terminate(Duration::from_secs(30))?.to_string());

    let long_run = if args.long_run_secs > 0 {
        let bot = start_bot(&bin, &slack, &github, "15s", &args).await?;
        let run = long_deploy(&slack, &github, Duration::from_secs(args.long_run_secs)).await?;
        exits.push(bot.terminate(Duration::from_secs(30))?.to_string());
        Some(run)
    } else {
        None
    };
    let results = Results {
        root_latencies,
        completion_latencies,
        long_run,
        exits,
    };
    let section = report::section(&args, &results);
    publish_section(
        &args.out,
        report::SECTION_BEGIN,
        report::SECTION_END,
        &section,
    )?;
    slack.shutdown().await;
    github.shutdown().await;
    Ok(())
}

async fn start_bot(
    bin: &std::path::Path,
    slack: &FakeSlack,
    github: &FakeGitHub,
    poll: &str,
    args: &BenchDeployArgs,
) -> anyhow::Result<BotProcess> {
    let opts = slack.options();
    let config = sandbox_config(&slack.api_url(), &opts.app_token, &opts.bot_token, 1)
        + &format!(
            r#"
[github]
api_url = "{api}"
owner = "{owner}"
repo = "{repo}"
token = "{token}"

[deploy]
default_environment = "staging"
poll_interval = "{poll}"

[deploy.environments.staging]

[deploy.environments.prod]
approvers = ["{APPROVER}"]
approvals = 1
"#,
            api = github.api_url(),
            owner = github.owner(),
            repo = github.repo(),
            token = github.token()
        );
    let level = if args.bot_logs { "info" } else { "warn" };
    let before = slack.connection_log().len();
    let bot = BotProcess::spawn(bin, &config, level, args.bot_logs)?;
    let deadline = Instant::now() + WAIT;
    while slack.open_connections().is_empty() || slack.connection_log().len() == before {
        if Instant::now() > deadline {
            bail!("the bot did not connect");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(bot)
}

/// The ts of the next top-level post in `CHANNEL` after call `after`, and when the fake got it.
async fn next_root(slack: &FakeSlack, after: u64) -> anyhow::Result<(String, Instant)> {
    let call = slack
        .wait_for_call(
            "chat.postMessage",
            |c| {
                c.seq > after
                    && c.ok()
                    && c.param_str("channel") == Some(CHANNEL)
                    && c.param_str("thread_ts").is_none()
            },
            WAIT,
        )
        .await?;
    let ts = call.response["ts"].as_str().unwrap_or_default().to_owned();
    Ok((ts, call.at))
}

fn last_seq(slack: &FakeSlack) -> u64 {
    slack.calls().last().map_or(0, |c| c.seq)
}

/// Requests to prod (which waits for approval), each timed from the command's envelope to its
/// root message, then rejected so the environment's lock is free for the next.
async fn command_to_root(slack: &FakeSlack, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let after = last_seq(slack);
        let command = envelopes::slash_command(
            "/platform-deploy",
            &format!("v1.0.{i} to prod"),
            CHANNEL,
            ASKER,
        );
        let sent = Instant::now();
        slack.send(Target::Any, command).await?;
        let (root, at) = next_root(slack, after).await?;
        latencies.push(at.saturating_duration_since(sent));
        let card = slack
            .wait_for_call(
                "chat.postMessage",
                |c| c.seq > after && c.ok() && c.param_str("thread_ts") == Some(root.as_str()),
                WAIT,
            )
            .await?;
        let card_ts = card.response["ts"].as_str().unwrap_or_default().to_owned();
        let after = last_seq(slack);
        let reject = envelopes::block_actions(CHANNEL, APPROVER, &card_ts, "deploy.reject", "");
        slack.send(Target::Any, reject).await?;
        slack
            .wait_for_call(
                "hooks",
                |c| c.seq > after && c.params.to_string().contains("Rejected"),
                WAIT,
            )
            .await
            .context("the rejection was not answered")?;
    }
    Ok(latencies)
}

/// Deploys to staging (no approval); each timed from its run's completion (the fake's own
/// clock) to the outcome posted in the thread.
async fn completion_to_thread(
    slack: &FakeSlack,
    github: &FakeGitHub,
    n: usize,
) -> anyhow::Result<Vec<Duration>> {
    let timings = RunTimings {
        queued: Duration::from_millis(700),
        running: Duration::from_millis(3100),
    };
    github.set_run_timings(timings);
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let after = last_seq(slack);
        let runs_before = github.runs().len();
        let command =
            envelopes::slash_command("/platform-deploy", &format!("v2.0.{i}"), CHANNEL, ASKER);
        slack.send(Target::Any, command).await?;
        let (root, _) = next_root(slack, after).await?;
        let outcome = slack
            .wait_for_call(
                "chat.postMessage",
                |c| {
                    c.seq > after
                        && c.ok()
                        && c.param_str("thread_ts") == Some(root.as_str())
                        && c.params.to_string().contains("Deployed `")
                },
                WAIT,
            )
            .await?;
        let runs = github.runs();
        let run = runs.get(runs_before).context("no run was dispatched")?;
        let completed = run.started + timings.queued + timings.running;
        latencies.push(outcome.at.saturating_duration_since(completed));
        // The lock goes with the root's last update; wait for it before the next request.
        slack
            .wait_for_call(
                "chat.update",
                |c| {
                    c.ok()
                        && c.param_str("ts") == Some(root.as_str())
                        && c.params.to_string().contains("succeeded")
                },
                WAIT,
            )
            .await?;
    }
    Ok(latencies)
}

/// One deploy whose run takes `running`, at the default poll interval: its GitHub calls.
async fn long_deploy(
    slack: &FakeSlack,
    github: &FakeGitHub,
    running: Duration,
) -> anyhow::Result<LongRun> {
    github.set_run_timings(RunTimings {
        queued: Duration::from_secs(5),
        running,
    });
    let requests_before = github.requests().len();
    let after = last_seq(slack);
    eprintln!(
        "a {}s deploy at the default poll interval …",
        running.as_secs() + 5
    );
    let command = envelopes::slash_command("/platform-deploy", "v3.0.0", CHANNEL, ASKER);
    slack.send(Target::Any, command).await?;
    let (root, _) = next_root(slack, after).await?;
    slack
        .wait_for_call(
            "chat.postMessage",
            |c| {
                c.ok()
                    && c.param_str("thread_ts") == Some(root.as_str())
                    && c.params.to_string().contains("Deployed `")
            },
            running + Duration::from_secs(120),
        )
        .await?;
    let requests = github.requests();
    let mut run = LongRun {
        run_time: running + Duration::from_secs(5),
        dispatches: 0,
        finds: 0,
        run_reads: 0,
        job_reads: 0,
        other: 0,
    };
    for r in &requests[requests_before..] {
        let count = if r.method == "POST" && r.path.ends_with("/dispatches") {
            &mut run.dispatches
        } else if r.path.ends_with("/actions/runs") {
            &mut run.finds
        } else if r.path.ends_with("/jobs") {
            &mut run.job_reads
        } else if r.path.contains("/actions/runs/") {
            &mut run.run_reads
        } else {
            &mut run.other
        };
        *count += 1;
    }
    Ok(run)
}

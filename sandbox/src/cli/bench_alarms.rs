//! `chatops-sandbox bench-alarms`: alarms per second, CPU per alarm and SQS-visible →
//! `chat.postMessage` latency of the real bot's alarm pipeline against a minimal floor consumer,
//! both as child processes talking to the fake SQS and the fake Slack.

mod defaults;
mod floor;
mod http;
mod phase;
mod report;
mod subject;
mod summary;
mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use crate::aws::FakeSqs;
use crate::cli::bench::report::{read_report, Machine};
use crate::cli::bench::summary::{kib_to_mb, ms};
use crate::cli::bot_process::bot_binary;
use crate::slack::{FakeSlack, FakeSlackOptions};
use phase::{run_burst, run_paced, warm_up, Rig};
use report::Setup;
use subject::{Endpoints, Subject, SubjectKind};
use summary::{RunResult, Summary};

pub use floor::{alarm_floor, AlarmFloorArgs};

/// How long the bot gets to open its Socket Mode connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Alarms handled unmeasured before the first phase.
const WARM_UP_ALARMS: usize = 50;
/// Longest wait for a freshly started subject to go idle.
const STARTUP_SETTLE: Duration = Duration::from_secs(10);
/// The queue's default visibility timeout (both subjects ask for 60 s on receive).
const QUEUE_VISIBILITY: Duration = Duration::from_secs(60);

/// Options of `bench-alarms`.
#[derive(Debug, Args)]
pub struct BenchAlarmsArgs {
    /// Alarms per phase.
    #[arg(long, default_value_t = 20_000)]
    pub alarms: usize,
    /// Offered alarms per second in the paced phase.
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,
    /// Measurements of each consumer; the report shows medians.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// SQS receive loops: the bot's `alarms.pollers` (1 to 16) and the floor's loops.
    #[arg(long, default_value_t = 4)]
    pub pollers: usize,
    /// Where to write the Markdown report (`-`: stdout only).
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: PathBuf,
    /// Longest wait for a phase's alarms to be handled, in seconds.
    #[arg(long, default_value_t = 120)]
    pub phase_timeout_secs: u64,
    /// Pass the bot's (warn-level) log lines through to stderr.
    #[arg(long)]
    pub bot_logs: bool,
}

/// Runs every measurement, prints the tables and writes the report section.
pub async fn bench_alarms(args: BenchAlarmsArgs) -> anyhow::Result<()> {
    if args.alarms == 0 || args.repeats == 0 {
        bail!("--alarms and --repeats must be at least 1");
    }
    if !(1..=16).contains(&args.pollers) {
        bail!("--pollers must be between 1 and 16 (the bot's alarms.pollers range)");
    }
    if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!("--rate must be a positive number");
    }
    let bot_bin = bot_binary()?;
    let machine = Machine::probe();
    if machine.profile == "debug" {
        eprintln!("warning: a debug build; run with --release for figures worth reporting");
    }
    let setup = Setup {
        alarms: args.alarms,
        rate: args.rate,
        repeats: args.repeats,
        pollers: args.pollers,
        command: format!(
            "cargo run --release -p chatops-sandbox -- bench-alarms --alarms {} --rate {} --repeats {} --pollers {} --out {}",
            args.alarms,
            args.rate,
            args.repeats,
            args.pollers,
            args.out.display()
        ),
    };
    let mut runs = Vec::new();
    let mut defaults_runs = Vec::new();
    for repeat in 1..=args.repeats {
        let order = if repeat % 2 == 1 {
            [SubjectKind::Bot, SubjectKind::Floor]
        } else {
            [SubjectKind::Floor, SubjectKind::Bot]
        };
        for kind in order {
            eprintln!("run {repeat}/{}: {kind} …", args.repeats);
            let run = measure(kind, repeat, &bot_bin, &args)
                .await
                .with_context(|| format!("run {repeat} of the {kind}"))?;
            eprintln!(
                "  paced p50/p99 {:.2}/{:.2} ms, {:.1} alarms per paced receive, burst {:.0} alarms/s, burst CPU {:.0} µs/alarm, {:.1} alarms per receive, peak RSS {:.1} MB, exit {}",
                ms(run.paced.p50),
                ms(run.paced.p99),
                args.alarms as f64 / run.paced.receives.max(1) as f64,
                run.burst.alarms_per_sec,
                summary::cpu_us_per_alarm(run.burst.cpu, args.alarms),
                args.alarms as f64 / run.burst.receives.max(1) as f64,
                kib_to_mb(run.burst.peak_rss_kib),
                run.exit
            );
            runs.push(run);
        }
        eprintln!(
            "run {repeat}/{}: chatops-bot, defaults phase …",
            args.repeats
        );
        let timeout = Duration::from_secs(args.phase_timeout_secs);
        let run = defaults::measure_defaults(&bot_bin, args.pollers, timeout, args.bot_logs)
            .await
            .with_context(|| format!("run {repeat} of the defaults phase"))?;
        eprintln!(
            "  {:.0} alarms/s, busiest channel {:.0} calls/s, {} posts, {} updates",
            run.alarms_per_sec, run.busiest_channel_per_sec, run.posts, run.updates
        );
        defaults_runs.push(run);
    }
    let summary = Summary::from_runs(&runs, args.alarms);
    let tables = report::tables(&setup, &summary, &runs, &defaults_runs);
    println!("{tables}");
    if args.out.as_os_str() != "-" {
        let old = read_report(&args.out)?;
        let section = report::section(&setup, &machine, &tables);
        std::fs::write(&args.out, report::updated_file(&old, &section))
            .with_context(|| format!("writing {}", args.out.display()))?;
        println!("Wrote {}", args.out.display());
    }
    if runs
        .iter()
        .any(|r| r.kind == SubjectKind::Bot && !r.exit.success())
    {
        bail!("chatops-bot did not exit 0 after SIGTERM in every run (see the table)");
    }
    Ok(())
}

/// One measurement: fresh fakes, a fresh subject, warm-up, paced, burst; the subject is always
/// terminated and the fakes shut down.
async fn measure(
    kind: SubjectKind,
    repeat: usize,
    bot_bin: &Path,
    args: &BenchAlarmsArgs,
) -> anyhow::Result<RunResult> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let sqs = Arc::new(FakeSqs::start().await?);
    let queue_url = sqs.create_queue("chatops-alarms-bench", QUEUE_VISIBILITY, None)?;
    let endpoint = sqs.endpoint_url();
    let cloudwatch = crate::cloudwatch::FakeCloudWatch::start().await?;
    let cloudwatch_endpoint = cloudwatch.endpoint_url();
    let endpoints = Endpoints {
        slack: &slack,
        sqs_endpoint: &endpoint,
        queue_url: &queue_url,
        cloudwatch_endpoint: &cloudwatch_endpoint,
        pollers: args.pollers,
    };
    let subject = Subject::start(kind, &endpoints, bot_bin, args.bot_logs)?;
    let rig = Rig {
        slack: &slack,
        sqs: &sqs,
        queue_url: &queue_url,
        subject: &subject,
        timeout: Duration::from_secs(args.phase_timeout_secs),
    };
    let measured = measure_phases(kind, &rig, args).await;
    let exit = tokio::task::spawn_blocking(move || subject.terminate())
        .await
        .context("the terminate task failed")?;
    match Arc::try_unwrap(sqs) {
        Ok(sqs) => sqs.shutdown().await,
        Err(shared) => drop(shared),
    }
    slack.shutdown().await;
    let (paced, burst) = measured?;
    Ok(RunResult {
        kind,
        repeat,
        paced,
        burst,
        exit: exit?,
    })
}

async fn measure_phases(
    kind: SubjectKind,
    rig: &Rig<'_>,
    args: &BenchAlarmsArgs,
) -> anyhow::Result<(phase::PhaseResult, phase::PhaseResult)> {
    if kind == SubjectKind::Bot {
        rig.slack
            .wait_for_connections(1, CONNECT_TIMEOUT)
            .await
            .context("waiting for the bot's Socket Mode connection")?;
    }
    warm_up(rig, WARM_UP_ALARMS).await?;
    rig.subject.settle(STARTUP_SETTLE).await?;
    let paced = run_paced(rig, args.alarms, args.rate)
        .await
        .context("paced phase")?;
    let burst = run_burst(rig, args.alarms).await.context("burst phase")?;
    Ok((paced, burst))
}

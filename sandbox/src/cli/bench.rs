//! `chatops-sandbox bench`: Socket Mode ack latency, throughput, CPU and memory of the real bot
//! against a minimal "floor" client, both as child processes talking to the fake Slack.

pub(super) mod phase;
pub(super) mod report;
mod report_file;
pub(super) mod subject;
pub(super) mod summary;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use crate::cli::bot_process::bot_binary;
use crate::slack::{FakeSlack, FakeSlackOptions};
use phase::{run_phase, Pace, Workload};
use report::{Machine, Setup};
use subject::{Subject, SubjectKind};
use summary::{RunResult, Summary};

/// How long a subject gets to open its Socket Mode connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a freshly started subject gets to go idle before the first phase.
const STARTUP_SETTLE: Duration = Duration::from_secs(5);

/// Options of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Envelopes per phase.
    #[arg(long, default_value_t = 20_000)]
    pub envelopes: usize,
    /// Offered envelopes per second in the paced phase.
    #[arg(long, default_value_t = 5_000.0)]
    pub rate: f64,
    /// Offered envelopes per second in the first, slower paced phase.
    #[arg(long, default_value_t = 1_000.0)]
    pub low_rate: f64,
    /// Measurements of each client; the report shows medians.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Where to write the Markdown report (`-`: stdout only).
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: PathBuf,
    /// Longest wait for a phase's acks, in seconds.
    #[arg(long, default_value_t = 60)]
    pub ack_timeout_secs: u64,
    /// What the envelopes are; `ignored` isolates the ack path (the bot drops those events).
    #[arg(long, value_enum, default_value_t = Workload::Mention)]
    pub workload: Workload,
    /// Pass the bot's (warn-level) log lines through to stderr.
    #[arg(long)]
    pub bot_logs: bool,
}

/// Runs every measurement, prints the tables and writes the report.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.envelopes == 0 || args.repeats == 0 {
        bail!("--envelopes and --repeats must be at least 1");
    }
    if ![args.rate, args.low_rate]
        .iter()
        .all(|rate| rate.is_finite() && *rate > 0.0)
    {
        bail!("--rate and --low-rate must be positive numbers");
    }
    let bot_bin = bot_binary()?;
    let machine = Machine::probe();
    if machine.profile == "debug" {
        eprintln!("warning: a debug build; run with --release for figures worth reporting");
    }
    let setup = Setup {
        envelopes: args.envelopes,
        rate: args.rate,
        low_rate: args.low_rate,
        repeats: args.repeats,
        workload: args.workload,
        command: format!(
            "cargo run --release -p chatops-sandbox -- bench --envelopes {} --low-rate {} --rate {} --repeats {}{} --out {}",
            args.envelopes,
            args.low_rate,
            args.rate,
            args.repeats,
            match args.workload {
                Workload::Mention => "",
                Workload::Ignored => " --workload ignored",
            },
            args.out.display()
        ),
    };
    let mut runs = Vec::new();
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
                "  paced p99 {:.3} ms at {}/s, {:.3} ms at {}/s, burst {:.0} acks/s, peak RSS {:.1} MB, exit {}",
                summary::ms(run.paced_low.p99),
                args.low_rate,
                summary::ms(run.paced.p99),
                args.rate,
                run.burst.acks_per_sec,
                summary::kib_to_mb(run.peak_rss_kib()),
                run.exit
            );
            runs.push(run);
        }
    }
    let summary = Summary::from_runs(&runs);
    let tables = report::tables(&setup, &summary, &runs);
    println!("{tables}");
    let bot_failed_exit = runs
        .iter()
        .any(|r| r.kind == SubjectKind::Bot && !r.exit.success());
    if args.out.as_os_str() != "-" {
        let old = report::read_report(&args.out)?;
        let section = report::document(&setup, &machine, &tables);
        std::fs::write(&args.out, report::updated_file(&old, &section))
            .with_context(|| format!("writing {}", args.out.display()))?;
        println!("Wrote {}", args.out.display());
    }
    if bot_failed_exit {
        bail!("chatops-bot did not exit 0 after SIGTERM in every run (see the table)");
    }
    Ok(())
}

/// One measurement: fresh fake, fresh subject, paced then burst; the subject is always terminated.
async fn measure(
    kind: SubjectKind,
    repeat: usize,
    bot_bin: &Path,
    args: &BenchArgs,
) -> anyhow::Result<RunResult> {
    // The Web API (the bot's replies) on its own runtime: it must not slow the acks' timing side.
    let fake = Arc::new(FakeSlack::start_web_api_apart(FakeSlackOptions::default()).await?);
    let subject = Subject::start(kind, &fake, bot_bin, args.bot_logs)?;
    let measured = measure_phases(&fake, &subject, args).await;
    let exit = tokio::task::spawn_blocking(move || subject.terminate())
        .await
        .context("the terminate task failed")?;
    match Arc::try_unwrap(fake) {
        Ok(fake) => fake.shutdown().await,
        Err(shared) => drop(shared),
    }
    let (startup_rss_kib, [paced_low, paced, burst]) = measured?;
    Ok(RunResult {
        kind,
        repeat,
        paced_low,
        paced,
        burst,
        startup_rss_kib,
        exit: exit?,
    })
}

async fn measure_phases(
    fake: &Arc<FakeSlack>,
    subject: &Subject,
    args: &BenchArgs,
) -> anyhow::Result<(u64, [phase::PhaseResult; 3])> {
    let conns = fake
        .wait_for_connections(1, CONNECT_TIMEOUT)
        .await
        .context("waiting for the client's Socket Mode connection")?;
    let conn = *conns.first().context("no connection")?;
    subject.settle(STARTUP_SETTLE).await?;
    let startup_rss_kib = subject.peak_rss_kib()?;
    let ack_timeout = Duration::from_secs(args.ack_timeout_secs);
    let paced_low = run_phase(
        fake,
        conn,
        subject,
        args.envelopes,
        args.workload,
        Pace::Rate(args.low_rate),
        ack_timeout,
    )
    .await
    .context("paced phase at the low rate")?;
    let paced = run_phase(
        fake,
        conn,
        subject,
        args.envelopes,
        args.workload,
        Pace::Rate(args.rate),
        ack_timeout,
    )
    .await
    .context("paced phase")?;
    let burst = run_phase(
        fake,
        conn,
        subject,
        args.envelopes,
        args.workload,
        Pace::Burst,
        ack_timeout,
    )
    .await
    .context("burst phase")?;
    Ok((startup_rss_kib, [paced_low, paced, burst]))
}

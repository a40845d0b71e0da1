//! The deploy benchmark's section of docs/benchmarks.md: the three figures with
//! verdicts, and how they were measured.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::{BenchDeployArgs, Results};
use crate::cli::bench::phase::percentile;
use crate::cli::bench::report::{utc_date, Machine};
use crate::cli::bench::summary::ms;

pub const SECTION_BEGIN: &str = "<!-- bench-deploy:begin -->";
pub const SECTION_END: &str = "<!-- bench-deploy:end -->";

/// Goals from issue #11.
const ROOT_P99: Duration = Duration::from_millis(300);
const COMPLETION_MARGIN: Duration = Duration::from_secs(1);
const CALLS_PER_DEPLOY: usize = 40;

fn verdict(met: bool) -> &'static str {
    if met {
        "**MET**"
    } else {
        "**NOT MET**"
    }
}

fn sorted(times: &[Duration]) -> Vec<Duration> {
    let mut times = times.to_vec();
    times.sort();
    times
}

pub fn section(args: &BenchDeployArgs, r: &Results) -> String {
    let machine = Machine::probe();
    let roots = sorted(&r.root_latencies);
    let done = sorted(&r.completion_latencies);
    let (root_p50, root_p99) = (percentile(&roots, 0.5), percentile(&roots, 0.99));
    let root_max = roots.last().copied().unwrap_or_default();
    let done_max = done.last().copied().unwrap_or_default();
    let poll = Duration::from_millis(args.poll_ms);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Deploy benchmark (/platform-deploy through GitHub Actions)\n"
    );
    let _ = writeln!(
        out,
        "Measured on {} (UTC) by `chatops-sandbox bench-deploy`, which rewrites only this section \
         (between its markers). {} CPUs ({}), load before: {}.\n",
        utc_date(SystemTime::now()),
        machine.cpus,
        machine.cpu_model,
        machine.load_before
    );
    let _ = writeln!(out, "| Target (issue #11) | measured | goal | verdict |");
    let _ = writeln!(out, "|---|---:|---|---|");
    let _ = writeln!(
        out,
        "| command → the request's root message in the channel | p50 {:.1} / p99 {:.1} / max {:.1} ms (n = {}) | p99 ≤ {:.0} ms | {} |",
        ms(root_p50),
        ms(root_p99),
        ms(root_max),
        roots.len(),
        ms(ROOT_P99),
        verdict(root_p99 <= ROOT_P99)
    );
    let _ = writeln!(
        out,
        "| the fake run completes → the outcome in the thread | p50 {:.0} / max {:.0} ms (n = {}) at a {:.1} s poll interval | ≤ poll interval + 1 s = {:.1} s | {} |",
        ms(percentile(&done, 0.5)),
        ms(done_max),
        done.len(),
        poll.as_secs_f64(),
        (poll + COMPLETION_MARGIN).as_secs_f64(),
        verdict(done_max <= poll + COMPLETION_MARGIN)
    );
    match &r.long_run {
        Some(run) => {
            let _ = writeln!(
                out,
                "| GitHub calls for one tracked deploy of {} s, at the default 15 s poll interval | {} (dispatch {}, find the run {}, run reads {}, job reads {}, other {}) | ≤ {CALLS_PER_DEPLOY} | {} |",
                run.run_time.as_secs(),
                run.total(),
                run.dispatches,
                run.finds,
                run.run_reads,
                run.job_reads,
                run.other,
                verdict(run.total() <= CALLS_PER_DEPLOY)
            );
        }
        None => {
            let _ = writeln!(out, "| GitHub calls per tracked deploy | not run (`--long-run-secs 0`) | ≤ {CALLS_PER_DEPLOY} | — |");
        }
    }
    let _ = writeln!(
        out,
        "\nThe bot stopped on SIGTERM with: {}.\n",
        r.exits.join(", ")
    );
    let _ = writeln!(out, "## What is measured and how\n");
    let _ = writeln!(
        out,
        "- The real release `chatops-bot` as a child process, against the fake Slack (Socket Mode \
         and Web API) and the fake GitHub (REST: dispatches, runs, jobs, deployments), all on \
         127.0.0.1, with a token.\n\
         - **Command → root message:** {commands} `/platform-deploy v1.0.N to prod` slash \
         commands, one at a time (prod waits for one approval); the time from the envelope being \
         written to the socket to the fake Slack receiving the request's root `chat.postMessage`. \
         Each request is then rejected from its approval card, which frees the environment's lock.\n\
         - **Completion → thread:** {deploys} deploys to staging (no approval) whose fake run is \
         queued 0.7 s and runs 3.1 s; the time from the run's completion on the fake's clock to \
         the fake Slack receiving the outcome note. The bot looks at a run once per \
         `deploy.poll_interval` ({poll:.1} s here), so the goal allows one interval plus a second.\n\
         - **GitHub calls:** one deploy whose fake run is queued 5 s and runs the rest, at \
         `deploy.poll_interval = \"15s\"` (the default); every request the fake GitHub received \
         from the dispatch to the outcome. Each look at a running run is two calls (the run and \
         its jobs).\n\
         - Reproduce: `cargo build --release -p chatops-bot -p chatops-sandbox && \
         ./target/release/chatops-sandbox bench-deploy --out docs/benchmarks.md` (about {minutes} \
         minutes; `--long-run-secs 0` skips the long deploy).\n",
        commands = args.commands,
        deploys = args.deploys,
        poll = poll.as_secs_f64(),
        minutes = 1 + args.long_run_secs.div_ceil(60),
    );
    out
}

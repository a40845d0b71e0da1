//! The agent benchmark's section of docs/benchmarks.md: targets with verdicts, then how it was measured.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::{Answer, BenchAgentArgs, CARDS};
use crate::cli::bench::report::{utc_date, Machine};
use crate::cli::bench::summary::{kib_to_mb, ms};

pub const SECTION_BEGIN: &str = "<!-- bench-agent:begin -->";
pub const SECTION_END: &str = "<!-- bench-agent:end -->";

/// Goals from issue #9.
const PLACEHOLDER_P99: Duration = Duration::from_millis(300);
const STREAMED_P99: Duration = Duration::from_millis(1200);
const FALLBACK_P99: Duration = Duration::from_millis(1500);
const OVERHEAD_P99: Duration = Duration::from_millis(20);
const RSS_MB: f64 = 40.0;

pub struct Results {
    pub streamed: Vec<Answer>,
    pub fallback: Vec<Answer>,
    pub rss_before_kib: u64,
    pub rss_peak_kib: u64,
    pub exit: String,
}

/// The `q` quantile (nearest rank) of `values`.
fn quantile(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn verdict(met: bool) -> &'static str {
    if met {
        "**MET**"
    } else {
        "**NOT MET**"
    }
}

fn row(out: &mut String, what: &str, values: &[Duration], goal: Duration) {
    let (p50, p99) = (quantile(values, 0.5), quantile(values, 0.99));
    let _ = writeln!(
        out,
        "| {what} | {:.1} / {:.1} ms (n = {}) | ≤ {:.0} ms at p99 | {} |",
        ms(p50),
        ms(p99),
        values.len(),
        ms(goal),
        verdict(p99 <= goal)
    );
}

pub fn section(args: &BenchAgentArgs, r: &Results) -> String {
    let machine = Machine::probe();
    let all = |answers: &[Answer], pick: fn(&Answer) -> Vec<Duration>| -> Vec<Duration> {
        answers.iter().flat_map(pick).collect()
    };
    let placeholders = all(&[r.streamed.clone(), r.fallback.clone()].concat(), |a| {
        vec![a.placeholder]
    });
    let streamed_chunks = all(&r.streamed, |a| a.chunk_visible.clone());
    let fallback_chunks = all(&r.fallback, |a| a.chunk_visible.clone());
    let overheads = all(&r.streamed, |a| vec![a.overhead]);
    let fallback_overheads = all(&r.fallback, |a| vec![a.overhead]);
    let peak_mb = kib_to_mb(r.rss_peak_kib);

    let mut out = String::new();
    let _ = writeln!(out, "# Agent answers benchmark (🤖 To Bedrock Agent)\n");
    let _ = writeln!(
        out,
        "Measured on {} (UTC) by `chatops-sandbox bench-agent`, which rewrites only this section \
         (between its markers).\n",
        utc_date(SystemTime::now())
    );
    let _ = writeln!(out, "| Target (issue #9) | p50 / p99 | goal | verdict |");
    let _ = writeln!(out, "|---|---:|---|---|");
    row(
        &mut out,
        "click → placeholder in the thread",
        &placeholders,
        PLACEHOLDER_P99,
    );
    row(
        &mut out,
        "agent chunk → visible in Slack, streamed",
        &streamed_chunks,
        STREAMED_P99,
    );
    row(
        &mut out,
        "agent chunk → visible in Slack, `chat.update` fallback",
        &fallback_chunks,
        FALLBACK_P99,
    );
    row(
        &mut out,
        "our overhead on the agent's own time, streamed",
        &overheads,
        OVERHEAD_P99,
    );
    row(
        &mut out,
        "our overhead on the agent's own time, fallback",
        &fallback_overheads,
        OVERHEAD_P99,
    );
    let _ = writeln!(
        out,
        "| peak RSS with {CARDS} answers streaming at once | {peak_mb:.1} MB (before them: {:.1} MB) | ≤ {RSS_MB:.0} MB | {} |",
        kib_to_mb(r.rss_before_kib),
        verdict(peak_mb <= RSS_MB)
    );
    let _ = writeln!(out, "\nThe bot then stopped on SIGTERM with {}.\n", r.exit);
    let _ = writeln!(out, "## What is measured and how\n");
    let _ = writeln!(
        out,
        "- The real release `chatops-bot` as a child process, with `[bedrock]` pointed at the fake \
         InvokeAgent (the real aws-sdk-bedrockagentruntime client, `application/vnd.amazon.eventstream` \
         frames), the alarm pipeline on the fake SQS ({CARDS} alarm cards in one channel), and the \
         fake Slack, all on 127.0.0.1. The sandbox config has per-channel pacing off.\n\
         - {} answers streamed (`chat.startStream`/`appendStream`/`stopStream`), then {} with \
         streaming refused (`unknown_method`, so the placeholder is updated in place), one at a time, \
         rotating over the cards; each is {} chunks of ~100 characters, {} ms apart (the agent's own \
         time: about {} ms).\n\
         - **click → placeholder**: the click envelope sent → `chat.startStream` (or the fallback's \
         `chat.postMessage`) arriving at the fake Slack.\n\
         - **chunk → visible**: the fake agent writing a chunk's frame → the first Slack call that \
         carries its text (an append, a live update or the final update). The bot sends text about \
         once a second, not once per chunk, so this is mostly that buffering.\n\
         - **overhead**: click → the final text in Slack, minus the agent's own time (its first \
         pause, then its first chunk → its last chunk, as the fake wrote them).\n\
         - **RSS**: VmHWM of the bot after {CARDS} answers of 100 chunks (10,000 characters, 5 s) \
         streamed at once, on top of everything before.\n",
        args.answers,
        args.answers,
        args.chunks,
        args.chunk_gap_ms,
        args.chunks as u64 * args.chunk_gap_ms
    );
    let _ = writeln!(out, "## Reproduce\n");
    let _ = writeln!(
        out,
        "```sh\ncargo run --release -p chatops-sandbox -- bench-agent --answers {} --chunks {} \
         --chunk-gap-ms {}\n```\n",
        args.answers, args.chunks, args.chunk_gap_ms
    );
    let _ = writeln!(
        out,
        "Machine: {} × {}, load average before: {}, {} build.",
        machine.cpus, machine.cpu_model, machine.load_before, machine.profile
    );
    out
}

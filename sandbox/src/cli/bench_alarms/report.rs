//! The alarm benchmark's report: Markdown tables for stdout, and its own marked section of
//! docs/benchmarks.md (the rest of the file is left as it is).

use std::fmt::Write as _;

use super::defaults::{DefaultsResult, ALARMS as DEFAULT_ALARMS, CHANNELS as DEFAULT_CHANNELS};
use super::subject::SubjectKind;
use super::summary::{
    cpu_us_per_alarm, PhaseMedians, RunResult, Summary, TARGET_ALARMS_PER_SEC,
    TARGET_CPU_US_PER_ALARM, TARGET_P99, TARGET_PACED_CPU_US_PER_ALARM,
};
use super::workload::CHANNEL;
use crate::cli::bench::report::{replace_or_append, thousands, Machine};
use crate::cli::bench::summary::{kib_to_mb, median, ms};

/// The markers around this bench's section of the report file.
pub const SECTION_BEGIN: &str = "<!-- bench-alarms:begin -->";
/// See [`SECTION_BEGIN`].
pub const SECTION_END: &str = "<!-- bench-alarms:end -->";

/// The run's parameters, as given on the command line.
#[derive(Debug, Clone)]
pub struct Setup {
    pub alarms: usize,
    pub rate: f64,
    pub repeats: usize,
    pub pollers: usize,
    pub command: String,
}

fn met(met: bool) -> &'static str {
    if met {
        "**MET**"
    } else {
        "**NOT MET**"
    }
}

/// The verdict and result tables (also what goes to stdout).
pub fn tables(
    setup: &Setup,
    summary: &Summary,
    runs: &[RunResult],
    defaults: &[DefaultsResult],
) -> String {
    let mut out = String::new();
    let (bot, floor) = (&summary.bot, &summary.floor);
    let _ = writeln!(out, "### Targets\n");
    let _ = writeln!(
        out,
        "| Target (issues #3, #8) | chatops-bot (median of {} runs) | floor consumer | bot / floor | verdict |",
        setup.repeats
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---|");
    let _ = writeln!(
        out,
        "| ≥ {} alarms/s (burst of {}) | {} | {} | {:.2}× | {} |",
        thousands(TARGET_ALARMS_PER_SEC),
        thousands(setup.alarms as f64),
        thousands(bot.burst.alarms_per_sec),
        thousands(floor.burst.alarms_per_sec),
        bot.burst.alarms_per_sec / floor.burst.alarms_per_sec,
        met(summary.throughput_met())
    );
    let _ = writeln!(
        out,
        "| ≤ {TARGET_CPU_US_PER_ALARM:.0} µs CPU per alarm (burst) | {:.0} µs | {:.0} µs | {:.2}× | {} |",
        bot.burst.cpu_us_per_alarm,
        floor.burst.cpu_us_per_alarm,
        bot.burst.cpu_us_per_alarm / floor.burst.cpu_us_per_alarm,
        met(summary.cpu_met())
    );
    let _ = writeln!(
        out,
        "| ≤ {TARGET_PACED_CPU_US_PER_ALARM:.0} µs CPU per alarm (paced, {}/s) | {:.0} µs | {:.0} µs | {:.2}× | {} |",
        thousands(setup.rate),
        bot.paced.cpu_us_per_alarm,
        floor.paced.cpu_us_per_alarm,
        bot.paced.cpu_us_per_alarm / floor.paced.cpu_us_per_alarm,
        met(summary.paced_cpu_met())
    );
    let _ = writeln!(
        out,
        "| p99 visible → chat.postMessage ≤ {:.0} ms at {}/s | {:.2} ms | {:.2} ms | {:.2}× | {} |",
        ms(TARGET_P99),
        thousands(setup.rate),
        bot.paced.p99_ms,
        floor.paced.p99_ms,
        bot.paced.p99_ms / floor.paced.p99_ms,
        met(summary.p99_met())
    );
    let _ = writeln!(
        out,
        "\nThese phases run the bot with **storm control and per-channel pacing off** \
         (`storm_threshold = 0`, `channel_interval = \"0s\"`), so every alarm is one card posted at \
         once: they measure the pipeline, not the defaults (see \"What is measured\")."
    );
    run_verdicts(&mut out, setup, runs);
    let _ = writeln!(
        out,
        "\n### Paced phase: {} alarms at {}/s\n",
        thousands(setup.alarms as f64),
        thousands(setup.rate)
    );
    phase_table(&mut out, &bot.paced, &floor.paced, true);
    let _ = writeln!(
        out,
        "\n### Burst phase: {} alarms visible at once\n",
        thousands(setup.alarms as f64)
    );
    phase_table(&mut out, &bot.burst, &floor.burst, false);
    let _ = writeln!(
        out,
        "| peak RSS at the end (MB) | {:.1} | {:.1} | {:.2}× |",
        bot.peak_rss_mb,
        floor.peak_rss_mb,
        bot.peak_rss_mb / floor.peak_rss_mb
    );
    defaults_table(&mut out, defaults);
    every_run(&mut out, setup, runs);
    out
}

/// The bot with its defaults on: no floor (the floor has neither storms nor pacing).
fn defaults_table(out: &mut String, runs: &[DefaultsResult]) {
    let _ = writeln!(
        out,
        "\n### Defaults phase: {} alarms over {} channels, storm control and pacing on\n",
        thousands(DEFAULT_ALARMS as f64),
        DEFAULT_CHANNELS
    );
    let per_sec: Vec<f64> = runs.iter().map(|r| r.alarms_per_sec).collect();
    let busiest: Vec<f64> = runs.iter().map(|r| r.busiest_channel_per_sec).collect();
    let posts: Vec<f64> = runs.iter().map(|r| r.posts as f64).collect();
    let updates: Vec<f64> = runs.iter().map(|r| r.updates as f64).collect();
    let each = |figures: &[f64]| {
        let all: Vec<String> = figures.iter().map(|f| format!("{f:.0}")).collect();
        all.join(" / ")
    };
    let _ = writeln!(out, "| chatops-bot | median | every run |\n|---|---:|---|");
    let rows = [
        ("alarms/s (visible → last deleted)", &per_sec),
        (
            "busiest channel: Slack posts + updates in any 1 s",
            &busiest,
        ),
        ("chat.postMessage calls (cards, digests)", &posts),
        ("chat.update calls (digest lines)", &updates),
    ];
    for (name, figures) in rows {
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {} |",
            median(figures),
            each(figures)
        );
    }
    if runs.iter().any(|r| !r.settled) {
        let _ = writeln!(
            out,
            "\nIn at least one run the bot did not go idle within 20 s after the last deletion."
        );
    }
}

/// Says plainly which runs of the bot missed a target, and by how much.
fn run_verdicts(out: &mut String, setup: &Setup, runs: &[RunResult]) {
    let bot_runs: Vec<&RunResult> = runs.iter().filter(|r| r.kind == SubjectKind::Bot).collect();
    let missing: Vec<(usize, Vec<String>)> = bot_runs
        .iter()
        .map(|r| (r.repeat, r.misses(setup.alarms)))
        .filter(|(_, missed)| !missed.is_empty())
        .collect();
    if missing.is_empty() {
        let _ = writeln!(
            out,
            "\nEvery one of the {} bot runs met every target.",
            bot_runs.len()
        );
        return;
    }
    let _ = writeln!(
        out,
        "\n**{} of {} bot runs missed a target:**",
        missing.len(),
        bot_runs.len()
    );
    for (repeat, missed) in missing {
        let _ = writeln!(out, "- run {repeat}: {}", missed.join("; "));
    }
}

fn phase_table(out: &mut String, bot: &PhaseMedians, floor: &PhaseMedians, paced: bool) {
    let _ = writeln!(
        out,
        "| median of runs | chatops-bot | floor consumer | bot / floor |\n|---|---:|---:|---:|"
    );
    let rows: [(&str, f64, f64, usize); 7] = [
        (
            "visible → chat.postMessage p50 (ms)",
            bot.p50_ms,
            floor.p50_ms,
            2,
        ),
        (
            "visible → chat.postMessage p99 (ms)",
            bot.p99_ms,
            floor.p99_ms,
            2,
        ),
        (
            "visible → chat.postMessage max (ms)",
            bot.max_ms,
            floor.max_ms,
            1,
        ),
        (
            "visible → received p50 (ms)",
            bot.receive_p50_ms,
            floor.receive_p50_ms,
            2,
        ),
        (
            "visible → received p99 (ms)",
            bot.receive_p99_ms,
            floor.receive_p99_ms,
            2,
        ),
        (
            "alarms/s (first visible → last deleted)",
            bot.alarms_per_sec,
            floor.alarms_per_sec,
            0,
        ),
        (
            "CPU µs per alarm",
            bot.cpu_us_per_alarm,
            floor.cpu_us_per_alarm,
            0,
        ),
    ];
    for (name, b, f, digits) in rows {
        let _ = writeln!(
            out,
            "| {name} | {b:.digits$} | {f:.digits$} | {:.2}× |",
            b / f
        );
    }
    let _ = writeln!(
        out,
        "| chat.postMessage calls | {:.0} | {:.0} | |",
        bot.posts, floor.posts
    );
    if paced {
        let _ = writeln!(
            out,
            "| sender: offered/s, max lag, sends > 1 ms late | {:.0}, {:.2} ms, {:.0} | {:.0}, {:.2} ms, {:.0} | |",
            bot.offered_per_sec, bot.max_lag_ms, bot.late_sends, floor.offered_per_sec, floor.max_lag_ms, floor.late_sends
        );
    }
}

fn every_run(out: &mut String, setup: &Setup, runs: &[RunResult]) {
    let _ = writeln!(out, "\n### Every run\n");
    let _ = writeln!(
        out,
        "| # | consumer | paced p50 / p99 / max (ms) | paced CPU µs/alarm | burst alarms/s | burst CPU µs/alarm | burst p50 / p99 (ms) | posts (alarms shown twice) | peak RSS MB | exit after SIGTERM | targets missed |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---|---:|---:|---|---|");
    for run in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} / {:.2} / {:.1} | {:.0} | {} | {:.0} | {:.0} / {:.0} | {} ({}) | {:.1} | {}{} | {} |",
            run.repeat,
            run.kind,
            ms(run.paced.p50),
            ms(run.paced.p99),
            ms(run.paced.max),
            cpu_us_per_alarm(run.paced.cpu, setup.alarms),
            thousands(run.burst.alarms_per_sec),
            cpu_us_per_alarm(run.burst.cpu, setup.alarms),
            ms(run.burst.p50),
            ms(run.burst.p99),
            run.paced.posts + run.burst.posts,
            run.paced.shown_twice + run.burst.shown_twice,
            kib_to_mb(run.burst.peak_rss_kib),
            run.exit,
            if run.paced.settled && run.burst.settled {
                ""
            } else {
                " (did not go idle)"
            },
            missed_cell(run, setup.alarms)
        );
    }
}

fn missed_cell(run: &RunResult, alarms: usize) -> String {
    match (run.kind, run.misses(alarms)) {
        (SubjectKind::Floor, _) => String::new(),
        (_, missed) if missed.is_empty() => "none".to_string(),
        (_, missed) => format!("**{}**", missed.join("; ")),
    }
}

/// This bench's section of the report (without its markers).
pub fn section(setup: &Setup, machine: &Machine, tables: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Alarm pipeline benchmark (SQS → Slack)\n");
    let _ = writeln!(
        out,
        "Measured on {} (UTC) by `chatops-sandbox bench-alarms`, which rewrites only this section \
         (between its markers) and keeps the rest of the file.\n",
        machine.date
    );
    let _ = writeln!(out, "## Results\n\n{tables}");
    let _ = writeln!(out, "## Reproduce\n\n```sh\n{}\n```\n", setup.command);
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "- CPUs: {} × {}", machine.cpus, machine.cpu_model);
    let _ = writeln!(out, "- Linux {}", machine.kernel);
    let _ = writeln!(out, "- {}, {} profile", machine.rustc, machine.profile);
    let _ = writeln!(
        out,
        "- load average before the run: {}",
        machine.load_before
    );
    let _ = writeln!(
        out,
        "- shared machine: absolute figures are noisy; the ratios against the floor measured in the same \
         run are the headline.\n"
    );
    let _ = writeln!(out, "## What is measured and how\n");
    let text = format!(
        "- **Fakes**: `FakeSqs` (the AWS JSON protocol aws-sdk-sqs speaks, true long polling) and \
         `FakeSlack` in the bench process on 127.0.0.1, fresh for every run, no rate limits. Each \
         alarm is a distinct CloudWatch alarm (`bench-alarm-…`, state ALARM) in an SNS Notification \
         envelope, so each one gets a card of its own.\n\
         - **chatops-bot**: the real release binary as a child process, `RUST_LOG=warn`, a fresh SQLite \
         store, `[alarms] pollers = {pollers}`, `storm_threshold = 0` (storm control off), \
         `[slack] channel_interval = \"0s\"` (per-channel pacing off), every card to `{CHANNEL}`. \
         It receives 10 at a time with a 20 s long poll, parses, routes, deduplicates in SQLite, posts \
         the Block Kit card and deletes the batch.\n\
         - **Floor consumer**: `chatops-sandbox alarm-floor`, a hidden subcommand run as a child process \
         the same way, with {pollers} receive loops: ReceiveMessage (10, 20 s long poll) over a \
         keep-alive HTTP/1.1 connection, for each message a plain-text `chat.postMessage` of its \
         message id (the batch's posts concurrently), then DeleteMessageBatch. No parsing of the body. \
         It is the least any SQS-to-Slack consumer must do.\n\
         - Each run first handles {WARMUP} alarms unmeasured and waits until the consumer is idle in \
         its long polls.\n\
         - **Paced phase**: {n} alarms published at {rate}/s on an absolute schedule (alarm *i* at \
         start + *i*/rate, from a dedicated thread). Latency of an alarm: from the instant the fake \
         SQS made it visible to the arrival of its `chat.postMessage` at the fake Slack (matched by \
         alarm name or message id); \"visible → received\" is the SQS part of it.\n\
         - **Burst phase**: {n} alarms loaded into the queue while the consumer idles in its long \
         polls, all hidden until one instant (`FakeSqs::send_batch_visible_at`); alarms/s = {n} / \
         (that instant → the last deletion).\n\
         - **CPU µs per alarm**: the child's utime + stime (`/proc/PID/stat`, 10 ms ticks) from just \
         before the phase's first alarm until the process has been idle for 300 ms after the last \
         deletion, divided by {n}.\n\
         - **Defaults phase** (bot only, after each run): a fresh bot with storm control and \
         per-channel pacing at their defaults (`storm_threshold = 10` in `storm_window = 60s`, \
         `channel_burst = 4`, `channel_interval = 1s`) and one route per channel; {dn} distinct \
         alarms round-robin over {dc} channels, all visible at once (no warm-up). alarms/s = {dn} / \
         (visible → the last deletion); the busiest channel is the most `chat.postMessage` + \
         `chat.update` calls to one channel within any 1 s.\n\
         - Each (consumer × both phases) measurement uses fresh fakes and a fresh process, repeated \
         {repeats} times in the order bot, floor, floor, bot, … so drift hits both; the tables show \
         medians. The bot is stopped with SIGTERM and must exit 0.\n",
        pollers = setup.pollers,
        n = thousands(setup.alarms as f64),
        rate = thousands(setup.rate),
        repeats = setup.repeats,
        WARMUP = super::WARM_UP_ALARMS,
        dn = thousands(DEFAULT_ALARMS as f64),
        dc = DEFAULT_CHANNELS,
    );
    out.push_str(text.trim_end());
    out.push('\n');
    out
}

/// The new report file: this bench's marked section replaced, or appended when there is none.
pub fn updated_file(old: &str, section: &str) -> String {
    replace_or_append(old, SECTION_BEGIN, SECTION_END, section)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::report::marked;

    #[test]
    fn the_section_is_appended_once_then_replaced_in_place() {
        let socket = "<!-- bench-socket:begin -->\nsocket\n<!-- bench-socket:end -->\n\n## Analysis\n\nnotes\n";
        let first = updated_file(socket, "alarms one");
        assert!(first.starts_with(socket.trim_end()));
        assert!(first.ends_with(&marked(SECTION_BEGIN, SECTION_END, "alarms one")));
        let with_notes = format!("{first}\n## Alarm notes\n\nkept\n");
        let second = updated_file(&with_notes, "alarms two");
        assert!(!second.contains("alarms one"));
        assert!(
            second.contains("alarms two\n<!-- bench-alarms:end -->\n\n## Alarm notes\n\nkept\n")
        );
        assert!(second.starts_with(socket.trim_end()));
        assert_eq!(
            updated_file("", "x"),
            marked(SECTION_BEGIN, SECTION_END, "x")
        );
    }
}

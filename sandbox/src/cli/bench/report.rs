//! The benchmark report: machine facts and Markdown tables, written to docs/benchmarks.md and stdout.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::phase::{Workload, MENTION_TEXT};
pub use super::report_file::{
    marked, publish_section, read_report, replace_marked, replace_or_append,
};
use super::summary::{
    kib_to_mb, ms, PhaseMedians, RunResult, Summary, TARGET_BURST_SHARE, TARGET_P99_FLOOR_RATIO,
};

/// The heading of the hand-written section that follows this bench's section in the report.
pub const ANALYSIS_HEADING: &str = "## Analysis";
/// The markers around the part of the report file this bench rewrites; the rest is kept.
pub const SECTION_BEGIN: &str = "<!-- bench-socket:begin -->";
/// See [`SECTION_BEGIN`].
pub const SECTION_END: &str = "<!-- bench-socket:end -->";

/// The run's parameters, as given on the command line.
#[derive(Debug, Clone)]
pub struct Setup {
    pub envelopes: usize,
    pub rate: f64,
    pub low_rate: f64,
    pub repeats: usize,
    pub workload: Workload,
    pub command: String,
}

/// Facts about the machine the run happened on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub rustc: String,
    pub profile: &'static str,
    pub load_before: String,
    pub date: String,
}

impl Machine {
    pub fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_string(), |(_, v)| v.trim().to_string());
        let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map_or_else(|| "unknown".to_string(), |v| v.trim().to_string());
        let read_trimmed = |path: &str| {
            std::fs::read_to_string(path).map_or_else(|_| "unknown".into(), |s| s.trim().into())
        };
        let load: String = read_trimmed("/proc/loadavg");
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            rustc,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_before: load
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            date: utc_date(SystemTime::now()),
        }
    }
}

/// `YYYY-MM-DD` in UTC (civil-from-days, proleptic Gregorian).
pub fn utc_date(at: SystemTime) -> String {
    let days = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn yes_no(met: bool) -> &'static str {
    if met {
        "**yes**"
    } else {
        "**NO**"
    }
}

/// The verdict and result tables (also what goes to stdout).
pub fn tables(setup: &Setup, summary: &Summary, runs: &[RunResult]) -> String {
    let mut out = String::new();
    let (bot, floor) = (&summary.bot, &summary.floor);
    let _ = writeln!(out, "### Targets\n");
    let _ = writeln!(
        out,
        "| Target (from the issue) | Measured (median of {} runs) | Met? |",
        setup.repeats
    );
    let _ = writeln!(out, "|---|---|---|");
    let _ = writeln!(
        out,
        "| p99 ack latency ≤ 2 ms at {} envelopes/s offered | {:.3} ms (floor {:.3} ms, {:.2}×) | {} |",
        thousands(setup.rate),
        bot.paced.p99_ms,
        floor.paced.p99_ms,
        summary.paced_p99_ratio(),
        yes_no(summary.p99_met())
    );
    for (rate, ratio, b, f) in [
        (
            setup.low_rate,
            summary.paced_low_p99_ratio(),
            bot.paced_low.p99_ms,
            floor.paced_low.p99_ms,
        ),
        (
            setup.rate,
            summary.paced_p99_ratio(),
            bot.paced.p99_ms,
            floor.paced.p99_ms,
        ),
    ] {
        let _ = writeln!(
            out,
            "| p99 ack latency ≤ {TARGET_P99_FLOOR_RATIO}× the floor's at {}/s (issue #8) | {ratio:.2}× ({b:.3} vs {f:.3} ms) | {} |",
            thousands(rate),
            yes_no(Summary::ratio_met(ratio))
        );
    }
    let _ = writeln!(
        out,
        "| burst throughput ≥ {}× the floor's | {:.2}× ({} vs {} acks/s) | {} |",
        TARGET_BURST_SHARE,
        summary.burst_throughput_ratio(),
        thousands(bot.burst.acks_per_sec),
        thousands(floor.burst.acks_per_sec),
        yes_no(summary.burst_met())
    );
    let _ = writeln!(
        out,
        "| peak RSS ≤ 30 MB | {:.1} MB (largest of the runs; median {:.1} MB; floor {:.1} MB) | {} |",
        bot.peak_rss_mb_max,
        bot.peak_rss_mb,
        floor.peak_rss_mb,
        yes_no(summary.rss_met())
    );
    for (rate, b, f) in [
        (setup.low_rate, &bot.paced_low, &floor.paced_low),
        (setup.rate, &bot.paced, &floor.paced),
    ] {
        let _ = writeln!(
            out,
            "\n### Paced phase: {} envelopes at {}/s\n",
            thousands(setup.envelopes as f64),
            thousands(rate)
        );
        phase_table(&mut out, setup, b, f, true);
    }
    let _ = writeln!(
        out,
        "\n### Burst phase: {} envelopes, unpaced\n",
        thousands(setup.envelopes as f64)
    );
    phase_table(&mut out, setup, &bot.burst, &floor.burst, false);
    let _ = writeln!(
        out,
        "\n### Peak RSS (VmHWM: the peak so far, never lower)\n"
    );
    let _ = writeln!(
        out,
        "| | chatops-bot | floor client | bot / floor |\n|---|---:|---:|---:|"
    );
    let rss_rows = [
        (
            "connected, before the first phase",
            bot.startup_rss_mb,
            floor.startup_rss_mb,
        ),
        (
            "after the paced phase",
            bot.paced_rss_mb,
            floor.paced_rss_mb,
        ),
        (
            "after the burst phase (process peak)",
            bot.peak_rss_mb,
            floor.peak_rss_mb,
        ),
    ];
    for (when, b, f) in rss_rows {
        let _ = writeln!(
            out,
            "| {when} (median) | {b:.1} MB | {f:.1} MB | {:.2}× |",
            b / f
        );
    }
    let _ = writeln!(out, "\n### Every run\n");
    let _ = writeln!(
        out,
        "| # | client | low-rate paced p99 (ms) | paced p50 / p99 / max (ms) | paced CPU s | burst p50 / p99 / max (ms) | burst acks/s | burst CPU s | replies | peak RSS MB | exit after SIGTERM |"
    );
    let _ = writeln!(out, "|---|---|---:|---|---:|---|---:|---:|---:|---:|---|");
    for run in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {:.3} / {:.3} / {:.2} | {:.2} | {:.2} / {:.2} / {:.2} | {} | {:.2} | {} | {:.1} | {}{} |",
            run.repeat,
            run.kind,
            ms(run.paced_low.p99),
            ms(run.paced.p50),
            ms(run.paced.p99),
            ms(run.paced.max),
            run.paced.cpu.as_secs_f64(),
            ms(run.burst.p50),
            ms(run.burst.p99),
            ms(run.burst.max),
            thousands(run.burst.acks_per_sec),
            run.burst.cpu.as_secs_f64(),
            run.paced_low.replies + run.paced.replies + run.burst.replies,
            kib_to_mb(run.peak_rss_kib()),
            run.exit,
            if run.paced_low.settled && run.paced.settled && run.burst.settled { "" } else { " (did not go idle)" }
        );
    }
    out
}

fn phase_table(
    out: &mut String,
    setup: &Setup,
    bot: &PhaseMedians,
    floor: &PhaseMedians,
    paced: bool,
) {
    let per_envelope = |cpu_s: f64| cpu_s * 1e6 / setup.envelopes as f64;
    let _ = writeln!(
        out,
        "| median of runs | chatops-bot | floor client | bot / floor |\n|---|---:|---:|---:|"
    );
    let rows: [(&str, f64, f64, usize); 6] = [
        ("ack latency p50 (ms)", bot.p50_ms, floor.p50_ms, 3),
        ("ack latency p99 (ms)", bot.p99_ms, floor.p99_ms, 3),
        ("ack latency max (ms)", bot.max_ms, floor.max_ms, 2),
        ("acks/s", bot.acks_per_sec, floor.acks_per_sec, 0),
        ("CPU seconds", bot.cpu_s, floor.cpu_s, 2),
        (
            "CPU µs per envelope",
            per_envelope(bot.cpu_s),
            per_envelope(floor.cpu_s),
            1,
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
        "| chat.postMessage replies | {:.0} | {:.0} | |",
        bot.replies, floor.replies
    );
    let _ = writeln!(
        out,
        "| last reply, after the last ack (ms) | {:.0} | – | |",
        bot.replies_trail_ms
    );
    if paced {
        let _ = writeln!(
            out,
            "| sender: offered/s, max lag, sends > 1 ms late | {:.0}, {:.2} ms, {:.0} | {:.0}, {:.2} ms, {:.0} | |",
            bot.offered_per_sec, bot.max_lag_ms, bot.late_sends, floor.offered_per_sec, floor.max_lag_ms, floor.late_sends
        );
    } else {
        let _ = writeln!(
            out,
            "| sender: envelopes queued per second | {:.0} | {:.0} | |",
            bot.offered_per_sec, floor.offered_per_sec
        );
    }
}

/// This bench's section of the Markdown file (without its markers).
pub fn document(setup: &Setup, machine: &Machine, tables: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Socket Mode ack benchmark\n");
    let _ = writeln!(
        out,
        "Measured on {} (UTC) by `chatops-sandbox bench`. The bench rewrites this section (between \
         its markers) on every run and keeps the rest of the file, such as the \"Analysis\" below.\n",
        machine.date
    );
    if setup.workload == Workload::Ignored {
        let _ = writeln!(
            out,
            "**Diagnostic run**: every envelope is another integration's `bot_message`, which the bot \
             acks and drops, so only its ack path is measured; the targets apply to the mention workload.\n"
        );
    }
    let _ = writeln!(out, "## Results\n\n{tables}");
    let _ = writeln!(out, "## Reproduce\n\n```sh\n{}\n```\n", setup.command);
    let _ = writeln!(
        out,
        "The first release build of the workspace takes about 20 minutes on a 2-core machine (fat LTO); the bench \
         builds `chatops-bot` in the same profile itself when run through cargo \
         (or set `CHATOPS_BOT_BIN`).\n"
    );
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
        "- **Fake Slack**: `chatops_sandbox::slack::FakeSlack` in the bench process, on 127.0.0.1, \
         no redelivery, pings every 10 s. Its Web API runs on a thread and runtime of its own \
         (`FakeSlack::start_web_api_apart`), so serving the bot's replies does not take workers from \
         the Socket Mode side that times the acks of both clients. It times each ack from just before the envelope frame is \
         written to the moment the ack frame is read (`AckRecord::latency`), so the figures include \
         the loopback TCP hop both ways and both WebSocket codecs.\n\
         - **chatops-bot**: the real release binary as a child process, `RUST_LOG=warn`, \
         `connections = 1`, a fresh SQLite store in a temporary directory. Every envelope is an \
         `app_mention` of `{MENTION_TEXT}`, which the bot acks, parses, deduplicates by `event_id` in \
         SQLite and answers with a threaded `chat.postMessage` to the fake (counted as \"replies\").\n\
         - **Floor client**: `chatops-sandbox floor-client`, a hidden subcommand run as a child process \
         the same way: `apps.connections.open` with the app token, `tokio-tungstenite` connect with \
         `TCP_NODELAY`, and for every text frame a `serde_json` parse of `envelope_id` and an immediate \
         `{{\"envelope_id\":…}}` write. Nothing else. It is the least any Socket Mode client must do.\n\
         - **Paced phases**: {n} envelopes over the one connection at {low_rate}/s, then at {rate}/s, each on an absolute schedule \
         (envelope *i* at start + *i*/rate, from a dedicated thread with `std::thread::sleep`); the \
         table shows how far the sender fell behind. **Burst phase**: the same count queued as fast as \
         the fake accepts; acks/s = envelopes / (first send → last ack). The floor needs ~10 µs of CPU per envelope \
         in a burst, so its burst figure is mostly the fake's own sending speed on this machine: the \
         ratio is an upper bound on how close the bot gets to a free client.\n\
         - **CPU seconds**: the child's utime + stime (`/proc/PID/stat`, 10 ms ticks) from the first send \
         until it has been idle for 300 ms after the last ack, so handler work that follows the acks \
         counts. **Peak RSS**: `VmHWM` (the process's peak resident set so far, code pages included) \
         read once connected and idle, after the paced phase and after the burst phase; the last is the \
         process-lifetime peak the target is checked against (largest of the runs).\n\
         - Each (client × both phases) measurement uses a fresh fake and a fresh process, repeated {repeats} \
         times in the order bot, floor, floor, bot, … so drift hits both; the tables show medians. \
         The bot is stopped with SIGTERM and must exit 0.\n",
        n = thousands(setup.envelopes as f64),
        rate = thousands(setup.rate),
        low_rate = thousands(setup.low_rate),
        repeats = setup.repeats,
    );
    out.push_str(text.trim_end());
    out.push('\n');
    out
}

/// The new report file: this bench's marked section replaced and everything else kept. In a file
/// from before the markers, the generated part is what precedes the "Analysis" heading.
pub fn updated_file(old: &str, section: &str) -> String {
    if let Some(updated) = replace_marked(old, SECTION_BEGIN, SECTION_END, section) {
        return updated;
    }
    let ours = marked(SECTION_BEGIN, SECTION_END, section);
    let placeholder = format!(
        "{ANALYSIS_HEADING}\n\nHand-written notes on these results go here; the bench keeps them.\n"
    );
    if old.starts_with(ANALYSIS_HEADING) {
        return format!("{ours}\n{old}");
    }
    match old.find(&format!("\n{ANALYSIS_HEADING}")) {
        Some(at) => format!("{ours}\n{}", &old[at + 1..]),
        None if old.trim().is_empty() => format!("{ours}\n{placeholder}"),
        None => format!("{ours}\n{placeholder}\n{old}"),
    }
}

/// `20000` → `20,000`; fractions are rounded.
pub fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "∞".to_string();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < -0.5 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_date(leap_day), "2000-02-29");
        let new_year = UNIX_EPOCH + Duration::from_secs(1_735_689_600);
        assert_eq!(utc_date(new_year), "2025-01-01");
    }

    #[test]
    fn a_second_run_replaces_the_section_of_the_first() {
        let twice = updated_file(&updated_file("", "first"), "second");
        assert!(twice.starts_with(&marked(SECTION_BEGIN, SECTION_END, "second")));
        assert_eq!(twice.matches(ANALYSIS_HEADING).count(), 1);
    }

    #[test]
    fn a_report_from_before_the_markers_keeps_its_analysis_and_what_follows() {
        let old = "# Socket Mode ack benchmark\n\nold tables\n\n## Analysis\n\nnotes\n\n\
                   <!-- bench-alarms:begin -->\nalarms\n<!-- bench-alarms:end -->\n";
        let new = updated_file(old, "# Socket Mode ack benchmark\n\nnew tables");
        assert!(!new.contains("old tables"));
        assert!(new.starts_with(SECTION_BEGIN));
        assert!(new.contains("new tables\n<!-- bench-socket:end -->\n\n## Analysis\n\nnotes"));
        assert!(new.ends_with("<!-- bench-alarms:begin -->\nalarms\n<!-- bench-alarms:end -->\n"));
        let other_only = "<!-- bench-alarms:begin -->\nalarms\n<!-- bench-alarms:end -->\n";
        let added = updated_file(other_only, "socket");
        assert!(added.starts_with(SECTION_BEGIN) && added.ends_with(other_only));
        assert!(added.contains(ANALYSIS_HEADING));
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(20_000.0), "20,000");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(f64::INFINITY), "∞");
    }
}

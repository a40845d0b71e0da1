//! The report benchmark's section of docs/benchmarks.md: targets with verdicts, the calls each
//! report made, and how it was measured.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::{BenchReportArgs, Measured};
use crate::cli::bench::phase::percentile;
use crate::cli::bench::report::{utc_date, Machine};
use crate::cli::bench::summary::ms;

pub const SECTION_BEGIN: &str = "<!-- bench-report:begin -->";
pub const SECTION_END: &str = "<!-- bench-report:end -->";

/// Goal from issue #10: click → link for a 200-message thread, the agent's time excluded.
const CLICK_TO_LINK: Duration = Duration::from_secs(2);
/// Thread messages one `conversations.replies` page carries.
const PAGE: usize = 200;

pub struct Results {
    pub created: Vec<Measured>,
    pub updated: Vec<Measured>,
    pub exit: String,
}

fn verdict(met: bool) -> &'static str {
    if met {
        "**MET**"
    } else {
        "**NOT MET**"
    }
}

fn sorted_times(reports: &[Measured]) -> Vec<Duration> {
    let mut times: Vec<Duration> = reports.iter().map(|m| m.took).collect();
    times.sort();
    times
}

fn time_row(out: &mut String, what: &str, reports: &[Measured]) {
    let times = sorted_times(reports);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    let max = times.last().copied().unwrap_or_default();
    let _ = writeln!(
        out,
        "| click → link in the thread, {what} (agent's time excluded) | {:.0} / {:.0} / {:.0} ms (n = {}) | ≤ {:.0} ms | {} |",
        ms(p50),
        ms(p99),
        ms(max),
        times.len(),
        ms(CLICK_TO_LINK),
        verdict(max <= CLICK_TO_LINK)
    );
}

/// The most calls of each method any one report made.
fn most_calls(reports: &[Measured]) -> BTreeMap<String, usize> {
    let mut most = BTreeMap::new();
    for m in reports {
        for (method, count) in &m.slack_calls {
            let entry = most.entry(method.clone()).or_insert(0);
            *entry = (*entry).max(*count);
        }
    }
    most
}

pub fn section(args: &BenchReportArgs, r: &Results) -> String {
    let machine = Machine::probe();
    // The thread as the bot reads it: the card, the replies and the bot's placeholder (posted
    // first, so the click is answered at once); the second report also finds the first's note.
    let read_first = args.messages + 2;
    let read_second = args.messages + 3;
    let goal = |read: usize| 1 + read.div_ceil(PAGE) + args.users;
    let max_reads = |reports: &[Measured]| reports.iter().map(Measured::reading_calls).max();
    let (cold, warm) = (max_reads(&r.created), max_reads(&r.updated));

    let mut out = String::new();
    let _ = writeln!(out, "# Incident report benchmark (📝 Reporting)\n");
    let _ = writeln!(
        out,
        "Measured on {} (UTC) by `chatops-sandbox bench-report`, which rewrites only this section \
         (between its markers).\n",
        utc_date(SystemTime::now())
    );
    let _ = writeln!(
        out,
        "| Target (issue #10) | p50 / p99 / max | goal | verdict |"
    );
    let _ = writeln!(out, "|---|---:|---|---|");
    time_row(&mut out, "page created", &r.created);
    time_row(&mut out, "same page updated", &r.updated);
    let _ = writeln!(
        out,
        "| Slack calls reading the thread ({} messages by {} people, {read_first} with the placeholder), first report (names not cached) | {} (most of any report) | ≤ 1 + ⌈{read_first}/{PAGE}⌉ + {} = {} | {} |",
        args.messages + 1,
        args.users,
        cold.unwrap_or(0),
        args.users,
        goal(read_first),
        verdict(cold.is_some_and(|c| c <= goal(read_first)))
    );
    let _ = writeln!(
        out,
        "| the same, second report ({read_second} messages; names cached, so the goal's {} lookups are not needed) | {} | ≤ {} | {} |",
        args.users,
        warm.unwrap_or(0),
        goal(read_second),
        verdict(warm.is_some_and(|c| c <= goal(read_second)))
    );
    let _ = writeln!(out, "\nThe bot then stopped on SIGTERM with {}.\n", r.exit);

    let _ = writeln!(out, "### Calls per report (the most any one report made)\n");
    let _ = writeln!(out, "| | first report | second report |");
    let _ = writeln!(out, "|---|---:|---:|");
    let (first, second) = (most_calls(&r.created), most_calls(&r.updated));
    let methods: std::collections::BTreeSet<&String> = first.keys().chain(second.keys()).collect();
    for method in methods {
        let _ = writeln!(
            out,
            "| Slack `{method}` | {} | {} |",
            first.get(method).copied().unwrap_or(0),
            second.get(method).copied().unwrap_or(0)
        );
    }
    let wiki = |reports: &[Measured]| reports.iter().map(|m| m.wiki_calls).max().unwrap_or(0);
    let _ = writeln!(
        out,
        "| Confluence requests | {} | {} |\n",
        wiki(&r.created),
        wiki(&r.updated)
    );

    let _ = writeln!(out, "## What is measured and how\n");
    let _ = writeln!(
        out,
        "- The real release `chatops-bot` as a child process, against the fake Slack, SQS, \
         InvokeAgent and Confluence (Cloud, REST v2), all on 127.0.0.1. {threads} alarm cards; \
         each thread is the card and {messages} replies by {users} people of its own (so every \
         first report looks their names up) with a link each.\n\
         - Each thread is reported twice, one report at a time: 📝 Reporting clicked → the page \
         is created; clicked again → the same page is updated to version 2 (the bench checks \
         both).\n\
         - **click → link**: the click envelope sent → the `chat.update` that replaces the \
         placeholder with the page's link arriving at the fake Slack, minus the fake agent's \
         scripted {agent} ms before it answers the summary. It covers reading the thread, names, \
         the prompt, the agent's stream, rendering the page, the Confluence calls and the card's \
         link.\n\
         - **Slack calls reading the thread**: `conversations.replies` (200 messages a page), \
         `users.info` (cached for the process's life) and one `chat.getPermalink` (the root's; \
         the other links are built from it), against the issue's 1 + ⌈messages/200⌉ + distinct \
         users. The thread is read after the bot's placeholder is posted (so a click is answered \
         at once), and the placeholder is one of the messages read: a thread of exactly 200 \
         messages takes a second page. The other calls are the placeholder, its replacement and \
         the card's update.\n",
        threads = args.threads,
        messages = args.messages,
        users = args.users,
        agent = args.agent_ms
    );
    let _ = writeln!(out, "## Reproduce\n");
    let _ = writeln!(
        out,
        "```sh\ncargo run --release -p chatops-sandbox -- bench-report --threads {} --messages {} \
         --users {} --agent-ms {}\n```\n",
        args.threads, args.messages, args.users, args.agent_ms
    );
    let _ = writeln!(
        out,
        "Machine: {} × {}, load average before: {}, {} build.",
        machine.cpus, machine.cpu_model, machine.load_before, machine.profile
    );
    out
}

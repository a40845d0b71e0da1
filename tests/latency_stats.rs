//! `@bot stats`: the latency sketch against exact quantiles on 100,000 values, merging, the store
//! round trip and its windows, pruning; and end to end, alarms through the fake SQS and Slack,
//! then `@bot stats` and `/platform-stats` show them, across a restart.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chatops_bot::stats::minutes::Minute;
use chatops_bot::stats::sketch::{LatencySketch, RELATIVE_ERROR};
use chatops_bot::stats::{minute_of, LatencyStats};
use chatops_bot::store::latencies::{LatencySketches, StoredSketch};
use chatops_bot::store::{unblock, Blocking, SqliteStore};
use chatops_bot::telemetry::latency::{LatencyKind, LatencySink};
use chatops_sandbox::slack::{envelopes, ApiCall, Target};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use support::alarm_sandbox::{AlarmSandbox, CHANNEL};

/// Counts the allocations made on a thread while it asks to (`allocations_in`).
struct CountingAllocator;

thread_local! {
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static ALLOCATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// How many allocations `work` made on this thread.
fn allocations_in(work: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    work();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(|a| a.get())
}

const N: usize = 100_000;
const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// A few shapes latencies take, in whole microseconds (what the sketch records).
fn distributions() -> Vec<(&'static str, Vec<u64>)> {
    let mut rng = StdRng::seed_from_u64(13);
    let mut draw = |f: &mut dyn FnMut(&mut StdRng) -> f64| -> Vec<u64> {
        // Whole µs, from 1 µs to a day (the sketch tells values apart up to 7 days).
        (0..N)
            .map(|_| (f(&mut rng).round() as u64).clamp(1, 86_400_000_000))
            .collect()
    };
    vec![
        (
            "uniform 1 ms … 10 s",
            draw(&mut |r| r.random_range(1e3..1e7)),
        ),
        // From 1 µs to an hour, evenly over the orders of magnitude.
        (
            "log-uniform 1 µs … 1 h",
            draw(&mut |r| (r.random::<f64>() * 3.6e9f64.ln()).exp()),
        ),
        // Socket Mode acks: mostly a few hundred µs, a slow tail of seconds.
        (
            "bimodal acks",
            draw(&mut |r| {
                if r.random::<f64>() < 0.95 {
                    r.random_range(150.0..900.0)
                } else {
                    r.random_range(1e6..3e7)
                }
            }),
        ),
        (
            "exponential, mean 2 s",
            draw(&mut |r| -(1.0 - r.random::<f64>()).ln() * 2e6),
        ),
        (
            "pareto tail",
            draw(&mut |r| 5e3 / (1.0 - r.random::<f64>()).powf(1.0 / 1.2)),
        ),
        ("constant 42 ms", vec![42_000; N]),
    ]
}

/// The exact `q` quantile: the value of rank ⌈q·n⌉ (at least 1) among the sorted values.
fn exact(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

fn sketch_of(values: &[u64]) -> LatencySketch {
    let mut sketch = LatencySketch::new();
    for &v in values {
        sketch.record(Duration::from_micros(v));
    }
    sketch
}

#[test]
fn quantiles_are_within_the_stated_relative_error_of_the_exact_ones() {
    let quantiles = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0];
    for (name, values) in distributions() {
        let sketch = sketch_of(&values);
        assert_eq!(sketch.count(), N as u64, "{name}");
        let mut sorted = values.clone();
        sorted.sort_unstable();
        for q in quantiles {
            let exact = exact(&sorted, q) as f64;
            let estimate = sketch.quantile(q).unwrap().as_micros() as f64;
            let error = (estimate - exact).abs() / exact;
            assert!(
                error <= RELATIVE_ERROR,
                "{name}, q = {q}: sketch {estimate} µs, exact {exact} µs, relative error {error:.4} > {RELATIVE_ERROR}"
            );
        }
    }
    assert_eq!(LatencySketch::new().quantile(0.5), None);
}

#[test]
fn merged_minutes_answer_exactly_as_one_sketch_over_every_value() {
    for (name, values) in distributions() {
        let whole = sketch_of(&values);
        // 60 "minutes" of uneven sizes, each through its stored bytes, merged on read.
        let mut merged = LatencySketch::new();
        let mut rest = &values[..];
        let mut minute = 0;
        while !rest.is_empty() {
            let size = (minute * 97 % 3_000 + 1).min(rest.len());
            let (part, tail) = rest.split_at(size);
            let stored = sketch_of(part).encode().unwrap();
            merged.merge(&LatencySketch::decode(&stored).unwrap());
            rest = tail;
            minute += 1;
        }
        assert_eq!(merged.count(), whole.count(), "{name}");
        for i in 0..=1000 {
            let q = f64::from(i) / 1000.0;
            assert_eq!(merged.quantile(q), whole.quantile(q), "{name}, q = {q}");
        }
    }
}

#[test]
fn a_sketch_survives_its_bytes_and_clamps_what_is_too_long() {
    let mut sketch = sketch_of(&[1, 250, 12_345, 9_999_999]);
    sketch.record(Duration::from_secs(30 * 24 * 3600));
    let bytes = sketch.encode().unwrap();
    assert!(
        bytes.len() < 200,
        "sparse sketches stay small: {} bytes",
        bytes.len()
    );
    let back = LatencySketch::decode(&bytes).unwrap();
    assert_eq!(back.count(), 5);
    for q in [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] {
        assert_eq!(back.quantile(q), sketch.quantile(q));
    }
    assert_eq!(
        back.quantile(1.0),
        Some(chatops_bot::stats::sketch::MAX_LATENCY)
    );
    assert!(LatencySketch::decode(b"not a sketch").is_err());
}

#[test]
fn recording_allocates_nothing_even_when_a_minute_closes() {
    use chatops_bot::stats::minutes::Minutes;
    use chatops_bot::telemetry::latency::Latencies;
    let minutes = Minutes::default();
    let mut value = 0u64;
    let mut record = |minutes: &Minutes, minute: Minute| {
        for kind in LatencyKind::ALL {
            for _ in 0..10_000 {
                value = (value * 7 + 13) % 3_600_000_000;
                minutes.record(kind, Duration::from_micros(value), minute);
            }
        }
    };
    // A minute, then the next (the first is closed: its sketch swapped for a spare).
    assert_eq!(allocations_in(|| record(&minutes, 100)), 0);
    assert_eq!(allocations_in(|| record(&minutes, 101)), 0);
    // The flush (off the hot path) takes minute 100 and hands its sketches back as spares.
    let taken = minutes.take_closed(101, false);
    assert_eq!(taken.len(), LatencyKind::ALL.len());
    minutes.give_back(taken);
    assert_eq!(allocations_in(|| record(&minutes, 102)), 0);
    // Through the handle and the daemon's sink, clock read included.
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let stats = LatencyStats::new(Blocking::new(store));
    let latencies = Latencies::new(vec![stats as Arc<dyn LatencySink>]);
    let through_the_handle = allocations_in(|| {
        for i in 0..10_000 {
            latencies.record(LatencyKind::SocketAck, Duration::from_micros(i));
        }
    });
    assert_eq!(through_the_handle, 0);
    // The counter does see allocations.
    assert_eq!(
        allocations_in(|| drop(std::hint::black_box(vec![1u8; 10]))),
        1
    );
}

fn stored(kind: LatencyKind, minute: Minute, value: Duration, count: usize) -> StoredSketch {
    let mut sketch = LatencySketch::new();
    for _ in 0..count {
        sketch.record(value);
    }
    StoredSketch {
        kind: kind.name().to_owned(),
        minute,
        sketch: sketch.encode().unwrap(),
    }
}

async fn open(path: &std::path::Path) -> Arc<SqliteStore> {
    let path = path.to_owned();
    Arc::new(unblock(move || SqliteStore::open(&path)).await.unwrap())
}

#[tokio::test]
async fn the_hour_and_the_day_merge_the_store_and_memory_and_survive_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    let store = open(&path).await;
    let now = SystemTime::now();
    let minute = minute_of(now);
    let rows = vec![
        stored(LatencyKind::SocketAck, minute - 10, MS, 100),
        stored(LatencyKind::SocketAck, minute - 300, 2 * SECOND, 100),
        stored(LatencyKind::SocketAck, minute - 2_000, 3600 * SECOND, 100), // past the day
        stored(LatencyKind::AgentAnswer, minute - 900, 8 * SECOND, 4),
    ];
    Blocking::new(store.clone() as Arc<dyn LatencySketches>)
        .run(move |s| s.save_sketches(&rows))
        .await
        .unwrap();
    let stats = LatencyStats::new(Blocking::new(store.clone()));
    for _ in 0..50 {
        stats.record(LatencyKind::SocketAck, 3 * MS); // this minute, in memory
    }
    let summary = stats.summary(now).await.unwrap();
    let ack = summary.kind(LatencyKind::SocketAck).unwrap();
    let (hour, day) = (ack.hour.as_ref().unwrap(), ack.day.as_ref().unwrap());
    assert_eq!((hour.count, day.count), (150, 250));
    let near = |d: Duration, expected: Duration| {
        (d.as_secs_f64() - expected.as_secs_f64()).abs() <= expected.as_secs_f64() * RELATIVE_ERROR
    };
    assert!(near(hour.quantiles[0], MS), "{hour:?}");
    assert!(near(hour.quantiles[3], 3 * MS), "{hour:?}");
    assert!(near(day.quantiles[3], 2 * SECOND), "{day:?}");
    let agent = summary.kind(LatencyKind::AgentAnswer).unwrap();
    assert_eq!(agent.hour, None, "older than an hour");
    assert_eq!(agent.day.as_ref().map(|d| d.count), Some(4));
    for kind in [
        LatencyKind::AlarmStateChangeToPost,
        LatencyKind::AlarmVisibleToPost,
    ] {
        assert_eq!(summary.kind(kind).unwrap().day, None, "no data");
    }

    // The minute in memory is stored at stop; a new process on the same file reads the same.
    assert!(stats.flush(now, true).await.unwrap() >= 1);
    drop(stats);
    drop(store);
    let reopened = LatencyStats::new(Blocking::new(open(&path).await));
    assert_eq!(reopened.summary(now).await.unwrap(), summary);
}

#[tokio::test]
async fn sketches_older_than_a_day_and_an_hour_are_pruned() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let now = SystemTime::now();
    let minute = minute_of(now);
    let ages = [0, 24 * 60, 25 * 60 - 1, 25 * 60 + 1, 3 * 24 * 60];
    let rows: Vec<StoredSketch> = ages
        .iter()
        .map(|age| stored(LatencyKind::SocketAck, minute - age, MS, 1))
        .collect();
    let blocking = Blocking::new(store as Arc<dyn LatencySketches>);
    let kept = blocking
        .run(move |s| {
            s.save_sketches(&rows)?;
            let pruned = chatops_bot::store::retention::prune_sketches(s, now)?;
            assert_eq!(pruned, 2);
            s.sketches_since(0)
        })
        .await
        .unwrap();
    let minutes: Vec<Minute> = kept.iter().map(|s| minute - s.minute).collect();
    assert_eq!(minutes, [25 * 60 - 1, 24 * 60, 0]);
}

/// The stats table of a reply (the code block of its section), if it is one.
fn table_of(call: &ApiCall) -> Option<String> {
    let blocks = call.params.get("blocks")?.as_array()?;
    blocks.iter().find_map(|block| {
        let text = block.pointer("/text/text").and_then(Value::as_str)?;
        text.starts_with("```")
            .then(|| text.trim_matches('`').trim().to_owned())
    })
}

/// The 1 h and 24 h lines under the title of `kind` in `table`.
fn rows<'t>(table: &'t str, title: &str) -> (&'t str, &'t str) {
    let mut lines = table.lines().skip_while(|l| *l != title).skip(1);
    let (hour, day) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    assert!(hour.trim_start().starts_with("1 h"), "{title} in\n{table}");
    assert!(day.trim_start().starts_with("24 h"), "{title} in\n{table}");
    (hour, day)
}

/// `@bot stats` in the channel, and the table it answered with.
async fn ask_stats(rig: &AlarmSandbox) -> String {
    let slack = &rig.slack;
    let before = slack.calls().last().map_or(0, |c| c.seq);
    let mention = envelopes::app_mention(CHANNEL, "U0ALICE", "<@U0BOT> stats");
    slack.send(Target::Any, mention).await.unwrap();
    let reply = slack
        .wait_for_call(
            "chat.postMessage",
            |c| c.seq > before && table_of(c).is_some(),
            10 * SECOND,
        )
        .await
        .unwrap();
    table_of(&reply).unwrap()
}

fn cloudwatch_time(at: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    time::OffsetDateTime::from(at).format(&format).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_show_the_alarms_delivered_and_keep_them_across_a_restart() {
    let rig = AlarmSandbox::start("", &[]).await;
    let changed = cloudwatch_time(SystemTime::now() - 2 * SECOND);
    for name in ["disk-full", "cpu-high", "queue-depth"] {
        rig.publish(name, "ALARM", "OK", &changed);
    }
    support::eventually(15 * SECOND, "three cards", || rig.top_level().len() == 3).await;

    let table = ask_stats(&rig).await;
    for title in [
        "Alarm delivery: state change → post",
        "Alarm delivery: SQS visible → post",
    ] {
        let (hour, day) = rows(&table, title);
        for line in [hour, day] {
            assert!(line.contains("p50 ") && line.contains("p99 "), "{line}");
            assert!(line.ends_with("n=3"), "{title}: {line}\n{table}");
        }
    }
    // The mention itself was acked before it was handled.
    let (ack_hour, _) = rows(&table, "Socket Mode ack: read → ack");
    assert!(
        ack_hour.contains("p95 ") && !ack_hour.contains("no data"),
        "{table}"
    );
    let (agent_hour, agent_day) = rows(&table, "Bedrock answer: question → answer");
    assert!(
        agent_hour.ends_with("no data") && agent_day.ends_with("no data"),
        "{table}"
    );

    // The slash command answers privately through its response_url.
    let slack = &rig.slack;
    let before = slack.calls().last().map_or(0, |c| c.seq);
    let slash = envelopes::slash_command("/platform-stats", "", CHANNEL, "U0ALICE");
    slack.send(Target::Any, slash).await.unwrap();
    let reply = slack
        .wait_for_call("hooks", |c| c.seq > before, 10 * SECOND)
        .await
        .unwrap();
    assert_eq!(
        reply.params["response_type"], "ephemeral",
        "{}",
        reply.params
    );
    assert!(
        table_of(&reply).unwrap().contains("n=3"),
        "{}",
        reply.params
    );

    // A restart keeps the day: the minutes in memory were stored when the bot stopped.
    let rig = rig.restart().await;
    let table = ask_stats(&rig).await;
    for title in [
        "Alarm delivery: state change → post",
        "Alarm delivery: SQS visible → post",
    ] {
        let (hour, day) = rows(&table, title);
        assert!(hour.ends_with("n=3") && day.ends_with("n=3"), "{table}");
    }
    // Acks: the first mention and the slash command before the restart, this mention after.
    let (ack_hour, ack_day) = rows(&table, "Socket Mode ack: read → ack");
    assert!(
        ack_hour.ends_with("n=3") && ack_day.ends_with("n=3"),
        "{table}"
    );
    rig.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_the_agent_answers_and_are_no_question_to_the_agent() {
    let agent = chatops_sandbox::bedrock::FakeBedrock::start()
        .await
        .unwrap();
    agent.set_default_script(chatops_sandbox::bedrock::AgentScript::answer_in_pieces(
        "A slow dependency, most likely.",
        4,
        Duration::from_millis(100),
    ));
    let bedrock = format!(
        "\n[bedrock]\nagent_id = \"AGENT1\"\nagent_alias_id = \"ALIAS1\"\nendpoint_url = \"{}\"\n",
        agent.endpoint_url()
    );
    let rig = AlarmSandbox::start(&bedrock, &[]).await;
    let question = envelopes::app_mention(CHANNEL, "U0ALICE", "<@U0BOT> why is it slow?");
    let sent = rig.slack.send(Target::Any, question).await.unwrap();
    let thread = sent
        .envelope
        .json()
        .and_then(|e| e.pointer("/payload/event/ts"))
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    // The answer's time is recorded before the answer is logged in the store.
    let path = rig.bot.dir.path().join("bot.db");
    let mut logged = false;
    for _ in 0..200 {
        let (path, thread) = (path.clone(), thread.clone());
        let answers = unblock(move || {
            use chatops_bot::store::answers::AnswerLog;
            SqliteStore::open(&path)?.answers_in_thread(CHANNEL, &thread)
        })
        .await
        .unwrap();
        if !answers.is_empty() {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(logged, "the answer was logged within 20 s");

    let table = ask_stats(&rig).await;
    let (hour, day) = rows(&table, "Bedrock answer: question → answer");
    assert!(hour.ends_with("n=1") && day.ends_with("n=1"), "{table}");
    assert_eq!(
        agent.invocations().len(),
        1,
        "`stats` is a command, not a question"
    );
    rig.bot.stop().await.unwrap();
}

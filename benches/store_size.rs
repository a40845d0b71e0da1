//! Store size after many alarms: the real `SqliteStore` fed the pipeline's commits over virtual
//! months, with retention pruning as the bot runs it; rewrites its section of docs/benchmarks.md.
//!
//! `cargo bench --bench store_size` runs 1,000,000 alarms over 400 alarm names. For a quick check:
//! `STORE_SIZE_ALARMS=20000 STORE_SIZE_OUT=- cargo bench --profile dev --bench store_size`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use chatops_bot::store::cards::{CardRecord, CardStore, DeliveryCommit, Transition};
use chatops_bot::store::retention::{prune_before, Pruned, PRUNE_BATCH};
use chatops_bot::store::SqliteStore;

const SECTION_BEGIN: &str = "<!-- bench-store-size:begin -->";
const SECTION_END: &str = "<!-- bench-store-size:end -->";
const ALARM_NAMES: usize = 400;
/// Virtual time the alarms are spread over: long enough for retention to matter.
const SPAN: Duration = Duration::from_secs(90 * 24 * 3600);
/// `store.retention`'s default.
const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// What the bot keeps delivery marks for (`app.rs`: SQS keeps a message at most 14 days).
const DELIVERY_RETENTION: Duration = Duration::from_secs(15 * 24 * 3600);
/// How often the bot's pruning tasks run (`store::retention`: every 10 minutes).
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);
/// Deliveries per store transaction (one SQS receive batch or more, as the pipeline groups them).
const COMMIT_BATCH: usize = 64;
const CHANNELS: [&str; 4] = ["C0PAYMENTS", "C0CHECKOUT", "C0PLATFORM", "C0DATA"];

/// An SNS notification body of about 2 KB, like CloudWatch's.
fn body(name: &str, state: &str, at_ms: u64) -> String {
    let reason = "Threshold Crossed: 3 out of the last 3 datapoints [92.5 (23/11/26 13:50:00), \
                  91.0 (23/11/26 13:49:00), 93.2 (23/11/26 13:48:00)] were greater than the \
                  threshold (90.0) (minimum 3 datapoints for OK -> ALARM transition).";
    let body = format!(
        r#"{{"Type":"Notification","MessageId":"{at_ms:x}-{name}","TopicArn":"arn:aws:sns:eu-west-1:123456789012:alarms","Subject":"ALARM: \"{name}\" in EU (Ireland)","Message":"{{\"AlarmName\":\"{name}\",\"AlarmDescription\":\"CPU above 90% for 3 minutes on the checkout database\",\"AWSAccountId\":\"123456789012\",\"NewStateValue\":\"{state}\",\"NewStateReason\":\"{reason}\",\"StateChangeTime\":\"{at_ms}\",\"Region\":\"EU (Ireland)\",\"OldStateValue\":\"OK\",\"Trigger\":{{\"MetricName\":\"CPUUtilization\",\"Namespace\":\"AWS/RDS\",\"StatisticType\":\"Statistic\",\"Statistic\":\"AVERAGE\",\"Dimensions\":[{{\"value\":\"checkout-db\",\"name\":\"DBInstanceIdentifier\"}}],\"Period\":60,\"EvaluationPeriods\":3,\"ComparisonOperator\":\"GreaterThanThreshold\",\"Threshold\":90.0}}}}","Timestamp":"{at_ms}","SignatureVersion":"1","Signature":"{sig}","SigningCertURL":"https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"}}"#,
        sig = "A".repeat(344),
    );
    body
}

struct Figures {
    alarms: usize,
    elapsed: Duration,
    bytes: u64,
    rows: Vec<(&'static str, i64)>,
    pruned: Pruned,
    deliveries_pruned: usize,
}

fn run(alarms: usize, dir: &Path) -> anyhow::Result<Figures> {
    let path = dir.join("store-size.db");
    let store = SqliteStore::open(&path)?;
    let names: Vec<String> = (0..ALARM_NAMES)
        .map(|i| format!("service-{i:03}-cpu-high"))
        .collect();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let step = SPAN / alarms.max(1) as u32;
    let mut cards: Vec<Option<CardRecord>> = vec![None; ALARM_NAMES];
    let mut next_prune = start + PRUNE_EVERY;
    let (mut pruned, mut deliveries_pruned) = (Pruned::default(), 0);
    let began = Instant::now();
    let mut batch = Vec::with_capacity(COMMIT_BATCH);
    for i in 0..alarms {
        let now = start + step * i as u32;
        let which = i % ALARM_NAMES;
        let name = &names[which];
        let channel = CHANNELS[which % CHANNELS.len()];
        let previous = cards[which].as_ref().map(|c| c.state.clone());
        let state = if previous.as_deref() == Some("ALARM") {
            "OK"
        } else {
            "ALARM"
        };
        let at_ms = now.duration_since(SystemTime::UNIX_EPOCH)?.as_millis() as u64;
        let mut card = cards[which].clone().unwrap_or_else(|| CardRecord {
            alarm_key: format!("123456789012/eu-west-1/{name}"),
            channel: channel.to_owned(),
            root_ts: format!("{}.{:06}", at_ms / 1000, i % 1_000_000),
            state: String::new(),
            last_change: now,
            episode_started: None,
            resolved_at: None,
            reopen_count: 0,
            watchers: vec![],
            nudged: false,
            last_body: String::new(),
            last_attributes: Default::default(),
            in_digest: false,
            report_url: None,
            graph: None,
        });
        card.state = state.to_owned();
        card.last_change = now;
        if state == "ALARM" {
            card.episode_started = Some(now);
            card.resolved_at = None;
        } else {
            card.resolved_at = Some(now);
        }
        card.last_body = body(name, state, at_ms);
        batch.push(DeliveryCommit {
            message_id: format!("{at_ms:x}-{i:08x}-0000-4000-8000-000000000000"),
            channel: channel.to_owned(),
            delivered_at: now,
            card: Some(card.clone()),
            transition: Some(Transition {
                alarm_key: card.alarm_key.clone(),
                channel: channel.to_owned(),
                at: now,
                from_state: previous,
                to_state: state.to_owned(),
                reason: "Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold (90.0).".into(),
            }),
        });
        cards[which] = Some(card);
        if batch.len() == COMMIT_BATCH || i + 1 == alarms {
            store.commit_deliveries(&batch)?;
            batch.clear();
        }
        if now >= next_prune {
            next_prune = now + PRUNE_EVERY;
            let run = prune_before(&store, now - RETENTION, PRUNE_BATCH, 2_000, Duration::ZERO)?;
            pruned = Pruned {
                cards: pruned.cards + run.cards,
                transitions: pruned.transitions + run.transitions,
                digests: pruned.digests + run.digests,
                digest_rows: pruned.digest_rows + run.digest_rows,
                answers: pruned.answers + run.answers,
            };
            deliveries_pruned += store.forget_deliveries_before(now - DELIVERY_RETENTION)?;
        }
    }
    let elapsed = began.elapsed();
    drop(store);
    // Measure the file alone: fold the WAL in, then reuse the pages retention freed.
    let conn = rusqlite::Connection::open(&path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let mut rows = Vec::new();
    for table in [
        "alarm_cards",
        "alarm_history",
        "delivered_notifications",
        "storm_digests",
    ] {
        rows.push((
            table,
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?,
        ));
    }
    let bytes = std::fs::metadata(&path)?.len();
    Ok(Figures {
        alarms,
        elapsed,
        bytes,
        rows,
        pruned,
        deliveries_pruned,
    })
}

fn section(f: &Figures) -> String {
    let mb = |bytes: u64| bytes as f64 / 1e6;
    let mut out = format!(
        "## Store size (`cargo bench --bench store_size`)\n\n\
         {alarms} alarms over {ALARM_NAMES} alarm names and {channels} channels, spread over {span} days \
         of virtual time, each one committed as the pipeline commits a delivery (card with a ~2 KB \
         body, transition, delivery mark; {COMMIT_BATCH} per transaction), with `store.retention = \
         \"30d\"` and the 15-day delivery marks pruned every 10 virtual minutes, as the bot does.\n\n\
         | | |\n|---|---|\n\
         | **Database file** | **{size:.1} MB** |\n",
        alarms = f.alarms,
        channels = CHANNELS.len(),
        span = SPAN.as_secs() / 86_400,
        size = mb(f.bytes),
    );
    for (table, count) in &f.rows {
        out.push_str(&format!("| `{table}` rows kept | {count} |\n"));
    }
    out.push_str(&format!(
        "| history rows pruned | {} |\n| cards pruned | {} |\n| delivery marks pruned | {} |\n\
         | run time (wall clock, not a target) | {:.0} s |\n",
        f.pruned.transitions,
        f.pruned.cards,
        f.deliveries_pruned,
        f.elapsed.as_secs_f64()
    ));
    out
}

fn updated_report(old: &str, section: &str) -> String {
    let ours = format!("{SECTION_BEGIN}\n{}\n{SECTION_END}\n", section.trim_end());
    let Some(start) = old.find(SECTION_BEGIN) else {
        return format!("{}\n\n{ours}", old.trim_end());
    };
    let Some(end) = old[start..]
        .find(SECTION_END)
        .map(|e| start + e + SECTION_END.len())
    else {
        return format!("{}\n\n{ours}", old.trim_end());
    };
    let after = old[end..].strip_prefix('\n').unwrap_or(&old[end..]);
    format!("{}{ours}{after}", &old[..start])
}

fn main() -> anyhow::Result<()> {
    let alarms: usize = match std::env::var("STORE_SIZE_ALARMS") {
        Ok(n) => n.parse().context("STORE_SIZE_ALARMS must be a count")?,
        Err(_) => 1_000_000,
    };
    let out = std::env::var("STORE_SIZE_OUT").unwrap_or_else(|_| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        root.join("docs/benchmarks.md").display().to_string()
    });
    let dir = tempfile::tempdir()?;
    let figures = run(alarms, dir.path())?;
    let section = section(&figures);
    println!("{section}");
    if out != "-" {
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        std::fs::write(&out, updated_report(&old, &section))
            .with_context(|| format!("writing {out}"))?;
        println!("Wrote {out}.");
    }
    Ok(())
}

//! A long storm stays bounded: digests are cut at `storm_max_duration`, and each line added costs
//! the same however long the digest is (the real `Storms` and `SqliteStore`, the fake Slack).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chatops_bot::notify::storm::{StormSettings, Storms};
use chatops_bot::slack::messenger::{Messenger, SlackMessenger};
use chatops_bot::store::digests::{DigestEntry, DigestRecord, DigestStore, DigestSummary};
use chatops_bot::store::{unblock, Blocking, SqliteStore};
use chatops_sandbox::slack::{FakeSlack, FakeSlackOptions};
use support::alarm_sandbox::shown;
use support::BOT_TOKEN;

const CHANNEL: &str = "C0STORM";
const EVENTS: usize = 5_000;
const SHOWN_LINES: usize = 100;

/// The real store, counting the digest lines that go in and come out of it.
struct CountingDigests {
    inner: SqliteStore,
    lines_written: AtomicUsize,
    rows_read: AtomicUsize,
    latest_lookups: AtomicUsize,
}

impl CountingDigests {
    fn moved(&self) -> (usize, usize) {
        (
            self.lines_written.load(Ordering::SeqCst),
            self.rows_read.load(Ordering::SeqCst),
        )
    }
}

impl DigestStore for CountingDigests {
    fn latest_digest(&self, channel: &str) -> anyhow::Result<Option<DigestRecord>> {
        self.rows_read.fetch_add(1, Ordering::SeqCst);
        self.latest_lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.latest_digest(channel)
    }
    fn digest(&self, channel: &str, ts: &str) -> anyhow::Result<Option<DigestRecord>> {
        self.rows_read.fetch_add(1, Ordering::SeqCst);
        self.inner.digest(channel, ts)
    }
    fn add_digest_lines(&self, digest: &DigestRecord, lines: &[DigestEntry]) -> anyhow::Result<()> {
        self.lines_written.fetch_add(lines.len(), Ordering::SeqCst);
        self.inner.add_digest_lines(digest, lines)
    }
    fn digest_summary(
        &self,
        channel: &str,
        ts: &str,
        shown: usize,
    ) -> anyhow::Result<Option<DigestSummary>> {
        let summary = self.inner.digest_summary(channel, ts, shown)?;
        let rows = summary
            .as_ref()
            .map_or(0, |s| 1 + s.counts.len() + s.first_lines.len());
        self.rows_read.fetch_add(rows, Ordering::SeqCst);
        Ok(summary)
    }
    fn digest_lines(&self, channel: &str, ts: &str) -> anyhow::Result<Vec<DigestEntry>> {
        let lines = self.inner.digest_lines(channel, ts)?;
        self.rows_read.fetch_add(lines.len(), Ordering::SeqCst);
        Ok(lines)
    }
    fn close_digest(&self, channel: &str, ts: &str) -> anyhow::Result<()> {
        self.inner.close_digest(channel, ts)
    }
    fn quiet_open_digests(&self, cutoff: SystemTime) -> anyhow::Result<Vec<DigestRecord>> {
        let quiet = self.inner.quiet_open_digests(cutoff)?;
        self.rows_read.fetch_add(quiet.len(), Ordering::SeqCst);
        Ok(quiet)
    }
}

fn entry(i: usize) -> DigestEntry {
    DigestEntry {
        key: format!("evt-{i:05}"),
        name: format!("pipeline-run-{i:05}"),
        state: if i % 3 == 0 { "FAILED" } else { "SUCCEEDED" }.into(),
        at: None,
        kind: "pipeline".into(),
    }
}

/// 5,000 distinct one-off events over 30 minutes of virtual time (one every 360 ms) with
/// `storm_max_duration = 10m`: the storm is cut into several digests, every event is listed once,
/// and each add writes one line and reads only what the card shows, from the first to the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_minute_storm_of_5000_events_is_cut_into_digests_and_each_add_costs_the_same() {
    let fake = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let api = url::Url::parse(&fake.api_url()).unwrap();
    let slack: Arc<dyn Messenger> = Arc::new(
        SlackMessenger::new(
            &api,
            &BOT_TOKEN.to_owned().into(),
            Duration::from_secs(10),
            &chatops_bot::config::ProxySettings::default(),
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CountingDigests {
        inner: SqliteStore::open(&dir.path().join("bot.db")).unwrap(),
        lines_written: AtomicUsize::new(0),
        rows_read: AtomicUsize::new(0),
        latest_lookups: AtomicUsize::new(0),
    });
    let window = Duration::from_secs(60);
    let settings = StormSettings {
        threshold: 10,
        window,
        max_duration: Duration::from_secs(10 * 60),
    };
    let storms = Storms::new(settings, slack, Blocking::new(store.clone()));

    let start = SystemTime::now();
    let every = Duration::from_millis(360);
    let (mut cards, mut folded) = (0, 0);
    let mut worst_add = (0, 0);
    for i in 0..EVENTS {
        let now = start + every * i as u32;
        if !storms.should_fold(CHANNEL, now).await.unwrap() {
            cards += 1; // the pipeline would post its own card
            continue;
        }
        let (written, read) = store.moved();
        storms.fold(CHANNEL, entry(i), now).await.unwrap();
        let (written_after, read_after) = store.moved();
        let add = (written_after - written, read_after - read);
        worst_add = worst_add.max(add);
        assert!(add.0 <= 1, "add {i} wrote {} lines", add.0);
        assert!(
            add.1 <= SHOWN_LINES + 4,
            "add {i} read {} rows: more than the card shows",
            add.1
        );
        folded += 1;
        if i % 500 == 0 {
            storms.close_quiet(now).await.unwrap();
        }
    }
    let end = start + every * EVENTS as u32;
    let closed_at_end = storms.close_quiet(end + 2 * window).await.unwrap();
    assert!(closed_at_end >= 1);
    assert_eq!(cards, 10, "storm_threshold cards before the first digest");
    assert_eq!(
        store.latest_lookups.load(Ordering::SeqCst),
        1,
        "the channel's stored digest is looked up once, not for every new card"
    );
    assert_eq!(folded, EVENTS - cards);

    let top: Vec<_> = fake
        .messages(CHANNEL)
        .into_iter()
        .filter(|m| m.thread_ts.is_none())
        .collect();
    assert!(
        top.len() >= 3,
        "30 minutes of storm in 10-minute digests: {} digests",
        top.len()
    );
    // Each digest's full list is in its thread; together they list every event exactly once.
    let mut listed: BTreeMap<String, usize> = BTreeMap::new();
    for digest in &top {
        let card = shown(digest);
        assert!(card.contains("Alarm storm"), "{card}");
        let full: String = fake
            .messages(CHANNEL)
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(digest.ts.as_str()))
            .map(shown)
            .collect();
        for i in 0..EVENTS {
            let name = format!("pipeline-run-{i:05} ");
            if full.contains(&name) {
                *listed.entry(name).or_default() += 1;
            }
        }
        let (counting, ts) = (store.clone(), digest.ts.clone());
        let stored = unblock(move || counting.inner.digest(CHANNEL, &ts))
            .await
            .unwrap()
            .unwrap();
        assert!(stored.closed);
        assert!(
            stored.last_added.duration_since(stored.opened_at).unwrap() < settings.max_duration
        );
    }
    assert_eq!(listed.len(), folded, "every folded event is listed");
    assert!(listed.values().all(|&n| n == 1), "each event listed once");
    println!(
        "worst add: {} lines written, {} rows read",
        worst_add.0, worst_add.1
    );
}

/// After a restart the open digest is found in the store and extended in place; a redelivered
/// line replaces its own line and the card counts it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_outlives_a_restart_and_a_redelivery_replaces_its_line() {
    let fake = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
    let api = url::Url::parse(&fake.api_url()).unwrap();
    let slack: Arc<dyn Messenger> = Arc::new(
        SlackMessenger::new(
            &api,
            &BOT_TOKEN.to_owned().into(),
            Duration::from_secs(10),
            &chatops_bot::config::ProxySettings::default(),
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    let settings = StormSettings {
        threshold: 2,
        window: Duration::from_secs(60),
        max_duration: Duration::from_secs(30 * 60),
    };
    let start = SystemTime::now();
    let at = |i: u32| start + Duration::from_secs(i.into());
    let first_ts = {
        let storms = Storms::new(
            settings,
            slack.clone(),
            Blocking::new(Arc::new(SqliteStore::open(&path).unwrap())),
        );
        assert!(!storms.should_fold(CHANNEL, at(0)).await.unwrap());
        assert!(!storms.should_fold(CHANNEL, at(1)).await.unwrap());
        assert!(storms.should_fold(CHANNEL, at(2)).await.unwrap());
        let ts = storms.fold(CHANNEL, entry(2), at(2)).await.unwrap();
        assert_eq!(storms.fold(CHANNEL, entry(3), at(3)).await.unwrap(), ts);
        ts
    };
    let storms = Storms::new(
        settings,
        slack,
        Blocking::new(Arc::new(SqliteStore::open(&path).unwrap())),
    );
    assert!(
        storms.should_fold(CHANNEL, at(4)).await.unwrap(),
        "the storm goes on after a restart"
    );
    assert_eq!(
        storms.fold(CHANNEL, entry(4), at(4)).await.unwrap(),
        first_ts
    );
    let mut again = entry(3);
    again.state = "SUCCEEDED".into();
    assert_eq!(storms.fold(CHANNEL, again, at(5)).await.unwrap(), first_ts);

    let digest = fake
        .messages(CHANNEL)
        .into_iter()
        .find(|m| m.ts == first_ts)
        .unwrap();
    let card = shown(&digest);
    assert!(card.contains("3 notifications"), "{card}");
    assert_eq!(card.matches("pipeline-run-00003 ").count(), 1, "{card}");
    assert!(card.contains("pipeline-run-00003 — SUCCEEDED"), "{card}");
    assert_eq!(
        fake.messages(CHANNEL).len(),
        1,
        "one digest, updated in place"
    );
}

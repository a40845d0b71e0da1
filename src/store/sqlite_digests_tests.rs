//! Unit tests for `DigestStore` on SQLite: lines keyed by card key, counts kept as lines change.

use std::time::Duration;

use super::*;

fn entry(key: &str, state: &str) -> DigestEntry {
    DigestEntry {
        key: key.into(),
        name: format!("{key}-name"),
        state: state.into(),
        at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        kind: "alarm".into(),
    }
}

fn record(ts: &str, opened_at: SystemTime, last_added: SystemTime) -> DigestRecord {
    DigestRecord {
        channel: "C1".into(),
        ts: ts.into(),
        opened_at,
        last_added,
        closed: false,
        line_count: 0,
    }
}

fn counts(summary: &DigestSummary) -> Vec<(String, usize)> {
    let mut counts = summary.counts.clone();
    counts.sort();
    counts
}

#[test]
fn digests_round_trip_and_the_latest_and_quiet_ones_are_found() {
    let store = SqliteStore::in_memory().unwrap();
    // Whole milliseconds, as the store keeps them.
    let now = from_millis(to_millis(SystemTime::now()));
    let old = record(
        "1.1",
        now - Duration::from_secs(600),
        now - Duration::from_secs(500),
    );
    store
        .add_digest_lines(&old, &[entry("a", "ALARM")])
        .unwrap();
    let new = record("2.2", now - Duration::from_secs(600), now);
    store
        .add_digest_lines(&new, &[entry("a", "ALARM"), entry("b", "ALARM")])
        .unwrap();
    store.add_digest_lines(&new, &[entry("a", "OK")]).unwrap();

    let latest = store.latest_digest("C1").unwrap().unwrap();
    assert_eq!((latest.ts.as_str(), latest.line_count), ("2.2", 2));
    assert_eq!(store.digest("C1", "1.1").unwrap().unwrap().line_count, 1);
    assert_eq!(store.latest_digest("C2").unwrap(), None);
    let quiet = store
        .quiet_open_digests(now - Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        quiet.iter().map(|d| d.ts.as_str()).collect::<Vec<_>>(),
        ["1.1"]
    );
    store.close_digest("C1", "1.1").unwrap();
    assert!(store
        .quiet_open_digests(now - Duration::from_secs(60))
        .unwrap()
        .is_empty());
    assert!(store.digest("C1", "1.1").unwrap().unwrap().closed);

    let lines = store.digest_lines("C1", "2.2").unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.key.as_str(), l.state.as_str()))
            .collect::<Vec<_>>(),
        vec![("a", "OK"), ("b", "ALARM")],
        "same key replaces its line in place"
    );
    let summary = store.digest_summary("C1", "2.2", 1).unwrap().unwrap();
    assert_eq!(counts(&summary), [("ALARM".into(), 1), ("OK".into(), 1)]);
    assert_eq!(summary.first_lines, vec![lines[0].clone()]);
    assert_eq!(summary.record.line_count, 2);
}

#[test]
fn an_unposted_digest_is_not_saved() {
    let store = SqliteStore::in_memory().unwrap();
    let now = SystemTime::now();
    assert!(store.add_digest_lines(&record("", now, now), &[]).is_err());
}

/// The rows one add writes do not grow with the digest: the line, its count, the digest row.
#[test]
fn adding_a_line_writes_the_same_few_rows_however_long_the_digest_is() {
    let store = SqliteStore::in_memory().unwrap();
    let now = SystemTime::now();
    let digest = record("1.1", now, now);
    let changes = || store.with(|c| Ok(c.total_changes())).unwrap();
    let mut per_add = Vec::new();
    for i in 0..3_000 {
        let before = changes();
        store
            .add_digest_lines(&digest, &[entry(&format!("k{i:05}"), "ALARM")])
            .unwrap();
        per_add.push(changes() - before);
    }
    assert!(
        per_add.iter().all(|&rows| rows <= 3),
        "{:?}",
        &per_add[..10]
    );
    let before = changes();
    store
        .add_digest_lines(&digest, &[entry("k00007", "OK")])
        .unwrap();
    assert!(
        changes() - before <= 4,
        "a replaced line moves between two counts"
    );
    let summary = store.digest_summary("C1", "1.1", 100).unwrap().unwrap();
    assert_eq!(summary.record.line_count, 3_000);
    assert_eq!(
        counts(&summary),
        [("ALARM".into(), 2_999), ("OK".into(), 1)]
    );
    assert_eq!(summary.first_lines.len(), 100);
    assert_eq!(summary.first_lines[7].state, "OK");
}

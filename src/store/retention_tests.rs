//! Unit tests for retention: what goes, what stays, in batches; and an index for every periodic query.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use super::*;
use crate::store::cards::{CardRecord, CardStore, DeliveryCommit, Transition};
use crate::store::digests::{DigestEntry, DigestRecord, DigestStore};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn card(key: &str, state: &str, changed: SystemTime, root_ts: &str) -> CardRecord {
    CardRecord {
        alarm_key: key.into(),
        channel: "C1".into(),
        root_ts: root_ts.into(),
        state: state.into(),
        last_change: changed,
        episode_started: (state == "ALARM").then_some(changed),
        resolved_at: (state == "OK").then_some(changed),
        reopen_count: 0,
        watchers: vec![],
        nudged: false,
        last_body: "x".repeat(2_000),
        last_attributes: BTreeMap::new(),
        in_digest: false,
        report_url: None,
        graph: None,
    }
}

/// A card with `transitions` history rows, committed as the pipeline does.
fn commit_card(store: &SqliteStore, card: CardRecord, transitions: usize) {
    let commits: Vec<DeliveryCommit> = (0..transitions)
        .map(|i| DeliveryCommit {
            message_id: format!("{}-{i}", card.alarm_key),
            channel: card.channel.clone(),
            delivered_at: card.last_change,
            card: Some(card.clone()),
            transition: Some(Transition {
                alarm_key: card.alarm_key.clone(),
                channel: card.channel.clone(),
                at: card.last_change,
                from_state: None,
                to_state: card.state.clone(),
                reason: "threshold crossed".into(),
            }),
        })
        .collect();
    store.commit_deliveries(&commits).unwrap();
}

fn digest(store: &SqliteStore, ts: &str, last_added: SystemTime, lines: usize, closed: bool) {
    let record = DigestRecord {
        channel: "C1".into(),
        ts: ts.into(),
        opened_at: last_added,
        last_added,
        closed: false,
        line_count: 0,
    };
    let lines: Vec<DigestEntry> = (0..lines)
        .map(|i| DigestEntry {
            key: format!("{ts}-{i}"),
            name: format!("alarm-{i}"),
            state: "OK".into(),
            at: None,
            kind: "alarm".into(),
        })
        .collect();
    store.add_digest_lines(&record, &lines).unwrap();
    if closed {
        store.close_digest("C1", ts).unwrap();
    }
}

fn count(store: &SqliteStore, table: &str) -> i64 {
    store
        .with(|c| c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)))
        .unwrap()
}

#[test]
fn resolved_cards_history_and_closed_digests_past_the_cutoff_go_in_batches() {
    let store = SqliteStore::in_memory().unwrap();
    let now = SystemTime::now();
    let old = now - 40 * DAY;
    let cutoff = now - 30 * DAY;
    for i in 0..30 {
        commit_card(&store, card(&format!("old-ok-{i}"), "OK", old, "1.1"), 3);
    }
    commit_card(&store, card("old-firing", "ALARM", old, "1.2"), 2);
    commit_card(&store, card("recent-ok", "OK", now - DAY, "1.3"), 2);
    // A flapping alarm resolved yesterday: its old transitions go, the card and new ones stay.
    commit_card(&store, card("flapping", "ALARM", old, "1.4"), 4);
    commit_card(&store, card("flapping", "OK", now - DAY, "1.4"), 1);
    // A firing alarm folded into an old closed digest keeps that digest.
    let mut folded = card("folded-firing", "ALARM", old, "9.1");
    folded.in_digest = true;
    commit_card(&store, folded, 1);
    digest(&store, "9.1", old, 5, true);
    digest(&store, "9.2", old, 25, true);
    digest(&store, "9.3", old, 5, false);
    digest(&store, "9.4", now, 5, true);

    let first = store.prune_batch(cutoff, 20).unwrap();
    assert!(first.rows() <= 20, "{first:?}");
    assert!(first.rows() > 0);
    let total = prune_before(&store, cutoff, 20, 100, Duration::ZERO).unwrap();
    assert_eq!(first.cards + total.cards, 30);
    assert_eq!(first.transitions + total.transitions, 94);
    assert_eq!(
        first.digests + total.digests,
        1,
        "only the closed, old, unreferenced digest"
    );
    assert_eq!(store.prune_batch(cutoff, 20).unwrap(), Pruned::default());

    let keys: Vec<String> = store
        .with(|c| {
            c.prepare("SELECT alarm_key FROM alarm_cards ORDER BY alarm_key")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
        .unwrap();
    assert_eq!(
        keys,
        ["flapping", "folded-firing", "old-firing", "recent-ok"]
    );
    assert_eq!(count(&store, "alarm_history"), 6);
    assert_eq!(store.transitions("flapping", "C1").unwrap().len(), 1);
    assert_eq!(store.transitions("old-firing", "C1").unwrap().len(), 2);
    for ts in ["9.1", "9.3", "9.4"] {
        assert!(store.digest("C1", ts).unwrap().is_some(), "{ts} stays");
        assert_eq!(store.digest_lines("C1", ts).unwrap().len(), 5);
    }
    assert!(store.digest("C1", "9.2").unwrap().is_none());
    assert_eq!(count(&store, "storm_digest_lines"), 15);
    assert_eq!(count(&store, "storm_digest_counts"), 3);
}

/// The plan of `sql` (with `?` bound to NULL) uses an index and scans no table whole.
fn assert_uses_an_index(store: &SqliteStore, sql: &str) {
    let plan: Vec<String> = store
        .with(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let params = vec![rusqlite::types::Null; stmt.parameter_count()];
            let steps = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    r.get::<_, String>(3)
                })?
                .collect();
            steps
        })
        .unwrap();
    assert!(
        plan.iter().any(|step| step.contains("INDEX")),
        "{sql}: {plan:?}"
    );
    assert!(
        !plan
            .iter()
            .any(|step| step.starts_with("SCAN") && !step.contains("INDEX")),
        "{sql}: {plan:?}"
    );
}

#[test]
fn every_periodic_query_uses_an_index() {
    let store = SqliteStore::in_memory().unwrap();
    for sql in [
        // `unwatched_alarms` (the nudge loop)
        "SELECT alarm_key FROM alarm_cards WHERE state = 'ALARM' AND watchers = '[]' AND nudged = 0 \
         AND in_digest = 0 AND episode_started IS NOT NULL AND episode_started <= ?1",
        // `quiet_open_digests` (the storm closer)
        "SELECT channel, ts FROM storm_digests WHERE closed = 0 AND last_added < ?1",
        // `forget_deliveries_before` and `forget_events_before`
        "DELETE FROM delivered_notifications WHERE delivered_at < ?1",
        // `notifications_delivered_since` (the day's count, at start-up)
        "SELECT count(DISTINCT message_id) FROM delivered_notifications \
         INDEXED BY delivered_notifications_by_time WHERE delivered_at >= ?1",
        "DELETE FROM seen_events WHERE seen_at < ?1",
        // retention
        "SELECT alarm_key, channel FROM alarm_cards WHERE state = 'OK' AND resolved_at < ?1 LIMIT ?2",
        "DELETE FROM alarm_history WHERE rowid IN (SELECT rowid FROM alarm_history \
         WHERE alarm_key = ?1 AND channel = ?2 LIMIT ?3)",
        "DELETE FROM alarm_history WHERE rowid IN (SELECT h.rowid FROM alarm_history AS h \
         WHERE h.at < ?1 AND NOT EXISTS (SELECT 1 FROM alarm_cards AS c \
         WHERE c.alarm_key = h.alarm_key AND c.channel = h.channel \
         AND c.state IN ('ALARM', 'INSUFFICIENT_DATA')) LIMIT ?2)",
        "SELECT channel, ts FROM storm_digests AS d WHERE closed = 1 AND last_added < ?1 \
         AND NOT EXISTS (SELECT 1 FROM alarm_cards AS c WHERE c.channel = d.channel \
         AND c.root_ts = d.ts AND c.state IN ('ALARM', 'INSUFFICIENT_DATA')) LIMIT ?2",
        "DELETE FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 AND key IN \
         (SELECT key FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 LIMIT ?3)",
        "DELETE FROM agent_answers WHERE id IN \
         (SELECT id FROM agent_answers WHERE asked_at < ?1 LIMIT ?2)",
        // latency sketches: `@bot stats`, and their pruning
        "SELECT kind, minute, sketch FROM latency_sketches WHERE minute >= ?1 ORDER BY minute",
        "DELETE FROM latency_sketches WHERE id IN \
         (SELECT id FROM latency_sketches WHERE minute < ?1 LIMIT ?2)",
        // agent answers: a thread's (Reporting), and the hourly limits after a restart
        "SELECT answer FROM agent_answers WHERE channel = ?1 AND thread_ts = ?2 ORDER BY asked_at, id",
        "SELECT user_id, channel, asked_at FROM agent_answers WHERE asked_at >= ?1 ORDER BY asked_at",
        // the model backend's turns: a follow-up's history, and their pruning
        "SELECT question, answer FROM model_turns WHERE session_id = ?1 ORDER BY id DESC LIMIT ?2",
        "DELETE FROM model_turns WHERE id IN (SELECT id FROM model_turns WHERE at < ?1 LIMIT ?2)",
        // a digest's summary, as each add shows it
        "SELECT key FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 ORDER BY seq LIMIT ?3",
    ] {
        assert_uses_an_index(&store, sql);
    }
}

#[test]
fn agent_answers_past_the_cutoff_go_and_recent_ones_stay() {
    use crate::store::answers::{AnswerLog, AnswerRecord};
    let store = SqliteStore::in_memory().unwrap();
    let now = SystemTime::now();
    for (i, age) in [40 * DAY, 31 * DAY, DAY].into_iter().enumerate() {
        store
            .record_answer(&AnswerRecord {
                channel: "C1".into(),
                thread_ts: format!("{i}.1"),
                user: "U1".into(),
                question: "why?".into(),
                answer: "because".into(),
                session_id: format!("s{i}"),
                alarm_key: None,
                asked_at: now - age,
                duration: Duration::from_secs(3),
                error: None,
            })
            .unwrap();
    }
    let pruned = prune_before(&store, now - 30 * DAY, 1, 10, Duration::ZERO).unwrap();
    assert_eq!(pruned.answers, 2, "one per batch of one row");
    assert_eq!(count(&store, "agent_answers"), 1);
    assert_eq!(store.answers_in_thread("C1", "2.1").unwrap().len(), 1);
}

#[test]
fn model_turns_past_the_cutoff_go_with_the_answers() {
    use crate::store::model_turns::{ModelTurns, Turn};
    let store = SqliteStore::in_memory().unwrap();
    let now = SystemTime::now();
    let turn = Turn {
        question: "why?".into(),
        answer: "because".into(),
    };
    for age in [40 * DAY, 31 * DAY, DAY] {
        store.add_turn("s1", &turn, now - age).unwrap();
    }
    let pruned = prune_before(&store, now - 30 * DAY, 1, 10, Duration::ZERO).unwrap();
    assert_eq!(
        pruned.answers, 2,
        "counted with the answers, one per batch of one row"
    );
    assert_eq!(count(&store, "model_turns"), 1);
    assert_eq!(store.recent_turns("s1", 1000).unwrap(), [turn]);
}

#[test]
fn deliveries_are_counted_from_a_time_once_per_message() {
    let store = SqliteStore::in_memory().unwrap();
    let midnight = UNIX_EPOCH + 20_000 * DAY;
    let delivery = |id: &str, channel: &str, at: SystemTime| DeliveryCommit {
        message_id: id.into(),
        channel: channel.into(),
        delivered_at: at,
        card: None,
        transition: None,
    };
    let second = Duration::from_secs(1);
    store
        .commit_deliveries(&[
            delivery("yesterday", "C1", midnight - second),
            delivery("at-midnight", "C1", midnight),
            delivery("fanned-out", "C1", midnight + 60 * second),
            delivery("fanned-out", "C2", midnight + 60 * second),
        ])
        .unwrap();
    assert_eq!(store.notifications_delivered_since(midnight).unwrap(), 2);
    assert_eq!(
        store.notifications_delivered_since(midnight - DAY).unwrap(),
        3
    );
    assert_eq!(
        store.notifications_delivered_since(midnight + DAY).unwrap(),
        0
    );
}

//! `CardStore` on SQLite: the alarm pipeline's tables (migration 2).

use std::time::SystemTime;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::cards::{
    from_millis, to_millis, CardGraph, CardRecord, CardStore, ClaimOutcome, ClaimRequest,
    DeliveryCommit, DeliveryState, PostedPart, Transition,
};
use super::sqlite_claims::{claim_deliveries, end_claim, read_progress};
use super::SqliteStore;

pub(super) const CARD_COLUMNS: &str =
    "alarm_key, channel, root_ts, state, last_change, episode_started, resolved_at, \
     reopen_count, watchers, nudged, last_body, last_attributes, in_digest, report_url, \
     graph_file_id, graph_for_change";

pub(super) fn card_from_row(row: &Row<'_>) -> rusqlite::Result<CardRecord> {
    let watchers: String = row.get(8)?;
    let attributes: String = row.get(11)?;
    Ok(CardRecord {
        alarm_key: row.get(0)?,
        channel: row.get(1)?,
        root_ts: row.get(2)?,
        state: row.get(3)?,
        last_change: from_millis(row.get(4)?),
        episode_started: row.get::<_, Option<i64>>(5)?.map(from_millis),
        resolved_at: row.get::<_, Option<i64>>(6)?.map(from_millis),
        reopen_count: row.get(7)?,
        watchers: serde_json::from_str(&watchers).unwrap_or_default(),
        nudged: row.get(9)?,
        last_body: row.get(10)?,
        last_attributes: serde_json::from_str(&attributes).unwrap_or_default(),
        in_digest: row.get(12)?,
        report_url: row.get(13)?,
        graph: match (
            row.get::<_, Option<String>>(14)?,
            row.get::<_, Option<i64>>(15)?,
        ) {
            (Some(file_id), Some(at)) => Some(CardGraph {
                file_id,
                for_change: from_millis(at),
            }),
            _ => None,
        },
    })
}

fn insert_delivery(
    c: &Connection,
    message_id: &str,
    channel: &str,
    at: SystemTime,
) -> rusqlite::Result<usize> {
    c.prepare_cached("INSERT OR IGNORE INTO delivered_notifications VALUES (?1, ?2, ?3)")?
        .execute(params![message_id, channel, to_millis(at)])
}

fn insert_card(c: &Connection, card: &CardRecord) -> rusqlite::Result<usize> {
    let watchers = serde_json::to_string(&card.watchers).unwrap_or_else(|_| "[]".to_owned());
    let attributes =
        serde_json::to_string(&card.last_attributes).unwrap_or_else(|_| "{}".to_owned());
    let sql = format!("INSERT OR REPLACE INTO alarm_cards ({CARD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    c.prepare_cached(&sql)?.execute(params![
        card.alarm_key,
        card.channel,
        card.root_ts,
        card.state,
        to_millis(card.last_change),
        card.episode_started.map(to_millis),
        card.resolved_at.map(to_millis),
        card.reopen_count,
        watchers,
        card.nudged,
        card.last_body,
        attributes,
        card.in_digest,
        card.report_url,
        card.graph.as_ref().map(|graph| graph.file_id.as_str()),
        card.graph.as_ref().map(|graph| to_millis(graph.for_change)),
    ])
}

fn insert_transition(c: &Connection, t: &Transition) -> rusqlite::Result<usize> {
    c.prepare_cached("INSERT INTO alarm_history VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![
            t.alarm_key,
            t.channel,
            to_millis(t.at),
            t.from_state,
            t.to_state,
            t.reason
        ])
}

impl CardStore for SqliteStore {
    fn was_delivered(&self, message_id: &str, channel: &str) -> anyhow::Result<bool> {
        let found = self
            .read(|c| {
                c.prepare_cached(
                    "SELECT 1 FROM delivered_notifications WHERE message_id = ?1 AND channel = ?2",
                )?
                .query_row(params![message_id, channel], |_| Ok(()))
                .optional()
            })
            .context("Failed to look up a delivery")?;
        Ok(found.is_some())
    }

    fn claim_deliveries(&self, claims: &[ClaimRequest]) -> anyhow::Result<Vec<ClaimOutcome>> {
        claim_deliveries(self, claims)
    }

    fn delivery_state(&self, message_id: &str, channel: &str) -> anyhow::Result<DeliveryState> {
        self.read(|c| read_progress(c, message_id, channel))
            .context("Failed to look up a delivery's progress")
    }

    fn record_posts(&self, posts: &[PostedPart]) -> anyhow::Result<()> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            for post in posts {
                tx.prepare_cached("INSERT OR REPLACE INTO delivery_posts VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![post.message_id, post.channel, post.part, post.ts])?;
            }
            tx.commit()
        })
        .with_context(|| format!("Failed to record {} posts of deliveries", posts.len()))
    }

    fn card(&self, alarm_key: &str, channel: &str) -> anyhow::Result<Option<CardRecord>> {
        let sql =
            format!("SELECT {CARD_COLUMNS} FROM alarm_cards WHERE alarm_key = ?1 AND channel = ?2");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row(params![alarm_key, channel], card_from_row)
                .optional()
        })
        .context("Failed to read an alarm card")
    }

    fn card_at(&self, channel: &str, root_ts: &str) -> anyhow::Result<Option<CardRecord>> {
        let sql =
            format!("SELECT {CARD_COLUMNS} FROM alarm_cards WHERE channel = ?1 AND root_ts = ?2 AND in_digest = 0");
        self.with(|c| {
            c.prepare_cached(&sql)?
                .query_row(params![channel, root_ts], card_from_row)
                .optional()
        })
        .context("Failed to read an alarm card by message")
    }

    fn save_card(&self, card: &CardRecord) -> anyhow::Result<()> {
        self.with(|c| insert_card(c, card))
            .context("Failed to save an alarm card")?;
        Ok(())
    }

    fn commit_deliveries(&self, commits: &[DeliveryCommit]) -> anyhow::Result<()> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            for commit in commits {
                if let Some(card) = &commit.card {
                    insert_card(&tx, card)?;
                }
                if let Some(transition) = &commit.transition {
                    insert_transition(&tx, transition)?;
                }
                insert_delivery(
                    &tx,
                    &commit.message_id,
                    &commit.channel,
                    commit.delivered_at,
                )?;
                end_claim(&tx, &commit.message_id, &commit.channel)?;
            }
            tx.commit()
        })
        .with_context(|| format!("Failed to commit {} deliveries", commits.len()))
    }

    fn transitions(&self, alarm_key: &str, channel: &str) -> anyhow::Result<Vec<Transition>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT alarm_key, channel, at, from_state, to_state, reason FROM alarm_history \
                 WHERE alarm_key = ?1 AND channel = ?2 ORDER BY at, rowid",
            )?;
            let rows = stmt.query_map(params![alarm_key, channel], |r| {
                Ok(Transition {
                    alarm_key: r.get(0)?,
                    channel: r.get(1)?,
                    at: from_millis(r.get(2)?),
                    from_state: r.get(3)?,
                    to_state: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?;
            rows.collect()
        })
        .context("Failed to read alarm history")
    }

    fn unwatched_alarms(&self, started_before: SystemTime) -> anyhow::Result<Vec<CardRecord>> {
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM alarm_cards WHERE state = 'ALARM' AND watchers = '[]' AND nudged = 0 \
             AND in_digest = 0 AND episode_started IS NOT NULL AND episode_started <= ?1"
        );
        self.with(|c| {
            c.prepare_cached(&sql)?
                .query_map([to_millis(started_before)], card_from_row)?
                .collect()
        })
        .context("Failed to list unwatched alarms")
    }

    fn cards_in_state(&self, state: &str) -> anyhow::Result<Vec<CardRecord>> {
        // Found through `alarm_cards_by_state_and_start` (state, episode_started).
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM alarm_cards WHERE state = ?1 \
             ORDER BY episode_started, alarm_key, channel"
        );
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_map([state], card_from_row)?
                .collect()
        })
        .with_context(|| format!("Failed to list the cards in {state}"))
    }

    fn notifications_delivered_since(&self, since: SystemTime) -> anyhow::Result<u64> {
        self.with(|c| {
            c.query_row(
                // Without the hint SQLite walks the whole table in key order for the DISTINCT.
                "SELECT count(DISTINCT message_id) FROM delivered_notifications \
                 INDEXED BY delivered_notifications_by_time WHERE delivered_at >= ?1",
                [to_millis(since)],
                |row| row.get::<_, i64>(0),
            )
        })
        .map(|count| count.max(0) as u64)
        .context("Failed to count today's deliveries")
    }

    fn forget_deliveries_before(&self, cutoff: SystemTime) -> anyhow::Result<usize> {
        self.with(|c| {
            let cutoff = to_millis(cutoff);
            // Claims that never committed (their message went to the DLQ) age out too.
            c.execute(
                "DELETE FROM delivery_posts WHERE (message_id, channel) IN \
                 (SELECT message_id, channel FROM delivery_claims WHERE claimed_at < ?1)",
                [cutoff],
            )?;
            c.execute(
                "DELETE FROM delivery_claims WHERE claimed_at < ?1",
                [cutoff],
            )?;
            c.execute(
                "DELETE FROM delivered_notifications WHERE delivered_at < ?1",
                [cutoff],
            )
        })
        .context("Failed to prune delivered notifications")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::cards::DeliveryProgress;

    fn card(key: &str) -> CardRecord {
        CardRecord {
            alarm_key: key.into(),
            channel: "C1".into(),
            root_ts: "1.1".into(),
            state: "ALARM".into(),
            last_change: SystemTime::now(),
            episode_started: Some(SystemTime::now() - Duration::from_secs(3600)),
            resolved_at: None,
            reopen_count: 0,
            watchers: vec![],
            nudged: false,
            last_body: "{}".into(),
            last_attributes: [("team".to_owned(), "ops".to_owned())].into(),
            in_digest: false,
            report_url: None,
            graph: None,
        }
    }

    #[test]
    fn cards_round_trip_and_are_found_by_root_message() {
        let store = SqliteStore::in_memory().unwrap();
        let mut c = card("arn:a");
        store.save_card(&c).unwrap();
        assert_eq!(
            store.card("arn:a", "C1").unwrap().unwrap().last_attributes,
            c.last_attributes
        );
        c.watchers = vec!["U1".into()];
        store.save_card(&c).unwrap();
        assert_eq!(
            store.card_at("C1", "1.1").unwrap().unwrap().watchers,
            vec!["U1".to_owned()]
        );
        assert!(store.card("arn:a", "C2").unwrap().is_none());
    }

    #[test]
    fn lookups_on_the_reader_connection_see_every_finished_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bot.db")).unwrap();
        for i in 0..50 {
            let message_id = format!("m{i}");
            assert!(!store.was_delivered(&message_id, "C1").unwrap());
            let mut record = card(&format!("arn:{i}"));
            record.root_ts = format!("{i}.1");
            store
                .commit_deliveries(&[DeliveryCommit {
                    message_id: message_id.clone(),
                    channel: "C1".into(),
                    delivered_at: SystemTime::now(),
                    card: Some(record),
                    transition: None,
                }])
                .unwrap();
            assert!(store.was_delivered(&message_id, "C1").unwrap());
            let found = store.card(&format!("arn:{i}"), "C1").unwrap().unwrap();
            assert_eq!(found.root_ts, format!("{i}.1"));
        }
    }

    #[test]
    fn a_claim_and_its_posts_are_found_until_the_delivery_commits() {
        let store = SqliteStore::in_memory().unwrap();
        assert_eq!(
            store.delivery_state("m1", "C1").unwrap(),
            DeliveryState::New
        );
        let at = from_millis(to_millis(SystemTime::now()));
        let claim = |at| ClaimRequest {
            message_id: "m1".into(),
            channel: "C1".into(),
            card_key: None,
            at,
        };
        store.claim_deliveries(&[claim(at)]).unwrap();
        let claimed = DeliveryState::Claimed(DeliveryProgress {
            claimed_at: Some(at),
            posts: Default::default(),
        });
        assert_eq!(store.delivery_state("m1", "C1").unwrap(), claimed);
        assert_eq!(
            store.delivery_state("m1", "C2").unwrap(),
            DeliveryState::New
        );
        store
            .claim_deliveries(&[claim(at + Duration::from_secs(60))])
            .unwrap();
        let posted = PostedPart {
            message_id: "m1".into(),
            channel: "C1".into(),
            part: "card".into(),
            ts: "1.2".into(),
        };
        store.record_posts(&[posted]).unwrap();
        let DeliveryState::Claimed(progress) = store.delivery_state("m1", "C1").unwrap() else {
            panic!("still claimed");
        };
        assert_eq!(
            progress.claimed_at,
            Some(at),
            "the first claim's time is kept"
        );
        assert_eq!(progress.posts.get("card").map(String::as_str), Some("1.2"));
        store
            .commit_deliveries(&[DeliveryCommit {
                message_id: "m1".into(),
                channel: "C1".into(),
                delivered_at: SystemTime::now(),
                card: None,
                transition: None,
            }])
            .unwrap();
        assert_eq!(
            store.delivery_state("m1", "C1").unwrap(),
            DeliveryState::Delivered
        );
        let rows: i64 = store
            .with(|c| {
                c.query_row(
                    "SELECT (SELECT COUNT(*) FROM delivery_claims) + (SELECT COUNT(*) FROM delivery_posts)",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(rows, 0, "committing ends the claim");
    }

    #[test]
    fn deliveries_are_per_channel_and_unwatched_alarms_are_listed_once_watched_or_nudged() {
        let store = SqliteStore::in_memory().unwrap();
        let delivery = DeliveryCommit {
            message_id: "m1".into(),
            channel: "C1".into(),
            delivered_at: SystemTime::now(),
            card: None,
            transition: None,
        };
        store.commit_deliveries(&[delivery]).unwrap();
        assert!(store.was_delivered("m1", "C1").unwrap());
        assert!(!store.was_delivered("m1", "C2").unwrap());
        store.save_card(&card("a")).unwrap();
        let mut watched = card("b");
        watched.watchers = vec!["U1".into()];
        store.save_card(&watched).unwrap();
        let due = store
            .unwatched_alarms(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            due.iter().map(|c| c.alarm_key.as_str()).collect::<Vec<_>>(),
            vec!["a"]
        );
    }

    #[test]
    fn cards_in_a_state_are_listed_oldest_episode_first_digest_lines_included() {
        let store = SqliteStore::in_memory().unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let mut newer = card("newer");
        newer.episode_started = Some(hour_ago + Duration::from_secs(60));
        newer.in_digest = true;
        let mut older = card("older");
        older.episode_started = Some(hour_ago);
        older.channel = "C2".into();
        let mut resolved = card("resolved");
        resolved.state = "OK".into();
        for c in [&newer, &resolved, &older] {
            store.save_card(c).unwrap();
        }
        let keys = |state: &str| -> Vec<String> {
            let cards = store.cards_in_state(state).unwrap();
            cards.into_iter().map(|c| c.alarm_key).collect()
        };
        assert_eq!(keys("ALARM"), ["older", "newer"]);
        assert_eq!(keys("OK"), ["resolved"]);
        assert!(keys("INSUFFICIENT_DATA").is_empty());
        let plan: String = store
            .with(|c| {
                c.query_row(
                    "EXPLAIN QUERY PLAN SELECT alarm_key FROM alarm_cards WHERE state = 'ALARM' \
                     ORDER BY episode_started, alarm_key, channel",
                    [],
                    |r| r.get(3),
                )
            })
            .unwrap();
        assert!(plan.contains("alarm_cards_by_state"), "{plan}");
    }
}

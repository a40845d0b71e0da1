//! `DigestStore` on SQLite: the `storm_digests` table (migration 3).

use std::time::SystemTime;

use anyhow::Context;
use rusqlite::{params, OptionalExtension, Row};

use super::cards::{from_millis, to_millis};
use super::digests::{DigestRecord, DigestStore};
use super::SqliteStore;

const DIGEST_COLUMNS: &str = "channel, ts, opened_at, last_added, closed, lines";

/// A row, with its lines still as JSON (decoded outside the connection lock).
type RawDigest = (DigestRecord, String);

fn digest_from_row(row: &Row<'_>) -> rusqlite::Result<RawDigest> {
    Ok((
        DigestRecord {
            channel: row.get(0)?,
            ts: row.get(1)?,
            opened_at: from_millis(row.get(2)?),
            last_added: from_millis(row.get(3)?),
            closed: row.get(4)?,
            lines: Vec::new(),
        },
        row.get(5)?,
    ))
}

fn decode((mut digest, lines): RawDigest) -> anyhow::Result<DigestRecord> {
    digest.lines = serde_json::from_str(&lines).with_context(|| {
        format!(
            "Digest {} in {} has unreadable lines",
            digest.ts, digest.channel
        )
    })?;
    Ok(digest)
}

impl DigestStore for SqliteStore {
    fn latest_digest(&self, channel: &str) -> anyhow::Result<Option<DigestRecord>> {
        let sql = format!(
            "SELECT {DIGEST_COLUMNS} FROM storm_digests WHERE channel = ?1 \
             ORDER BY last_added DESC LIMIT 1"
        );
        self.with(|c| {
            c.prepare_cached(&sql)?
                .query_row([channel], digest_from_row)
                .optional()
        })
        .context("Failed to read the latest storm digest")?
        .map(decode)
        .transpose()
    }

    fn digest(&self, channel: &str, ts: &str) -> anyhow::Result<Option<DigestRecord>> {
        let sql =
            format!("SELECT {DIGEST_COLUMNS} FROM storm_digests WHERE channel = ?1 AND ts = ?2");
        self.with(|c| {
            c.prepare_cached(&sql)?
                .query_row([channel, ts], digest_from_row)
                .optional()
        })
        .context("Failed to read a storm digest")?
        .map(decode)
        .transpose()
    }

    fn save_digest(&self, digest: &DigestRecord) -> anyhow::Result<()> {
        anyhow::ensure!(
            !digest.ts.is_empty(),
            "a digest is saved only once it was posted"
        );
        let lines = serde_json::to_string(&digest.lines)?;
        let sql = format!(
            "INSERT OR REPLACE INTO storm_digests ({DIGEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        );
        self.with(|c| {
            c.prepare_cached(&sql)?.execute(params![
                digest.channel,
                digest.ts,
                to_millis(digest.opened_at),
                to_millis(digest.last_added),
                digest.closed,
                lines,
            ])
        })
        .context("Failed to save a storm digest")?;
        Ok(())
    }

    fn quiet_open_digests(&self, cutoff: SystemTime) -> anyhow::Result<Vec<DigestRecord>> {
        let sql = format!(
            "SELECT {DIGEST_COLUMNS} FROM storm_digests WHERE closed = 0 AND last_added < ?1"
        );
        let raw: Vec<RawDigest> = self
            .with(|c| {
                c.prepare_cached(&sql)?
                    .query_map([to_millis(cutoff)], digest_from_row)?
                    .collect()
            })
            .context("Failed to list quiet storm digests")?;
        raw.into_iter().map(decode).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::digests::DigestEntry;

    fn entry(key: &str, state: &str) -> DigestEntry {
        DigestEntry {
            key: key.into(),
            name: format!("{key}-name"),
            state: state.into(),
            at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            kind: "alarm".into(),
        }
    }

    #[test]
    fn digests_round_trip_and_the_latest_and_quiet_ones_are_found() {
        let store = SqliteStore::in_memory().unwrap();
        // Whole milliseconds, as the store keeps them.
        let now = from_millis(to_millis(SystemTime::now()));
        let mut old = DigestRecord {
            channel: "C1".into(),
            ts: "1.1".into(),
            opened_at: now - Duration::from_secs(600),
            last_added: now - Duration::from_secs(500),
            closed: false,
            lines: vec![entry("a", "ALARM")],
        };
        store.save_digest(&old).unwrap();
        let mut new = old.clone();
        new.ts = "2.2".into();
        new.last_added = now;
        assert!(new.upsert(entry("b", "ALARM")));
        assert!(!new.upsert(entry("a", "OK")), "same key replaces its line");
        store.save_digest(&new).unwrap();

        assert_eq!(store.latest_digest("C1").unwrap(), Some(new.clone()));
        assert_eq!(store.digest("C1", "1.1").unwrap(), Some(old.clone()));
        assert_eq!(store.latest_digest("C2").unwrap(), None);
        let quiet = store
            .quiet_open_digests(now - Duration::from_secs(60))
            .unwrap();
        assert_eq!(quiet, vec![old.clone()]);
        old.closed = true;
        store.save_digest(&old).unwrap();
        assert!(store
            .quiet_open_digests(now - Duration::from_secs(60))
            .unwrap()
            .is_empty());
        assert_eq!(
            new.lines
                .iter()
                .map(|l| (l.key.as_str(), l.state.as_str()))
                .collect::<Vec<_>>(),
            vec![("a", "OK"), ("b", "ALARM")]
        );
    }

    #[test]
    fn an_unposted_digest_is_not_saved() {
        let store = SqliteStore::in_memory().unwrap();
        let now = SystemTime::now();
        let digest = DigestRecord {
            channel: "C1".into(),
            ts: String::new(),
            opened_at: now,
            last_added: now,
            closed: false,
            lines: vec![],
        };
        assert!(store.save_digest(&digest).is_err());
    }
}

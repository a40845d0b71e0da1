//! `DigestStore` on SQLite: `storm_digests` (migration 3) with one row per line in
//! `storm_digest_lines` and counts by state in `storm_digest_counts` (migration 4).

use std::time::SystemTime;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::cards::{from_millis, to_millis};
use super::digests::{DigestEntry, DigestRecord, DigestStore, DigestSummary};
use super::SqliteStore;

const DIGEST_COLUMNS: &str = "channel, ts, opened_at, last_added, closed, line_count";
const LINE_COLUMNS: &str = "key, name, state, at, kind";

fn digest_from_row(row: &Row<'_>) -> rusqlite::Result<DigestRecord> {
    Ok(DigestRecord {
        channel: row.get(0)?,
        ts: row.get(1)?,
        opened_at: from_millis(row.get(2)?),
        last_added: from_millis(row.get(3)?),
        closed: row.get(4)?,
        line_count: row.get::<_, i64>(5)?.max(0) as usize,
    })
}

fn line_from_row(row: &Row<'_>) -> rusqlite::Result<DigestEntry> {
    Ok(DigestEntry {
        key: row.get(0)?,
        name: row.get(1)?,
        state: row.get(2)?,
        at: row.get::<_, Option<i64>>(3)?.map(from_millis),
        kind: row.get(4)?,
    })
}

fn read_digest(c: &Connection, channel: &str, ts: &str) -> rusqlite::Result<Option<DigestRecord>> {
    let sql = format!("SELECT {DIGEST_COLUMNS} FROM storm_digests WHERE channel = ?1 AND ts = ?2");
    c.prepare_cached(&sql)?
        .query_row([channel, ts], digest_from_row)
        .optional()
}

/// Move one line of `state` into (`delta` 1) or out of (`delta` -1) the digest's counts.
fn count_line(
    c: &Connection,
    digest: &DigestRecord,
    state: &str,
    delta: i64,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO storm_digest_counts (channel, ts, state, lines) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (channel, ts, state) DO UPDATE SET lines = lines + excluded.lines",
    )?
    .execute(params![digest.channel, digest.ts, state, delta])?;
    if delta < 0 {
        c.prepare_cached(
            "DELETE FROM storm_digest_counts WHERE channel = ?1 AND ts = ?2 AND state = ?3 AND lines <= 0",
        )?
        .execute(params![digest.channel, digest.ts, state])?;
    }
    Ok(())
}

/// Add or replace one line; returns true if it was new. Touches the line and at most two counts.
fn upsert_line(
    c: &Connection,
    digest: &DigestRecord,
    seq: usize,
    line: &DigestEntry,
) -> rusqlite::Result<bool> {
    let before: Option<String> = c
        .prepare_cached(
            "SELECT state FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 AND key = ?3",
        )?
        .query_row([&digest.channel, &digest.ts, &line.key], |r| r.get(0))
        .optional()?;
    let at = line.at.map(to_millis);
    match before {
        Some(before) => {
            c.prepare_cached(
                "UPDATE storm_digest_lines SET name = ?4, state = ?5, at = ?6, kind = ?7 \
                 WHERE channel = ?1 AND ts = ?2 AND key = ?3",
            )?
            .execute(params![
                digest.channel,
                digest.ts,
                line.key,
                line.name,
                line.state,
                at,
                line.kind
            ])?;
            if before != line.state {
                count_line(c, digest, &before, -1)?;
                count_line(c, digest, &line.state, 1)?;
            }
            Ok(false)
        }
        None => {
            c.prepare_cached(
                "INSERT INTO storm_digest_lines (channel, ts, key, seq, name, state, at, kind) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                digest.channel,
                digest.ts,
                line.key,
                seq as i64,
                line.name,
                line.state,
                at,
                line.kind
            ])?;
            count_line(c, digest, &line.state, 1)?;
            Ok(true)
        }
    }
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
        .context("Failed to read the latest storm digest")
    }

    fn digest(&self, channel: &str, ts: &str) -> anyhow::Result<Option<DigestRecord>> {
        self.with(|c| read_digest(c, channel, ts))
            .context("Failed to read a storm digest")
    }

    fn add_digest_lines(&self, digest: &DigestRecord, lines: &[DigestEntry]) -> anyhow::Result<()> {
        anyhow::ensure!(
            !digest.ts.is_empty(),
            "a digest is saved only once it was posted"
        );
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let stored = read_digest(&tx, &digest.channel, &digest.ts)?;
            let mut line_count = stored.map_or(0, |d| d.line_count);
            for line in lines {
                if upsert_line(&tx, digest, line_count, line)? {
                    line_count += 1;
                }
            }
            let sql = format!(
                "INSERT INTO storm_digests ({DIGEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, 0, ?5) \
                 ON CONFLICT (channel, ts) DO UPDATE SET \
                 last_added = max(last_added, excluded.last_added), line_count = excluded.line_count"
            );
            tx.prepare_cached(&sql)?.execute(params![
                digest.channel,
                digest.ts,
                to_millis(digest.opened_at),
                to_millis(digest.last_added),
                line_count as i64,
            ])?;
            tx.commit()
        })
        .with_context(|| format!("Failed to add {} lines to a storm digest", lines.len()))
    }

    fn digest_summary(
        &self,
        channel: &str,
        ts: &str,
        shown: usize,
    ) -> anyhow::Result<Option<DigestSummary>> {
        self.read(|c| {
            let Some(record) = read_digest(c, channel, ts)? else {
                return Ok(None);
            };
            let counts = c
                .prepare_cached(
                    "SELECT state, lines FROM storm_digest_counts WHERE channel = ?1 AND ts = ?2",
                )?
                .query_map([channel, ts], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as usize))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let sql = format!(
                "SELECT {LINE_COLUMNS} FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 \
                 ORDER BY seq LIMIT ?3"
            );
            let first_lines = c
                .prepare_cached(&sql)?
                .query_map(params![channel, ts, shown as i64], line_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Some(DigestSummary {
                record,
                counts,
                first_lines,
            }))
        })
        .context("Failed to read a storm digest's summary")
    }

    fn digest_lines(&self, channel: &str, ts: &str) -> anyhow::Result<Vec<DigestEntry>> {
        let sql = format!(
            "SELECT {LINE_COLUMNS} FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 ORDER BY seq"
        );
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_map([channel, ts], line_from_row)?
                .collect()
        })
        .context("Failed to read a storm digest's lines")
    }

    fn close_digest(&self, channel: &str, ts: &str) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE storm_digests SET closed = 1 WHERE channel = ?1 AND ts = ?2")?
                .execute([channel, ts])
        })
        .context("Failed to close a storm digest")?;
        Ok(())
    }

    fn quiet_open_digests(&self, cutoff: SystemTime) -> anyhow::Result<Vec<DigestRecord>> {
        let sql = format!(
            "SELECT {DIGEST_COLUMNS} FROM storm_digests WHERE closed = 0 AND last_added < ?1"
        );
        self.with(|c| {
            c.prepare_cached(&sql)?
                .query_map([to_millis(cutoff)], digest_from_row)?
                .collect()
        })
        .context("Failed to list quiet storm digests")
    }
}

#[cfg(test)]
#[path = "sqlite_digests_tests.rs"]
mod tests;

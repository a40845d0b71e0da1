//! `LatencySketches` on SQLite: one row per (kind, minute) flush, indexed by minute.

use anyhow::Context;
use rusqlite::params;

use super::latencies::{LatencySketches, StoredSketch};
use super::SqliteStore;

impl LatencySketches for SqliteStore {
    fn save_sketches(&self, sketches: &[StoredSketch]) -> anyhow::Result<()> {
        if sketches.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO latency_sketches (kind, minute, sketch) VALUES (?1, ?2, ?3)",
                )?;
                for s in sketches {
                    insert.execute(params![s.kind, s.minute, s.sketch])?;
                }
            }
            tx.commit()
        })
        .context("Failed to save latency sketches")
    }

    fn sketches_since(&self, since: i64) -> anyhow::Result<Vec<StoredSketch>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT kind, minute, sketch FROM latency_sketches WHERE minute >= ?1 \
                 ORDER BY minute",
            )?
            .query_map(params![since], |r| {
                Ok(StoredSketch {
                    kind: r.get(0)?,
                    minute: r.get(1)?,
                    sketch: r.get(2)?,
                })
            })?
            .collect()
        })
        .context("Failed to read latency sketches")
    }

    fn forget_sketches_before(&self, before: i64, batch: usize) -> anyhow::Result<usize> {
        self.with(|c| {
            c.prepare_cached(
                "DELETE FROM latency_sketches WHERE id IN \
                 (SELECT id FROM latency_sketches WHERE minute < ?1 LIMIT ?2)",
            )?
            .execute(params![before, batch as i64])
        })
        .context("Failed to prune old latency sketches")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch(kind: &str, minute: i64, byte: u8) -> StoredSketch {
        StoredSketch {
            kind: kind.into(),
            minute,
            sketch: vec![byte; 3],
        }
    }

    #[test]
    fn sketches_are_kept_read_since_a_minute_and_pruned_in_batches() {
        let store = SqliteStore::in_memory().unwrap();
        let saved = [
            sketch("socket_ack", 10, 1),
            sketch("socket_ack", 11, 2),
            sketch("socket_ack", 11, 3),
            sketch("agent_answer", 12, 4),
        ];
        store.save_sketches(&saved).unwrap();
        assert_eq!(store.sketches_since(11).unwrap(), saved[1..]);
        assert_eq!(store.forget_sketches_before(12, 2).unwrap(), 2);
        assert_eq!(store.forget_sketches_before(12, 2).unwrap(), 1);
        assert_eq!(store.sketches_since(0).unwrap(), saved[3..]);
    }
}

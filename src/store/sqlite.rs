//! `Store` on an embedded SQLite file (WAL mode), shared behind a mutex.

use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

use super::{migrations, Store};

/// A backstop only: WAL pages after which the store's own connection checkpoints (about 64 MB),
/// should the checkpoint thread fall behind.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_000;
/// How often the checkpoint thread copies the WAL into the database: often, so each checkpoint
/// (and its fsync) stays small.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The default store. Calls are short (tens of µs), so they run inline under a mutex. WAL
/// checkpoints (which fsync) run on a `store-checkpoint` thread with its own connection, so they
/// never hold that mutex. The alarm pipeline's per-message lookups run on a second, read-only
/// connection (`read`), so they never wait behind a group commit (WAL lets both proceed).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// A read-only connection for hot lookups; `None` for an in-memory store (private to `conn`).
    reader: Option<Mutex<Connection>>,
    /// Dropping it stops the checkpoint thread.
    _checkpoints: Option<mpsc::Sender<()>>,
}

/// Checkpoint `path`'s WAL every `CHECKPOINT_EVERY` from a connection of its own (PASSIVE: never
/// waits for the store's connection), until the returned sender is dropped.
fn spawn_checkpoints(path: &Path) -> anyhow::Result<mpsc::Sender<()>> {
    let conn = Connection::open(path)
        .with_context(|| format!("Failed to open {} for checkpoints", path.display()))?;
    conn.busy_timeout(Duration::from_millis(100))?;
    // A checkpoint streams pages from the WAL to the file; it needs no page cache of its own.
    conn.pragma_update(None, "cache_size", -256)?;
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                let done =
                    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
                if let Err(e) = done {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries.");
                }
            }
        })
        .context("Failed to start the checkpoint thread")?;
    Ok(stop)
}

/// The read-only connection behind `SqliteStore::read`, opened after the migrations ran.
fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("Failed to open {} for reading", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and migrate it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("Failed to create {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("Failed to open the store at {}", path.display()))?;
        let mut store = Self::init(conn)
            .with_context(|| format!("Failed to prepare the store at {}", path.display()))?;
        store._checkpoints = Some(spawn_checkpoints(path)?);
        store.reader = Some(Mutex::new(open_reader(path)?));
        Ok(store)
    }

    /// A private in-memory store, for tests and `render`-style tools.
    pub fn in_memory() -> anyhow::Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> anyhow::Result<Self> {
        // WAL lets readers proceed during writes; NORMAL sync is durable across crashes of the process.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" && mode != "memory" {
            anyhow::bail!("SQLite refused WAL mode (got {mode})");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // SQLite's default checkpoints every 4 MB of WAL on the committing thread, under the store
        // mutex, which stalled the store in alarm bursts (docs/benchmarks.md).
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        migrations::apply(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            reader: None,
            _checkpoints: None,
        })
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        super::blocking::assert_may_block();
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn)
    }

    /// Run a read on the reader connection (or the only one, in memory). It sees every commit
    /// that finished before it started.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let Some(reader) = &self.reader else {
            return self.with(f);
        };
        super::blocking::assert_may_block();
        let conn = reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn)
    }

    /// The schema version on disk (for `check` and tests).
    pub fn schema_version(&self) -> anyhow::Result<usize> {
        Ok(self.with(|c| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))? as usize)
    }

    /// When `event_id` was first seen, if it was.
    pub fn event_seen_at(&self, event_id: &str) -> anyhow::Result<Option<i64>> {
        Ok(self.with(|c| {
            c.query_row(
                "SELECT seen_at FROM seen_events WHERE event_id = ?1",
                [event_id],
                |r| r.get(0),
            )
            .optional()
        })?)
    }
}

impl Store for SqliteStore {
    fn record_event(&self, event_id: &str, now: SystemTime) -> anyhow::Result<bool> {
        let inserted = self
            .with(|c| {
                c.prepare_cached(
                    "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?1, ?2)",
                )?
                .execute(params![event_id, unix_millis(now)])
            })
            .context("Failed to record an event id")?;
        Ok(inserted == 1)
    }

    fn record_events(&self, event_ids: &[&str], now: SystemTime) -> anyhow::Result<Vec<bool>> {
        let at = unix_millis(now);
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let firsts = {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?1, ?2)",
                )?;
                event_ids
                    .iter()
                    .map(|id| insert.execute(params![id, at]).map(|n| n == 1))
                    .collect::<rusqlite::Result<Vec<bool>>>()?
            };
            tx.commit()?;
            Ok(firsts)
        })
        .context("Failed to record a batch of event ids")
    }

    fn forget_events_before(&self, cutoff: SystemTime) -> anyhow::Result<usize> {
        self.with(|c| {
            c.execute(
                "DELETE FROM seen_events WHERE seen_at < ?1",
                [unix_millis(cutoff)],
            )
        })
        .context("Failed to prune event ids")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_checkpoint_thread_moves_committed_pages_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.db");
        let store = SqliteStore::open(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let ids: Vec<String> = (0..2_000).map(|i| format!("Ev{i:06}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        store.record_events(&ids, SystemTime::now()).unwrap();
        // Far below the 64 MB backstop, so only the checkpoint thread can grow the file.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&path).unwrap().len() <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint within 5 s ({before} bytes)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(store.event_seen_at("Ev001999").unwrap().is_some());
    }

    #[test]
    fn records_each_event_once_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/bot.db");
        let now = SystemTime::now();
        {
            let store = SqliteStore::open(&path).unwrap();
            assert!(store.record_event("Ev1", now).unwrap());
            assert!(!store.record_event("Ev1", now).unwrap());
            assert_eq!(
                store.schema_version().unwrap(),
                migrations::latest_version()
            );
        }
        let store = SqliteStore::open(&path).unwrap();
        assert!(
            !store.record_event("Ev1", now).unwrap(),
            "a restart must remember handled events"
        );
        assert!(store.record_event("Ev2", now).unwrap());
    }

    #[test]
    fn prunes_only_old_ids() {
        let store = SqliteStore::in_memory().unwrap();
        let now = SystemTime::now();
        store
            .record_event("old", now - Duration::from_secs(7200))
            .unwrap();
        store.record_event("new", now).unwrap();
        assert_eq!(
            store
                .forget_events_before(now - Duration::from_secs(3600))
                .unwrap(),
            1
        );
        assert!(store.event_seen_at("old").unwrap().is_none());
        assert!(store.event_seen_at("new").unwrap().is_some());
    }
}

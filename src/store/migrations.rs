//! Schema migrations, applied in order and tracked with SQLite's `user_version`.

use anyhow::Context;
use rusqlite::Connection;

/// Each entry upgrades the schema by one version. Never edit a shipped entry; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: Events API ids already handled, for deduplication across connections and restarts.
    "CREATE TABLE seen_events (
        event_id TEXT PRIMARY KEY NOT NULL,
        seen_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX seen_events_by_time ON seen_events (seen_at);",
];

/// Bring the database to the latest schema; refuses a database newer than this binary.
pub fn apply(conn: &mut Connection) -> anyhow::Result<()> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
        .context("Failed to read the schema version")? as usize;
    anyhow::ensure!(
        current <= MIGRATIONS.len(),
        "the database has schema version {current}, newer than this binary knows ({}); upgrade chatops-bot",
        MIGRATIONS.len()
    );
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("Failed to apply migration {version}"))?;
        tx.pragma_update(None, "user_version", version as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
pub fn latest_version() -> usize {
    MIGRATIONS.len()
}

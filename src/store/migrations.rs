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
    // 2: the alarm pipeline: which SQS messages reached which channel, and one row per alarm card.
    "CREATE TABLE delivered_notifications (
        message_id   TEXT NOT NULL,
        channel      TEXT NOT NULL,
        delivered_at INTEGER NOT NULL,
        PRIMARY KEY (message_id, channel)
    ) WITHOUT ROWID;
    CREATE INDEX delivered_notifications_by_time ON delivered_notifications (delivered_at);
    CREATE TABLE alarm_cards (
        alarm_key       TEXT NOT NULL,
        channel         TEXT NOT NULL,
        root_ts         TEXT NOT NULL,
        state           TEXT NOT NULL,
        last_change     INTEGER NOT NULL,
        episode_started INTEGER,
        resolved_at     INTEGER,
        reopen_count    INTEGER NOT NULL DEFAULT 0,
        watchers        TEXT NOT NULL DEFAULT '[]',
        nudged          INTEGER NOT NULL DEFAULT 0,
        last_body       TEXT NOT NULL,
        last_attributes TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (alarm_key, channel)
    );
    CREATE INDEX alarm_cards_by_root ON alarm_cards (channel, root_ts);
    CREATE TABLE alarm_history (
        alarm_key  TEXT NOT NULL,
        channel    TEXT NOT NULL,
        at         INTEGER NOT NULL,
        from_state TEXT,
        to_state   TEXT NOT NULL,
        reason     TEXT NOT NULL
    );
    CREATE INDEX alarm_history_by_key ON alarm_history (alarm_key, channel, at);",
    // 3: storm digests: one message per storm and channel; folded cards point at it.
    "ALTER TABLE alarm_cards ADD COLUMN in_digest INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE storm_digests (
        channel    TEXT NOT NULL,
        ts         TEXT NOT NULL,
        opened_at  INTEGER NOT NULL,
        last_added INTEGER NOT NULL,
        closed     INTEGER NOT NULL DEFAULT 0,
        lines      TEXT NOT NULL,
        PRIMARY KEY (channel, ts)
    ) WITHOUT ROWID;
    CREATE INDEX storm_digests_by_channel ON storm_digests (channel, last_added);",
    // 4: deliveries in progress: the claim of a (message, channel) made before its first post, and
    // each post it made, so a redelivery completes only what is missing and never posts blind.
    "CREATE TABLE delivery_claims (
        message_id TEXT NOT NULL,
        channel    TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        PRIMARY KEY (message_id, channel)
    ) WITHOUT ROWID;
    CREATE INDEX delivery_claims_by_time ON delivery_claims (claimed_at);
    CREATE TABLE delivery_posts (
        message_id TEXT NOT NULL,
        channel    TEXT NOT NULL,
        part       TEXT NOT NULL,
        ts         TEXT NOT NULL,
        PRIMARY KEY (message_id, channel, part)
    ) WITHOUT ROWID;",
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

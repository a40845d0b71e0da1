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
    // 5: a digest's lines in their own rows, with counts by state kept as lines come and go, so
    // adding a line costs the same however long the storm; the JSON list moves into them.
    "CREATE TABLE storm_digest_lines (
        channel TEXT NOT NULL,
        ts      TEXT NOT NULL,
        key     TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        name    TEXT NOT NULL,
        state   TEXT NOT NULL,
        at      INTEGER,
        kind    TEXT NOT NULL,
        PRIMARY KEY (channel, ts, key)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX storm_digest_lines_in_order ON storm_digest_lines (channel, ts, seq);
    CREATE TABLE storm_digest_counts (
        channel TEXT NOT NULL,
        ts      TEXT NOT NULL,
        state   TEXT NOT NULL,
        lines   INTEGER NOT NULL,
        PRIMARY KEY (channel, ts, state)
    ) WITHOUT ROWID;
    ALTER TABLE storm_digests ADD COLUMN line_count INTEGER NOT NULL DEFAULT 0;
    INSERT OR REPLACE INTO storm_digest_lines (channel, ts, key, seq, name, state, at, kind)
        SELECT d.channel, d.ts, json_extract(l.value, '$.key'), l.key,
               json_extract(l.value, '$.name'), json_extract(l.value, '$.state'),
               json_extract(l.value, '$.at.secs_since_epoch') * 1000
                   + json_extract(l.value, '$.at.nanos_since_epoch') / 1000000,
               json_extract(l.value, '$.kind')
        FROM storm_digests d, json_each(d.lines) l;
    INSERT INTO storm_digest_counts (channel, ts, state, lines)
        SELECT channel, ts, state, COUNT(*) FROM storm_digest_lines GROUP BY channel, ts, state;
    UPDATE storm_digests SET line_count = (
        SELECT COUNT(*) FROM storm_digest_lines l
        WHERE l.channel = storm_digests.channel AND l.ts = storm_digests.ts);
    ALTER TABLE storm_digests DROP COLUMN lines;",
    // 6: an index for every periodic query: the nudge (`unwatched_alarms`), the storm closer
    // (`quiet_open_digests`) and retention (resolved cards, old history, closed digests).
    "CREATE INDEX alarm_cards_by_state_and_start ON alarm_cards (state, episode_started);
    CREATE INDEX alarm_cards_by_state_and_resolution ON alarm_cards (state, resolved_at);
    CREATE INDEX storm_digests_by_closing ON storm_digests (closed, last_added);
    CREATE INDEX alarm_history_by_time ON alarm_history (at);",
    // 7: every question to the agent and how it ended (issue #9), by thread; by time for the
    // hourly limits after a restart and for retention.
    "CREATE TABLE agent_answers (
        id          INTEGER PRIMARY KEY,
        channel     TEXT NOT NULL,
        thread_ts   TEXT NOT NULL,
        user_id     TEXT NOT NULL,
        question    TEXT NOT NULL,
        answer      TEXT NOT NULL,
        session_id  TEXT NOT NULL,
        alarm_key   TEXT,
        asked_at    INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        error       TEXT
    );
    CREATE INDEX agent_answers_by_thread ON agent_answers (channel, thread_ts, asked_at);
    CREATE INDEX agent_answers_by_time ON agent_answers (asked_at);",
    // 8: claims live only while a delivery is in progress (its commit deletes them), so the table
    // holds at most the messages in flight plus a crash's leftovers, and pruning those scans it
    // whole cheaply; the index cost two b-tree writes per delivery on the hot path.
    "DROP INDEX delivery_claims_by_time;",
    // 9: the Confluence page of each reported thread (issue #10), so a later report updates it;
    // and the titles a thread's report tried to create, so a create whose answer was lost is
    // recognised as this thread's page rather than a clash.
    "CREATE TABLE report_pages (
        channel    TEXT NOT NULL,
        thread_ts  TEXT NOT NULL,
        page_id    TEXT NOT NULL UNIQUE,
        title      TEXT NOT NULL,
        url        TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        synced_at  INTEGER NOT NULL,
        PRIMARY KEY (channel, thread_ts)
    );
    CREATE TABLE report_attempts (
        channel    TEXT NOT NULL,
        thread_ts  TEXT NOT NULL,
        title      TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        PRIMARY KEY (channel, thread_ts, title)
    );
    ALTER TABLE alarm_cards ADD COLUMN report_url TEXT;",
    // 10: deploy requests (issue #11), their approvals (one row per person) and the audit trail.
    // The partial unique index is the lock: at most one active request per environment.
    "CREATE TABLE deploy_requests (
        request_id       TEXT PRIMARY KEY NOT NULL,
        environment      TEXT NOT NULL,
        action           TEXT NOT NULL,
        version          TEXT NOT NULL,
        deployed_version TEXT,
        requested_by     TEXT NOT NULL,
        channel          TEXT NOT NULL,
        thread_ts        TEXT,
        approval_ts      TEXT,
        approvals_needed INTEGER NOT NULL,
        state            TEXT NOT NULL,
        run_id           INTEGER,
        run_url          TEXT,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        decided_by       TEXT,
        decided_at       INTEGER
    );
    CREATE UNIQUE INDEX deploy_requests_one_active_per_environment ON deploy_requests (environment)
        WHERE state IN ('PendingApproval', 'Approved', 'Dispatched', 'Running');
    CREATE INDEX deploy_requests_by_thread ON deploy_requests (channel, thread_ts);
    CREATE INDEX deploy_requests_by_approval_card ON deploy_requests (channel, approval_ts);
    CREATE INDEX deploy_requests_by_expiry ON deploy_requests (state, expires_at);
    CREATE INDEX deploy_requests_by_update ON deploy_requests (state, updated_at);
    CREATE INDEX deploy_requests_by_environment ON deploy_requests (environment, state, updated_at);
    CREATE TABLE deploy_approvals (
        request_id TEXT NOT NULL REFERENCES deploy_requests (request_id) ON DELETE CASCADE,
        user_id    TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (request_id, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE deploy_audit (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        request_id  TEXT,
        environment TEXT NOT NULL,
        actor       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        detail      TEXT NOT NULL,
        result      TEXT NOT NULL
    );
    CREATE INDEX deploy_audit_by_time ON deploy_audit (at);",
    // 11: latency sketches for `@bot stats`: one HdrHistogram (V2 bytes) per kind and minute
    // flushed, merged on read; kept a day and a margin.
    "CREATE TABLE latency_sketches (
        id     INTEGER PRIMARY KEY,
        kind   TEXT NOT NULL,
        minute INTEGER NOT NULL,
        sketch BLOB NOT NULL
    );
    CREATE INDEX latency_sketches_by_minute ON latency_sketches (minute);",
    // The audit trail of AWS CLI runs (`@bot aws …`, custom actions): every run and refusal.
    // (Self-contained: it creates its own table and index only, whatever its number.)
    "CREATE TABLE IF NOT EXISTS aws_runs (
        id             INTEGER PRIMARY KEY,
        at             INTEGER NOT NULL,
        user_id        TEXT NOT NULL,
        channel        TEXT NOT NULL,
        argv           TEXT NOT NULL,
        region         TEXT,
        action         TEXT,
        status         TEXT NOT NULL,
        exit_code      INTEGER,
        duration_ms    INTEGER,
        kind           TEXT,
        refused_reason TEXT
    );
    CREATE INDEX IF NOT EXISTS aws_runs_by_time ON aws_runs (at);",
    // Custom actions ([[actions]]): each request with its exact argv, its approvals one row per
    // person; state changes compare-and-set, so a request runs at most once across restarts.
    "CREATE TABLE IF NOT EXISTS action_requests (
        request_id       TEXT PRIMARY KEY NOT NULL,
        action           TEXT NOT NULL,
        args             TEXT NOT NULL,
        region           TEXT NOT NULL,
        requested_by     TEXT NOT NULL,
        channel          TEXT NOT NULL,
        thread_ts        TEXT NOT NULL,
        card_ts          TEXT,
        approvals_needed INTEGER NOT NULL,
        state            TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        decided_by       TEXT,
        exit_code        INTEGER
    );
    CREATE INDEX IF NOT EXISTS action_requests_by_card ON action_requests (channel, card_ts);
    CREATE INDEX IF NOT EXISTS action_requests_by_state ON action_requests (state, expires_at);
    CREATE TABLE IF NOT EXISTS action_approvals (
        request_id TEXT NOT NULL REFERENCES action_requests (request_id) ON DELETE CASCADE,
        user_id    TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (request_id, user_id)
    );",
    // The `model` backend's conversations: one row per answered turn (the user's input and
    // the model's answer) by session, read newest first within a budget; pruned with the
    // agent answers. (IF NOT EXISTS: the migration does not care about its number.)
    "CREATE TABLE IF NOT EXISTS model_turns (
        id         INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        question   TEXT NOT NULL,
        answer     TEXT NOT NULL,
        at         INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS model_turns_by_session ON model_turns (session_id, id);
    CREATE INDEX IF NOT EXISTS model_turns_by_time ON model_turns (at);",
    // Metric graphs on alarm cards: the Slack file id of the card's graph and the state change
    // (`last_change`, ms) it was drawn for; a card shows it only while that state is current.
    "ALTER TABLE alarm_cards ADD COLUMN graph_file_id TEXT;
    ALTER TABLE alarm_cards ADD COLUMN graph_for_change INTEGER;",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 4 moves the JSON lines of a version-3 digest into rows, counts and a line count.
    #[test]
    fn digest_lines_move_out_of_json_into_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (index, sql) in MIGRATIONS[..3].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", index as i64 + 1)
                .unwrap();
        }
        let lines = r#"[{"key":"a","name":"disk","state":"ALARM","at":{"secs_since_epoch":1700000000,"nanos_since_epoch":250000000},"kind":"alarm"},
            {"key":"b","name":"cpu","state":"OK","at":null,"kind":"alarm"},
            {"key":"c","name":"mem","state":"ALARM","at":null,"kind":"pipeline"}]"#;
        conn.execute(
            "INSERT INTO storm_digests (channel, ts, opened_at, last_added, closed, lines) \
             VALUES ('C1', '1.1', 1, 2, 0, ?1)",
            [lines],
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let rows: Vec<(String, i64, Option<i64>, String)> = conn
            .prepare("SELECT key, seq, at, kind FROM storm_digest_lines ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("a".into(), 0, Some(1_700_000_000_250), "alarm".into()),
                ("b".into(), 1, None, "alarm".into()),
                ("c".into(), 2, None, "pipeline".into()),
            ]
        );
        let line_count: i64 = conn
            .query_row("SELECT line_count FROM storm_digests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(line_count, 3);
        let alarms: i64 = conn
            .query_row(
                "SELECT lines FROM storm_digest_counts WHERE state = 'ALARM'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(alarms, 2);
    }
}

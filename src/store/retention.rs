//! Retention: resolved alarm cards with their history, old history, closed storm digests with their lines, and old agent answers
//! (deploy state: `retention_deploys`; latency sketches after a day: `prune_sketches`),
//! pruned in small batches (one short transaction each) by a periodic task off the hot path.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use rusqlite::{params, Connection};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::cards::to_millis;
use super::latencies::LatencySketches;
use super::{Blocking, SqliteStore};

/// Rows deleted per transaction: small, so the pipeline's commits never wait long behind one.
pub const PRUNE_BATCH: usize = 500;
/// How often the retention task runs.
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);
/// Batches per run at most (a backlog is worked off over several runs).
const MAX_BATCHES_PER_RUN: usize = 2_000;
/// A pause between batches, so other store users get the connection in between.
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(5);

/// What pruning removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub cards: usize,
    pub transitions: usize,
    pub digests: usize,
    /// Digest lines and counts by state.
    pub digest_rows: usize,
    /// Questions to the agent, with their answers (and the `model` backend's turns).
    pub answers: usize,
}

impl Pruned {
    pub fn rows(&self) -> usize {
        self.cards + self.transitions + self.digests + self.digest_rows + self.answers
    }

    fn add(&mut self, other: Pruned) {
        self.cards += other.cards;
        self.transitions += other.transitions;
        self.digests += other.digests;
        self.digest_rows += other.digest_rows;
        self.answers += other.answers;
    }
}

/// Where old alarm state is pruned.
pub trait RetentionStore: Send + Sync + 'static {
    /// Delete at most about `batch` rows in one transaction: cards resolved (state OK) before
    /// `cutoff` with their history, history from before `cutoff` of cards not firing, and digests closed and last extended before `cutoff` with
    /// their lines (never a digest a firing card points at), and agent answers asked before `cutoff`. Nothing pruned means nothing is left.
    fn prune_batch(&self, cutoff: SystemTime, batch: usize) -> anyhow::Result<Pruned>;
}

/// Prune everything older than `cutoff`, batch after batch, at most `max_batches`.
pub fn prune_before(
    store: &dyn RetentionStore,
    cutoff: SystemTime,
    batch: usize,
    max_batches: usize,
    pause: Duration,
) -> anyhow::Result<Pruned> {
    let mut total = Pruned::default();
    for _ in 0..max_batches {
        let pruned = store.prune_batch(cutoff, batch)?;
        total.add(pruned);
        if pruned.rows() == 0 {
            break;
        }
        std::thread::sleep(pause);
    }
    Ok(total)
}

/// The periodic task: prune what is older than `retention`, off the async workers.
pub async fn prune_loop(
    store: Blocking<SqliteStore>,
    retention: Duration,
    stop: CancellationToken,
) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let cutoff = SystemTime::now() - retention;
        let run = store.run(move |store| {
            prune_before(
                store,
                cutoff,
                PRUNE_BATCH,
                MAX_BATCHES_PER_RUN,
                PAUSE_BETWEEN_BATCHES,
            )
        });
        match run.await {
            Ok(pruned) if pruned.rows() > 0 => {
                info!(
                    ?pruned,
                    ?retention,
                    "Pruned old alarm cards and storm digests."
                )
            }
            Ok(_) => {}
            Err(e) => error!(error = format!("{e:#}"), "Failed to prune old alarm state."),
        }
        let run = store.run(|store| prune_sketches(store, SystemTime::now()));
        match run.await {
            Ok(0) => {}
            Ok(sketches) => info!(sketches, "Pruned old latency sketches."),
            Err(e) => error!(
                error = format!("{e:#}"),
                "Failed to prune old latency sketches."
            ),
        }
        let now = SystemTime::now();
        let run = store.run(move |store| {
            store.prune_deploys(now, PRUNE_BATCH, MAX_BATCHES_PER_RUN, PAUSE_BETWEEN_BATCHES)
        });
        match run.await {
            Ok(pruned) if pruned.rows() > 0 => {
                info!(?pruned, "Pruned old deploy requests and audit entries.")
            }
            Ok(_) => {}
            Err(e) => error!(
                error = format!("{e:#}"),
                "Failed to prune old deploy state."
            ),
        }
    }
}

/// How long latency sketches are kept: `@bot stats` reads the last 24 hours; an hour more
/// covers a clock step and a slow flush.
pub const SKETCH_RETENTION: Duration = Duration::from_secs(25 * 3600);

/// Latency sketches of minutes older than `SKETCH_RETENTION` before `now`, batch after batch.
pub fn prune_sketches(store: &dyn LatencySketches, now: SystemTime) -> anyhow::Result<usize> {
    let cutoff = now - SKETCH_RETENTION;
    let minute = cutoff
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 60) as i64);
    let mut total = 0;
    for _ in 0..MAX_BATCHES_PER_RUN {
        let gone = store.forget_sketches_before(minute, PRUNE_BATCH)?;
        total += gone;
        if gone < PRUNE_BATCH {
            break;
        }
        std::thread::sleep(PAUSE_BETWEEN_BATCHES);
    }
    Ok(total)
}

/// One batch of resolved cards and their history, within `budget` rows.
fn prune_cards(c: &Connection, cutoff: i64, budget: &mut usize) -> rusqlite::Result<Pruned> {
    let mut pruned = Pruned::default();
    let expired: Vec<(String, String)> = c
        .prepare_cached(
            "SELECT alarm_key, channel FROM alarm_cards \
             WHERE state = 'OK' AND resolved_at < ?1 LIMIT ?2",
        )?
        .query_map(params![cutoff, *budget as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (key, channel) in expired {
        if *budget == 0 {
            break;
        }
        let gone = c
            .prepare_cached(
                "DELETE FROM alarm_history WHERE rowid IN (SELECT rowid FROM alarm_history \
                 WHERE alarm_key = ?1 AND channel = ?2 LIMIT ?3)",
            )?
            .execute(params![key, channel, *budget as i64])?;
        pruned.transitions += gone;
        *budget -= gone;
        if *budget == 0 {
            break; // the card goes in the next batch, once its history is gone
        }
        pruned.cards += c
            .prepare_cached("DELETE FROM alarm_cards WHERE alarm_key = ?1 AND channel = ?2")?
            .execute(params![key, channel])?;
        *budget -= 1;
    }
    Ok(pruned)
}

/// One batch of history rows older than `cutoff` of cards that are not firing (a card that
/// keeps flapping is never resolved for long, but its old transitions go all the same).
fn prune_history(c: &Connection, cutoff: i64, budget: &mut usize) -> rusqlite::Result<Pruned> {
    let gone = c
        .prepare_cached(
            "DELETE FROM alarm_history WHERE rowid IN (SELECT h.rowid FROM alarm_history AS h \
             WHERE h.at < ?1 AND NOT EXISTS (SELECT 1 FROM alarm_cards AS c \
                 WHERE c.alarm_key = h.alarm_key AND c.channel = h.channel \
                 AND c.state IN ('ALARM', 'INSUFFICIENT_DATA')) \
             LIMIT ?2)",
        )?
        .execute(params![cutoff, *budget as i64])?;
    *budget -= gone;
    Ok(Pruned {
        transitions: gone,
        ..Pruned::default()
    })
}

/// One batch of closed digests and their lines, within `budget` rows.
fn prune_digests(c: &Connection, cutoff: i64, budget: &mut usize) -> rusqlite::Result<Pruned> {
    let mut pruned = Pruned::default();
    let expired: Vec<(String, String)> = c
        .prepare_cached(
            "SELECT channel, ts FROM storm_digests AS d WHERE closed = 1 AND last_added < ?1 \
             AND NOT EXISTS (SELECT 1 FROM alarm_cards AS c WHERE c.channel = d.channel \
                 AND c.root_ts = d.ts AND c.state IN ('ALARM', 'INSUFFICIENT_DATA')) \
             LIMIT ?2",
        )?
        .query_map(params![cutoff, *budget as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (channel, ts) in expired {
        if *budget == 0 {
            break;
        }
        let gone = c
            .prepare_cached(
                "DELETE FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 AND key IN \
                 (SELECT key FROM storm_digest_lines WHERE channel = ?1 AND ts = ?2 LIMIT ?3)",
            )?
            .execute(params![channel, ts, *budget as i64])?;
        pruned.digest_rows += gone;
        *budget -= gone;
        if *budget == 0 {
            break; // the digest goes in the next batch, once its lines are gone
        }
        pruned.digest_rows += c
            .prepare_cached("DELETE FROM storm_digest_counts WHERE channel = ?1 AND ts = ?2")?
            .execute(params![channel, ts])?;
        pruned.digests += c
            .prepare_cached("DELETE FROM storm_digests WHERE channel = ?1 AND ts = ?2")?
            .execute(params![channel, ts])?;
        *budget = budget.saturating_sub(1);
    }
    Ok(pruned)
}

/// One batch of agent answers asked before `cutoff`, then of the `model` backend's turns.
fn prune_answers(c: &Connection, cutoff: i64, budget: &mut usize) -> rusqlite::Result<Pruned> {
    let mut gone = c
        .prepare_cached(
            "DELETE FROM agent_answers WHERE id IN \
             (SELECT id FROM agent_answers WHERE asked_at < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, *budget as i64])?;
    *budget -= gone;
    if *budget > 0 {
        let turns = c
            .prepare_cached(
                "DELETE FROM model_turns WHERE id IN \
                 (SELECT id FROM model_turns WHERE at < ?1 LIMIT ?2)",
            )?
            .execute(params![cutoff, *budget as i64])?;
        *budget -= turns;
        gone += turns;
    }
    Ok(Pruned {
        answers: gone,
        ..Pruned::default()
    })
}

impl RetentionStore for SqliteStore {
    fn prune_batch(&self, cutoff: SystemTime, batch: usize) -> anyhow::Result<Pruned> {
        let cutoff = to_millis(cutoff);
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut budget = batch.max(1);
            let mut pruned = prune_cards(&tx, cutoff, &mut budget)?;
            if budget > 0 {
                pruned.add(prune_history(&tx, cutoff, &mut budget)?);
            }
            if budget > 0 {
                pruned.add(prune_digests(&tx, cutoff, &mut budget)?);
            }
            if budget > 0 {
                pruned.add(prune_answers(&tx, cutoff, &mut budget)?);
            }
            tx.commit()?;
            Ok(pruned)
        })
        .context("Failed to prune old alarm state")
    }
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;

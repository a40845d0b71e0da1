//! `ModelTurns` on SQLite: one row per answered turn, read newest first until the budget.

use std::time::SystemTime;

use anyhow::Context;
use rusqlite::params;

use super::cards::to_millis;
use super::model_turns::{keep_within, ModelTurns, Turn};
use super::SqliteStore;

/// Most turns read for one question, whatever the budget.
const MAX_TURNS_READ: i64 = 200;

impl ModelTurns for SqliteStore {
    fn recent_turns(&self, session_id: &str, max_chars: usize) -> anyhow::Result<Vec<Turn>> {
        if max_chars == 0 {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let mut statement = c.prepare_cached(
                "SELECT question, answer FROM model_turns WHERE session_id = ?1 \
                 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = statement.query_map(params![session_id, MAX_TURNS_READ], |r| {
                Ok(Turn {
                    question: r.get(0)?,
                    answer: r.get(1)?,
                })
            })?;
            let mut newest_first = Vec::new();
            let mut used = 0;
            for row in rows {
                let turn = row?;
                used += turn.chars();
                newest_first.push(turn);
                if used > max_chars {
                    break;
                }
            }
            Ok(keep_within(newest_first, max_chars))
        })
        .context("Failed to read a model conversation")
    }

    fn add_turn(&self, session_id: &str, turn: &Turn, at: SystemTime) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO model_turns (session_id, question, answer, at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                session_id,
                turn.question,
                turn.answer,
                to_millis(at)
            ])
        })
        .context("Failed to record a model turn")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_come_back_per_session_within_the_budget() {
        let store = SqliteStore::in_memory().unwrap();
        let turn = |q: &str, a: &str| Turn {
            question: q.into(),
            answer: a.into(),
        };
        for (session, q, a) in [("s1", "q1", "a1"), ("s2", "zz", "zz"), ("s1", "q2", "a2")] {
            store
                .add_turn(session, &turn(q, a), SystemTime::now())
                .unwrap();
        }
        assert_eq!(
            store.recent_turns("s1", 100).unwrap(),
            [turn("q1", "a1"), turn("q2", "a2")]
        );
        assert_eq!(store.recent_turns("s1", 5).unwrap(), [turn("q2", "a2")]);
        assert_eq!(store.recent_turns("s1", 0).unwrap(), []);
        assert_eq!(store.recent_turns("none", 100).unwrap(), []);
    }
}

//! `AnswerLog` on SQLite: one row per question to the agent.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use rusqlite::params;

use super::answers::{AnswerLog, AnswerRecord};
use super::cards::{from_millis, to_millis};
use super::SqliteStore;

const COLUMNS: &str = "channel, thread_ts, user_id, question, answer, session_id, alarm_key, \
                       asked_at, duration_ms, error";

impl AnswerLog for SqliteStore {
    fn record_answer(&self, a: &AnswerRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO agent_answers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))?
            .execute(params![
                a.channel,
                a.thread_ts,
                a.user,
                a.question,
                a.answer,
                a.session_id,
                a.alarm_key,
                to_millis(a.asked_at),
                i64::try_from(a.duration.as_millis()).unwrap_or(i64::MAX),
                a.error,
            ])
        })
        .context("Failed to record an agent answer")?;
        Ok(())
    }

    fn answers_in_thread(
        &self,
        channel: &str,
        thread_ts: &str,
    ) -> anyhow::Result<Vec<AnswerRecord>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM agent_answers WHERE channel = ?1 AND thread_ts = ?2 \
                 ORDER BY asked_at, id"
            ))?
            .query_map(params![channel, thread_ts], |r| {
                Ok(AnswerRecord {
                    channel: r.get(0)?,
                    thread_ts: r.get(1)?,
                    user: r.get(2)?,
                    question: r.get(3)?,
                    answer: r.get(4)?,
                    session_id: r.get(5)?,
                    alarm_key: r.get(6)?,
                    asked_at: from_millis(r.get(7)?),
                    duration: Duration::from_millis(r.get::<_, i64>(8)?.max(0) as u64),
                    error: r.get(9)?,
                })
            })?
            .collect()
        })
        .context("Failed to read a thread's agent answers")
    }

    fn questions_since(
        &self,
        since: SystemTime,
    ) -> anyhow::Result<Vec<(String, String, SystemTime)>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT user_id, channel, asked_at FROM agent_answers WHERE asked_at >= ?1 \
                 ORDER BY asked_at",
            )?
            .query_map(params![to_millis(since)], |r| {
                Ok((r.get(0)?, r.get(1)?, from_millis(r.get(2)?)))
            })?
            .collect()
        })
        .context("Failed to read recent agent questions")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(thread: &str, user: &str, at: SystemTime, error: Option<&str>) -> AnswerRecord {
        AnswerRecord {
            channel: "C1".into(),
            thread_ts: thread.into(),
            user: user.into(),
            question: "why?".into(),
            answer: if error.is_some() {
                String::new()
            } else {
                "because".into()
            },
            session_id: format!("C1-{thread}"),
            alarm_key: Some("HighCPU".into()),
            asked_at: from_millis(to_millis(at)),
            duration: Duration::from_millis(1234),
            error: error.map(Into::into),
        }
    }

    #[test]
    fn answers_are_kept_by_thread_in_order_and_counted_since_a_time() {
        let store = SqliteStore::in_memory().unwrap();
        let t0 = SystemTime::now() - Duration::from_secs(7200);
        let first = answer("1.1", "U1", t0, None);
        let second = answer(
            "1.1",
            "U2",
            t0 + Duration::from_secs(3900),
            Some("agent not found"),
        );
        let other = answer("2.2", "U1", t0 + Duration::from_secs(4000), None);
        for a in [&first, &second, &other] {
            store.record_answer(a).unwrap();
        }
        assert_eq!(
            store.answers_in_thread("C1", "1.1").unwrap(),
            vec![first, second.clone()]
        );
        assert!(store.answers_in_thread("C2", "1.1").unwrap().is_empty());
        let recent = store
            .questions_since(t0 + Duration::from_secs(3600))
            .unwrap();
        let who: Vec<&str> = recent.iter().map(|(user, _, _)| user.as_str()).collect();
        assert_eq!(who, ["U2", "U1"]);
        assert_eq!(recent[0].2, second.asked_at);
    }
}

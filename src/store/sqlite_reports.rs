//! `ReportPages` on SQLite: one row per reported thread (migration 9).

use std::time::SystemTime;

use anyhow::Context;
use rusqlite::{params, OptionalExtension, Row};

use super::cards::{from_millis, to_millis};
use super::reports::{ReportPage, ReportPages};
use super::SqliteStore;

const COLUMNS: &str = "channel, thread_ts, page_id, title, url, created_at, synced_at";

fn page_from_row(r: &Row<'_>) -> rusqlite::Result<ReportPage> {
    Ok(ReportPage {
        channel: r.get(0)?,
        thread_ts: r.get(1)?,
        page_id: r.get(2)?,
        title: r.get(3)?,
        url: r.get(4)?,
        created_at: from_millis(r.get(5)?),
        synced_at: from_millis(r.get(6)?),
    })
}

impl ReportPages for SqliteStore {
    fn report_page(&self, channel: &str, thread_ts: &str) -> anyhow::Result<Option<ReportPage>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM report_pages WHERE channel = ?1 AND thread_ts = ?2"
            ))?
            .query_row(params![channel, thread_ts], page_from_row)
            .optional()
        })
        .context("Failed to read a thread's report page")
    }

    fn report_of_page(&self, page_id: &str) -> anyhow::Result<Option<ReportPage>> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM report_pages WHERE page_id = ?1"
            ))?
            .query_row(params![page_id], page_from_row)
            .optional()
        })
        .context("Failed to look up a report page")
    }

    fn save_report_page(&self, p: &ReportPage) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO report_pages ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (channel, thread_ts) DO UPDATE SET page_id = excluded.page_id, \
                 title = excluded.title, url = excluded.url, synced_at = excluded.synced_at"
            ))?
            .execute(params![
                p.channel,
                p.thread_ts,
                p.page_id,
                p.title,
                p.url,
                to_millis(p.created_at),
                to_millis(p.synced_at),
            ])
        })
        .context("Failed to record a thread's report page")?;
        Ok(())
    }

    fn note_report_attempt(
        &self,
        channel: &str,
        thread_ts: &str,
        title: &str,
        at: SystemTime,
    ) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached("INSERT OR IGNORE INTO report_attempts VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![channel, thread_ts, title, to_millis(at)])
        })
        .context("Failed to note a report page being created")?;
        Ok(())
    }

    fn forget_report_attempt(
        &self,
        channel: &str,
        thread_ts: &str,
        title: &str,
    ) -> anyhow::Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "DELETE FROM report_attempts WHERE channel = ?1 AND thread_ts = ?2 AND title = ?3",
            )?
            .execute(params![channel, thread_ts, title])
        })
        .context("Failed to forget a report page attempt")?;
        Ok(())
    }

    fn tried_report_title(
        &self,
        channel: &str,
        thread_ts: &str,
        title: &str,
    ) -> anyhow::Result<bool> {
        let found = self
            .with(|c| {
                c.prepare_cached(
                    "SELECT 1 FROM report_attempts WHERE channel = ?1 AND thread_ts = ?2 AND title = ?3",
                )?
                .query_row(params![channel, thread_ts, title], |_| Ok(()))
                .optional()
            })
            .context("Failed to look up a report page being created")?;
        Ok(found.is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn page(thread: &str, id: &str, at: SystemTime) -> ReportPage {
        ReportPage {
            channel: "C1".into(),
            thread_ts: thread.into(),
            page_id: id.into(),
            title: format!("[INCIDENT] {thread}"),
            url: format!("https://wiki.example/pages/{id}"),
            created_at: at,
            synced_at: at,
        }
    }

    #[test]
    fn a_thread_keeps_one_page_and_a_later_sync_updates_it() {
        let store = SqliteStore::in_memory().unwrap();
        let at = from_millis(to_millis(SystemTime::now()));
        assert_eq!(store.report_page("C1", "1.0").unwrap(), None);
        store.save_report_page(&page("1.0", "42", at)).unwrap();
        let later = at + Duration::from_secs(60);
        let mut synced = page("1.0", "42", later);
        synced.title = "[INCIDENT] renamed".into();
        store.save_report_page(&synced).unwrap();
        let kept = store.report_page("C1", "1.0").unwrap().unwrap();
        assert_eq!(kept.created_at, at, "the first creation time stays");
        assert_eq!(kept.synced_at, later);
        assert_eq!(kept.title, "[INCIDENT] renamed");
        assert_eq!(
            store.report_of_page("42").unwrap().unwrap().thread_ts,
            "1.0"
        );
        assert_eq!(store.report_of_page("43").unwrap(), None);
        assert_eq!(store.report_page("C1", "2.0").unwrap(), None);
    }

    #[test]
    fn a_page_belongs_to_one_thread() {
        let store = SqliteStore::in_memory().unwrap();
        let at = from_millis(to_millis(SystemTime::now()));
        store.save_report_page(&page("1.0", "42", at)).unwrap();
        assert!(store.save_report_page(&page("2.0", "42", at)).is_err());
    }

    #[test]
    fn attempted_titles_are_remembered_per_thread() {
        let store = SqliteStore::in_memory().unwrap();
        let at = SystemTime::now();
        assert!(!store.tried_report_title("C1", "1.0", "t").unwrap());
        store.note_report_attempt("C1", "1.0", "t", at).unwrap();
        store.note_report_attempt("C1", "1.0", "t", at).unwrap();
        assert!(store.tried_report_title("C1", "1.0", "t").unwrap());
        assert!(!store.tried_report_title("C1", "2.0", "t").unwrap());
        assert!(!store.tried_report_title("C1", "1.0", "t (2)").unwrap());
        store.forget_report_attempt("C1", "1.0", "t").unwrap();
        assert!(!store.tried_report_title("C1", "1.0", "t").unwrap());
    }
}

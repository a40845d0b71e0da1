//! `publish` against an in-memory wiki: a create whose answer was lost, a restart between two
//! reports, a page deleted in Confluence, and a title clash.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::{publish, Outcome, Target};
use crate::integrations::confluence::storage::Document;
use crate::integrations::confluence::{PageRef, StorageXml, Wiki, WikiError};
use crate::store::reports::ReportPages;
use crate::store::{Blocking, SqliteStore};

#[derive(Default)]
struct MemoryWiki {
    pages: Mutex<Vec<(PageRef, String)>>,
    /// The next create makes the page but its answer is lost (a timeout).
    lose_next_create: Mutex<bool>,
}

impl MemoryWiki {
    fn titles(&self) -> Vec<(String, u32)> {
        let pages = self.pages.lock().unwrap();
        pages
            .iter()
            .map(|(p, _)| (p.title.clone(), p.version))
            .collect()
    }
}

#[async_trait]
impl Wiki for MemoryWiki {
    async fn find_page(&self, title: &str) -> Result<Option<PageRef>, WikiError> {
        let pages = self.pages.lock().unwrap();
        Ok(pages
            .iter()
            .find(|(p, _)| p.title == title)
            .map(|(p, _)| p.clone()))
    }

    async fn get_page(&self, id: &str) -> Result<PageRef, WikiError> {
        let pages = self.pages.lock().unwrap();
        pages
            .iter()
            .find(|(p, _)| p.id == id)
            .map(|(p, _)| p.clone())
            .ok_or(WikiError::NotFound {
                what: format!("page {id}"),
                who: "bot".into(),
            })
    }

    async fn create_page(
        &self,
        title: &str,
        body: &StorageXml,
        _parent: Option<&str>,
    ) -> Result<PageRef, WikiError> {
        let mut pages = self.pages.lock().unwrap();
        if pages.iter().any(|(p, _)| p.title == title) {
            return Err(WikiError::TitleTaken {
                title: title.into(),
                space_key: "OPS".into(),
            });
        }
        let id = format!("{}", 100 + pages.len());
        let page = PageRef {
            url: format!("https://wiki.example/pages/{id}"),
            id,
            title: title.into(),
            version: 1,
        };
        pages.push((page.clone(), body.as_str().to_owned()));
        if std::mem::take(&mut *self.lose_next_create.lock().unwrap()) {
            return Err(WikiError::Timeout {
                limit: Duration::from_secs(20),
            });
        }
        Ok(page)
    }

    async fn update_page(
        &self,
        id: &str,
        title: &str,
        body: &StorageXml,
    ) -> Result<PageRef, WikiError> {
        let mut pages = self.pages.lock().unwrap();
        let Some((page, stored)) = pages.iter_mut().find(|(p, _)| p.id == id) else {
            return Err(WikiError::NotFound {
                what: format!("page {id}"),
                who: "bot".into(),
            });
        };
        page.version += 1;
        page.title = title.into();
        *stored = body.as_str().to_owned();
        Ok(page.clone())
    }
}

fn body(text: &str) -> StorageXml {
    Document::new().text(text).finish()
}

fn target(thread: &str) -> Target<'_> {
    Target {
        channel: "C1",
        thread_ts: thread,
        title: "[INCIDENT] disk-full — 2026-12-06 14:05 UTC",
        parent: None,
    }
}

fn pages(store: Arc<SqliteStore>) -> Blocking<dyn ReportPages> {
    let pages: Arc<dyn ReportPages> = store;
    Blocking::new(pages)
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_taken_over_not_duplicated() {
    let wiki = MemoryWiki::default();
    *wiki.lose_next_create.lock().unwrap() = true;
    let store = pages(Arc::new(SqliteStore::in_memory().unwrap()));
    let lost = publish(&wiki, &store, &target("1.0"), &body("first")).await;
    assert!(lost.is_err(), "the timeout is reported");
    let again = publish(&wiki, &store, &target("1.0"), &body("second"))
        .await
        .unwrap();
    assert_eq!(again.outcome, Outcome::Updated);
    assert_eq!(
        wiki.titles(),
        [("[INCIDENT] disk-full — 2026-12-06 14:05 UTC".to_owned(), 2)]
    );
}

#[tokio::test]
async fn another_threads_page_with_the_title_is_never_taken_over() {
    let wiki = MemoryWiki::default();
    let store = pages(Arc::new(SqliteStore::in_memory().unwrap()));
    publish(&wiki, &store, &target("1.0"), &body("one"))
        .await
        .unwrap();
    let other = publish(&wiki, &store, &target("2.0"), &body("two"))
        .await
        .unwrap();
    assert_eq!(other.outcome, Outcome::Created);
    assert_eq!(
        other.page.title,
        "[INCIDENT] disk-full — 2026-12-06 14:05 UTC (2)"
    );
    // A later report of the second thread updates its own page, not the first.
    let later = publish(&wiki, &store, &target("2.0"), &body("two, later"))
        .await
        .unwrap();
    assert_eq!(later.page.id, other.page.id);
    assert_eq!(
        wiki.titles().iter().map(|t| t.1).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[tokio::test]
async fn a_restart_between_reports_still_updates_the_same_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.db");
    let wiki = MemoryWiki::default();
    let first = {
        let store = pages(Arc::new(SqliteStore::open(&path).unwrap()));
        publish(&wiki, &store, &target("1.0"), &body("before"))
            .await
            .unwrap()
    };
    let store = pages(Arc::new(SqliteStore::open(&path).unwrap()));
    let second = publish(&wiki, &store, &target("1.0"), &body("after"))
        .await
        .unwrap();
    assert_eq!(
        (second.page.id, second.outcome),
        (first.page.id, Outcome::Updated)
    );
    assert_eq!(wiki.titles().len(), 1);
}

#[tokio::test]
async fn a_page_deleted_in_confluence_is_made_again() {
    let wiki = MemoryWiki::default();
    let store = pages(Arc::new(SqliteStore::in_memory().unwrap()));
    publish(&wiki, &store, &target("1.0"), &body("one"))
        .await
        .unwrap();
    wiki.pages.lock().unwrap().clear();
    let again = publish(&wiki, &store, &target("1.0"), &body("two"))
        .await
        .unwrap();
    assert_eq!(again.outcome, Outcome::Created);
    assert_eq!(wiki.titles().len(), 1);
}

//! One page per thread: update the thread's page if it has one, else create it, and on a title
//! clash take the page over only if it is this thread's (the store says so), else add a suffix.

use std::time::SystemTime;

use anyhow::Context;
use tracing::{info, warn};

use super::title::{with_suffix, MOST_SUFFIXES};
use crate::integrations::confluence::{PageRef, StorageXml, Wiki, WikiError};
use crate::store::reports::{ReportPage, ReportPages};
use crate::store::Blocking;

/// How the page came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
}

/// The thread's page after a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub page: PageRef,
    pub outcome: Outcome,
}

/// Why a report could not be published: Confluence's answer (shown in the thread) or the store.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Wiki(#[from] WikiError),
    #[error(
        "every title from {title:?} to its ({last}) variant is taken by pages of other threads"
    )]
    NoFreeTitle { title: String, last: u32 },
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Where the thread's report goes.
pub struct Target<'a> {
    pub channel: &'a str,
    pub thread_ts: &'a str,
    /// The title for a new page (an existing page keeps its own).
    pub title: &'a str,
    pub parent: Option<&'a str>,
}

/// Write `body` to the thread's page, creating it the first time.
pub async fn publish(
    wiki: &dyn Wiki,
    pages: &Blocking<dyn ReportPages>,
    target: &Target<'_>,
    body: &StorageXml,
) -> Result<Published, PublishError> {
    let (channel, thread_ts) = (target.channel.to_owned(), target.thread_ts.to_owned());
    let known = pages
        .run(move |store| store.report_page(&channel, &thread_ts))
        .await?;
    if let Some(known) = &known {
        match wiki.update_page(&known.page_id, &known.title, body).await {
            Ok(page) => return finish(pages, target, page, Outcome::Updated, Some(known)).await,
            Err(WikiError::NotFound { .. }) => {
                warn!(page = %known.page_id, channel = target.channel, thread = target.thread_ts, "The thread's report page is gone from Confluence; creating it again.");
            }
            Err(e) => return Err(e.into()),
        }
    }
    for n in 1..=MOST_SUFFIXES + 1 {
        let title = if n == 1 {
            target.title.to_owned()
        } else {
            with_suffix(target.title, n)
        };
        // Asked before noting this attempt: an earlier one that never heard back.
        let tried_before = attempts(pages, target, &title, Attempt::Ask).await?;
        attempts(pages, target, &title, Attempt::Note).await?;
        match wiki.create_page(&title, body, target.parent).await {
            Ok(page) => return finish(pages, target, page, Outcome::Created, known.as_ref()).await,
            Err(WikiError::TitleTaken { .. }) => {
                let found = take_over(wiki, pages, target, &title, body, tried_before).await?;
                if let Some(page) = found {
                    return finish(pages, target, page, Outcome::Updated, known.as_ref()).await;
                }
                // A clear answer: the title is another page's; not ours on a later click either.
                attempts(pages, target, &title, Attempt::Forget).await?;
                info!(
                    title,
                    "A page of another thread has this title; trying the next suffix."
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(PublishError::NoFreeTitle {
        title: target.title.to_owned(),
        last: MOST_SUFFIXES + 1,
    })
}

/// The page titled `title` if it is this thread's (the store has it, or this thread tried to
/// create that title before and never heard how it went: `tried_before`), updated with `body`.
async fn take_over(
    wiki: &dyn Wiki,
    pages: &Blocking<dyn ReportPages>,
    target: &Target<'_>,
    title: &str,
    body: &StorageXml,
    tried_before: bool,
) -> Result<Option<PageRef>, PublishError> {
    let Some(found) = wiki.find_page(title).await? else {
        return Ok(None);
    };
    let (id, channel, thread_ts) = (
        found.id.clone(),
        target.channel.to_owned(),
        target.thread_ts.to_owned(),
    );
    let owner = pages.run(move |store| store.report_of_page(&id)).await?;
    let ours = match owner {
        Some(owner) => owner.channel == channel && owner.thread_ts == thread_ts,
        // Nobody's in the store: ours if an earlier create of this thread (this run's or a
        // previous one's) may have made it and never heard back.
        None => tried_before,
    };
    if !ours {
        return Ok(None);
    }
    Ok(Some(wiki.update_page(&found.id, title, body).await?))
}

#[derive(Clone, Copy)]
enum Attempt {
    Ask,
    Note,
    Forget,
}

/// The store's record of creates of `title` for the thread: ask about, note or forget one.
async fn attempts(
    pages: &Blocking<dyn ReportPages>,
    target: &Target<'_>,
    title: &str,
    what: Attempt,
) -> anyhow::Result<bool> {
    let (channel, thread_ts, title) = (
        target.channel.to_owned(),
        target.thread_ts.to_owned(),
        title.to_owned(),
    );
    pages
        .run(move |store| match what {
            Attempt::Ask => store.tried_report_title(&channel, &thread_ts, &title),
            Attempt::Note => store
                .note_report_attempt(&channel, &thread_ts, &title, SystemTime::now())
                .map(|()| true),
            Attempt::Forget => store
                .forget_report_attempt(&channel, &thread_ts, &title)
                .map(|()| true),
        })
        .await
        .context("Failed to keep track of a report page being created")
}

async fn finish(
    pages: &Blocking<dyn ReportPages>,
    target: &Target<'_>,
    page: PageRef,
    outcome: Outcome,
    known: Option<&ReportPage>,
) -> Result<Published, PublishError> {
    let now = SystemTime::now();
    let record = ReportPage {
        channel: target.channel.to_owned(),
        thread_ts: target.thread_ts.to_owned(),
        page_id: page.id.clone(),
        title: page.title.clone(),
        url: page.url.clone(),
        created_at: known.map(|k| k.created_at).unwrap_or(now),
        synced_at: now,
    };
    pages
        .run(move |store| store.save_report_page(&record))
        .await
        .context("Failed to record the thread's report page")?;
    Ok(Published { page, outcome })
}

#[cfg(test)]
#[path = "publish_tests.rs"]
mod tests;

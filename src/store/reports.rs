//! `ReportPages`: which Confluence page holds each thread's incident report, so a later report
//! updates that page (across restarts) instead of making another.

use std::time::SystemTime;

/// The page a thread's report lives on.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportPage {
    pub channel: String,
    /// The thread's root ts.
    pub thread_ts: String,
    /// The page's id in Confluence.
    pub page_id: String,
    pub title: String,
    /// The page's web address, as shown in Slack.
    pub url: String,
    /// When the report was first created and last synced from the thread.
    pub created_at: SystemTime,
    pub synced_at: SystemTime,
}

/// Where report pages are remembered.
pub trait ReportPages: Send + Sync + 'static {
    /// The thread's page, if a report was made for it.
    fn report_page(&self, channel: &str, thread_ts: &str) -> anyhow::Result<Option<ReportPage>>;
    /// The thread a page belongs to, if it is one of this bot's reports.
    fn report_of_page(&self, page_id: &str) -> anyhow::Result<Option<ReportPage>>;
    /// Record (or update) the thread's page.
    fn save_report_page(&self, page: &ReportPage) -> anyhow::Result<()>;
    /// Note that the thread's report is about to create a page titled `title`.
    fn note_report_attempt(
        &self,
        channel: &str,
        thread_ts: &str,
        title: &str,
        at: SystemTime,
    ) -> anyhow::Result<()>;
    /// Forget that attempt: its create got a clear answer (the title is someone else's page).
    fn forget_report_attempt(
        &self,
        channel: &str,
        thread_ts: &str,
        title: &str,
    ) -> anyhow::Result<()>;
    /// Whether the thread's report tried to create a page titled `title` and never heard how it
    /// went (nor forgot the attempt).
    fn tried_report_title(
        &self,
        channel: &str,
        thread_ts: &str,
        title: &str,
    ) -> anyhow::Result<bool>;
}

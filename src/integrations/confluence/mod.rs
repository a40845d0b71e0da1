//! Confluence: the `Wiki` trait (find, read, create and update pages in one space) and
//! `ConfluenceWiki`, which speaks Cloud's REST v2 or Data Center's REST v1 as configured.
//!
//! Page bodies are [`StorageXml`], which only the [`storage`] writer makes, so outside text
//! (Slack messages, the agent's summary, alarm fields) reaches a page escaped, never as markup.
//! Failures are [`WikiError`]s a caller branches on (`TitleTaken` to find the page by title and
//! decide; `VersionConflict` once re-reads are exhausted), each with a one-line `human_message`.

mod client;
mod cloud;
mod datacenter;
mod error;
mod http;
pub mod storage;
mod wire;

use async_trait::async_trait;

pub use client::{ConfluenceWiki, MAX_UPDATE_ATTEMPTS};
pub use error::{WikiAction, WikiError, WikiTarget};
pub use http::RetryBackoff;
pub use storage::StorageXml;

/// A page as the wiki knows it right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRef {
    /// The page id (digits), stable across renames and updates.
    pub id: String,
    pub title: String,
    /// The current version number (1 after creation).
    pub version: u32,
    /// The page's address in a browser.
    pub url: String,
}

/// Pages in the configured space of a wiki. Every call is bounded by the configured timeout,
/// retries included.
#[async_trait]
pub trait Wiki: Send + Sync + 'static {
    /// The current page titled exactly `title` in the space, if any.
    async fn find_page(&self, title: &str) -> Result<Option<PageRef>, WikiError>;

    /// The page `id` with its current version.
    async fn get_page(&self, id: &str) -> Result<PageRef, WikiError>;

    /// Creates a page titled `title` with `body`, under `parent` if given, else under the
    /// configured `parent_id`, else at the space's root. A title already used in the space is
    /// `WikiError::TitleTaken`.
    async fn create_page(
        &self,
        title: &str,
        body: &StorageXml,
        parent: Option<&str>,
    ) -> Result<PageRef, WikiError>;

    /// Replaces page `id`'s title and body: reads its current version and writes the next one;
    /// if someone else wrote in between (409), reads again and retries, at most
    /// [`MAX_UPDATE_ATTEMPTS`] times in all.
    async fn update_page(
        &self,
        id: &str,
        title: &str,
        body: &StorageXml,
    ) -> Result<PageRef, WikiError>;
}

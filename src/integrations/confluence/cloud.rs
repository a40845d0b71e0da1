//! Confluence Cloud's REST v2 (`{base_url}/api/v2/…`): the space id looked up once by key,
//! pages found by exact title, read, created and updated with storage-format bodies.

use reqwest::Method;
use serde_json::json;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::error::{WikiAction, WikiError};
use super::http::{Call, Http};
use super::storage::StorageXml;
use super::wire::{WireList, WirePage, WireSpace};
use super::PageRef;

/// The v2 calls, with the space's id cached after the first successful lookup.
pub(super) struct CloudApi {
    space_id: OnceCell<String>,
}

impl CloudApi {
    pub(super) fn new() -> Self {
        Self {
            space_id: OnceCell::new(),
        }
    }

    /// `GET /api/v2/spaces?keys=KEY`, once; an empty answer means the space is not there or
    /// the user may not see it. A failed lookup is not cached.
    pub(super) async fn space_id(&self, http: &Http, deadline: Instant) -> Result<&str, WikiError> {
        let id = self
            .space_id
            .get_or_try_init(|| async {
                let action = WikiAction::FindSpace;
                let key = &http.target.space_key;
                let call = Call::get("/api/v2/spaces".into(), &action).query("keys", key);
                let spaces: WireList<WireSpace> = http.send(&call, deadline).await?;
                spaces
                    .results
                    .into_iter()
                    .find(|space| space.key == *key)
                    .map(|space| space.id)
                    .ok_or_else(|| WikiError::NotFound {
                        what: format!("space {key}"),
                        who: http.target.who(),
                    })
            })
            .await?;
        Ok(id)
    }

    /// `GET /api/v2/pages?space-id=…&title=…&status=current`: the page with exactly `title`.
    pub(super) async fn find_page(
        &self,
        http: &Http,
        title: &str,
        deadline: Instant,
    ) -> Result<Option<PageRef>, WikiError> {
        let space_id = self.space_id(http, deadline).await?;
        let action = WikiAction::FindPage {
            title: title.to_owned(),
        };
        let call = Call::get("/api/v2/pages".into(), &action)
            .query("space-id", space_id)
            .query("title", title)
            .query("status", "current");
        let pages: WireList<WirePage> = http.send(&call, deadline).await?;
        let base = pages.links.base;
        pages
            .results
            .into_iter()
            .find(|page| page.title == title)
            .map(|page| page.into_ref(base.as_deref(), http.root(), None))
            .transpose()
    }

    /// `GET /api/v2/pages/{id}`.
    pub(super) async fn get_page(
        &self,
        http: &Http,
        id: &str,
        deadline: Instant,
    ) -> Result<PageRef, WikiError> {
        let action = WikiAction::GetPage { id: id.to_owned() };
        let call = Call::get(format!("/api/v2/pages/{}", path_segment(id)), &action);
        let page: WirePage = http.send(&call, deadline).await?;
        page.into_ref(None, http.root(), None)
    }

    /// `POST /api/v2/pages` with `spaceId`, `status: current`, `title`, `parentId` if any and the
    /// storage body.
    pub(super) async fn create_page(
        &self,
        http: &Http,
        title: &str,
        body: &StorageXml,
        parent: Option<&str>,
        deadline: Instant,
    ) -> Result<PageRef, WikiError> {
        let space_id = self.space_id(http, deadline).await?;
        let action = WikiAction::CreatePage {
            title: title.to_owned(),
            parent: parent.map(str::to_owned),
        };
        let mut request = json!({
            "spaceId": space_id,
            "status": "current",
            "title": title,
            "body": { "representation": "storage", "value": body.as_str() },
        });
        if let Some(parent) = parent {
            request["parentId"] = json!(parent);
        }
        let call = Call::get("/api/v2/pages".into(), &action).send_json(Method::POST, request);
        let page: WirePage = http.send(&call, deadline).await?;
        page.into_ref(None, http.root(), Some(1))
    }

    /// `PUT /api/v2/pages/{id}` with `version.number` = `version`.
    pub(super) async fn put_page(
        &self,
        http: &Http,
        id: &str,
        title: &str,
        body: &StorageXml,
        version: u32,
        deadline: Instant,
    ) -> Result<PageRef, WikiError> {
        let action = WikiAction::UpdatePage { id: id.to_owned() };
        let request = json!({
            "id": id,
            "status": "current",
            "title": title,
            "body": { "representation": "storage", "value": body.as_str() },
            "version": { "number": version, "message": "updated by chatops-bot" },
        });
        let call = Call::get(format!("/api/v2/pages/{}", path_segment(id)), &action)
            .send_json(Method::PUT, request);
        let page: WirePage = http.send(&call, deadline).await?;
        page.into_ref(None, http.root(), Some(version))
    }
}

/// A page id as one path segment: ids are digits, anything else is percent-encoded so it cannot
/// reach another path.
pub(super) fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

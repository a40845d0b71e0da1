//! Confluence Data Center's REST v1 (`{base_url}/rest/api/content`): pages found by space key
//! and exact title, read, created (under `ancestors`) and updated with storage-format bodies.

use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use super::cloud::path_segment;
use super::error::{WikiAction, WikiError};
use super::http::{Call, Http};
use super::storage::StorageXml;
use super::wire::{WireList, WirePage, WireSpace};
use super::PageRef;

/// `GET /rest/api/content?type=page&spaceKey=…&title=…&expand=version`.
pub(super) async fn find_page(
    http: &Http,
    title: &str,
    deadline: Instant,
) -> Result<Option<PageRef>, WikiError> {
    let action = WikiAction::FindPage {
        title: title.to_owned(),
    };
    let call = Call::get("/rest/api/content".into(), &action)
        .query("type", "page")
        .query("spaceKey", &http.target.space_key)
        .query("title", title)
        .query("status", "current")
        .query("expand", "version");
    let pages: WireList<WirePage> = http.send(&call, deadline).await?;
    let base = pages.links.base;
    pages
        .results
        .into_iter()
        .find(|page| page.title == title)
        .map(|page| page.into_ref(base.as_deref(), http.root(), None))
        .transpose()
}

/// `GET /rest/api/space/{key}`: the configured space's id (404 when it is not there or the
/// token's user may not see it).
pub(super) async fn space_id(http: &Http, deadline: Instant) -> Result<String, WikiError> {
    let action = WikiAction::FindSpace;
    let path = format!("/rest/api/space/{}", path_segment(&http.target.space_key));
    let space: WireSpace = http.send(&Call::get(path, &action), deadline).await?;
    Ok(space.id)
}

/// `GET /rest/api/content/{id}?expand=version`.
pub(super) async fn get_page(
    http: &Http,
    id: &str,
    deadline: Instant,
) -> Result<PageRef, WikiError> {
    let action = WikiAction::GetPage { id: id.to_owned() };
    let call = Call::get(format!("/rest/api/content/{}", path_segment(id)), &action)
        .query("expand", "version");
    let page: WirePage = http.send(&call, deadline).await?;
    page.into_ref(None, http.root(), None)
}

/// `POST /rest/api/content` with `type: page`, `space.key`, `ancestors` for the parent and
/// `body.storage`.
pub(super) async fn create_page(
    http: &Http,
    title: &str,
    body: &StorageXml,
    parent: Option<&str>,
    deadline: Instant,
) -> Result<PageRef, WikiError> {
    let action = WikiAction::CreatePage {
        title: title.to_owned(),
        parent: parent.map(str::to_owned),
    };
    let mut request = json!({
        "type": "page",
        "title": title,
        "space": { "key": http.target.space_key },
        "body": { "storage": { "value": body.as_str(), "representation": "storage" } },
    });
    if let Some(parent) = parent {
        request["ancestors"] = json!([{ "id": parent }]);
    }
    let call = Call::get("/rest/api/content".into(), &action).send_json(Method::POST, request);
    let page: WirePage = http.send(&call, deadline).await?;
    page.into_ref(None, http.root(), Some(1))
}

/// `PUT /rest/api/content/{id}` with `version.number` = `version`.
pub(super) async fn put_page(
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
        "type": "page",
        "title": title,
        "space": { "key": http.target.space_key },
        "body": { "storage": { "value": body.as_str(), "representation": "storage" } },
        "version": { "number": version, "message": "updated by chatops-bot" },
    });
    let call = Call::get(format!("/rest/api/content/{}", path_segment(id)), &action)
        .send_json(Method::PUT, request);
    let page: WirePage = http.send(&call, deadline).await?;
    page.into_ref(None, http.root(), Some(version))
}

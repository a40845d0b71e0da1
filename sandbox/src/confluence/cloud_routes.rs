//! The fake's Cloud REST v2 routes: spaces by key, pages by space id and title, one page (with
//! its storage body on `body-format=storage`), create and update, in v2's JSON shapes.

use axum::response::Response;
use serde_json::{json, Value};

use crate::confluence::pages::{FakePage, PageStore};
use crate::confluence::record::WikiFlavor;
use crate::confluence::server::{json_response, malformed, param, refused, Params};
use crate::confluence::shared::{lock, Shared};

const CLOUD: WikiFlavor = WikiFlavor::Cloud;

/// `GET /wiki/api/v2/spaces?keys=A,B`.
pub(crate) fn spaces(shared: &Shared, params: &Params, _body: &[u8]) -> Response {
    let store = lock(&shared.store);
    let keys: Vec<&str> = param(params, "keys")
        .map(|keys| keys.split(',').collect())
        .unwrap_or_default();
    let results: Vec<Value> = keys
        .iter()
        .filter_map(|key| {
            let id = store.space_id(key)?;
            Some(json!({
                "id": id, "key": key, "name": key, "type": "global", "status": "current",
                "_links": { "webui": format!("/spaces/{key}") },
            }))
        })
        .collect();
    json_response(
        200,
        json!({ "results": results, "_links": { "base": shared.base_url() } }),
    )
}

/// `GET /wiki/api/v2/pages?space-id=…&title=…`: items carry no `_links.base`, the list does.
pub(crate) fn find(shared: &Shared, params: &Params, _body: &[u8]) -> Response {
    let store = lock(&shared.store);
    let space_key = param(params, "space-id").and_then(|id| store.space_key_of_id(id));
    let results: Vec<Value> = match space_key {
        Some(key) => store
            .find(key, param(params, "title"))
            .iter()
            .map(|page| page_json(shared, &store, page, false, false))
            .collect(),
        None => Vec::new(),
    };
    json_response(
        200,
        json!({ "results": results, "_links": { "base": shared.base_url() } }),
    )
}

/// `GET /wiki/api/v2/pages/{id}`.
pub(crate) fn get(shared: &Shared, id: &str, params: &Params) -> Response {
    let store = lock(&shared.store);
    let with_body = param(params, "body-format") == Some("storage");
    match store.page(id) {
        Some(page) => json_response(200, page_json(shared, &store, page, true, with_body)),
        None => refused(
            CLOUD,
            crate::confluence::pages::Refusal::NoPage(id.to_owned()),
        ),
    }
}

/// `POST /wiki/api/v2/pages` with `spaceId`, `status`, `title`, `parentId`, `body`.
pub(crate) fn create(shared: &Shared, _params: &Params, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return malformed(CLOUD, "the body is not JSON");
    };
    let text = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
    let (Some(space_id), Some(title), Some(value)) =
        (text("/spaceId"), text("/title"), storage_value(&request))
    else {
        return malformed(CLOUD, "spaceId, title and a storage body are required");
    };
    if text("/status").is_some_and(|status| status != "current") {
        return malformed(CLOUD, "only status current is supported by the fake");
    }
    let mut store = lock(&shared.store);
    let Some(space_key) = store.space_key_of_id(space_id).map(str::to_owned) else {
        return refused(
            CLOUD,
            crate::confluence::pages::Refusal::NoSpace(space_id.to_owned()),
        );
    };
    match store.create(&space_key, title, value, text("/parentId")) {
        Ok(page) => json_response(200, page_json(shared, &store, &page, true, true)),
        Err(refusal) => refused(CLOUD, refusal),
    }
}

/// `PUT /wiki/api/v2/pages/{id}` with `id`, `status`, `title`, `body`, `version.number`.
pub(crate) fn update(shared: &Shared, id: &str, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return malformed(CLOUD, "the body is not JSON");
    };
    let title = request.pointer("/title").and_then(Value::as_str);
    let version = request.pointer("/version/number").and_then(Value::as_u64);
    let (Some(title), Some(value), Some(version)) = (title, storage_value(&request), version)
    else {
        return malformed(
            CLOUD,
            "title, a storage body and version.number are required",
        );
    };
    if request.pointer("/id").and_then(Value::as_str) != Some(id) {
        return malformed(CLOUD, "the id in the body must be the page's id");
    }
    let conflict = shared.take_conflict();
    let mut store = lock(&shared.store);
    if conflict {
        store.bump_version(id);
    }
    let version = u32::try_from(version).unwrap_or(u32::MAX);
    match store.update(id, title, value, version) {
        Ok(page) => json_response(200, page_json(shared, &store, &page, true, true)),
        Err(refusal) => refused(CLOUD, refusal),
    }
}

/// `body: {representation: "storage", value}`.
fn storage_value(request: &Value) -> Option<&str> {
    let body = request.get("body")?;
    if body.get("representation")?.as_str()? != "storage" {
        return None;
    }
    body.get("value")?.as_str()
}

/// A page in v2's shape. `with_base`: single-page answers carry `_links.base`; list items
/// do not.
fn page_json(
    shared: &Shared,
    store: &PageStore,
    page: &FakePage,
    with_base: bool,
    with_body: bool,
) -> Value {
    let mut links = json!({
        "webui": format!("/spaces/{}/pages/{}/{}", page.space_key, page.id,
                         page.title.replace(' ', "+")),
        "editui": format!("/pages/resumedraft.action?draftId={}", page.id),
        "tinyui": format!("/x/{}", page.id),
    });
    if with_base {
        links["base"] = json!(shared.base_url());
    }
    let mut value = json!({
        "id": page.id,
        "status": "current",
        "title": page.title,
        "spaceId": store.space_id(&page.space_key),
        "parentId": page.parent_id,
        "version": { "number": page.version, "message": "", "minorEdit": false },
        "_links": links,
    });
    if with_body {
        value["body"] = json!({ "storage": { "representation": "storage", "value": page.body } });
    }
    value
}

//! The fake's Data Center REST v1 routes: one space by key, content by space key and title, one
//! page, create (with `ancestors`) and update, in v1's JSON shapes.

use axum::response::Response;
use serde_json::{json, Value};

use crate::confluence::pages::{FakePage, Refusal};
use crate::confluence::record::WikiFlavor;
use crate::confluence::server::{json_response, malformed, param, refused, Params};
use crate::confluence::shared::{lock, Shared};

const DATACENTER: WikiFlavor = WikiFlavor::DataCenter;

/// `GET /wiki/rest/api/space/{key}`: the space (its id a number, as Data Center writes it), or
/// 404 "No space with key".
pub(crate) fn space(shared: &Shared, key: &str) -> Response {
    let store = lock(&shared.store);
    let Some(id) = store.space_id(key) else {
        return refused(DATACENTER, Refusal::NoSpace(key.to_owned()));
    };
    let id: Value = id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n));
    json_response(
        200,
        json!({
            "id": id, "key": key, "name": key, "type": "global", "status": "current",
            "_links": { "webui": format!("/display/{key}"), "base": shared.base_url() },
        }),
    )
}

/// `GET /wiki/rest/api/content?spaceKey=…&title=…&expand=version`: items carry no
/// `_links.base`, the list does. An unknown space is an empty list.
pub(crate) fn find(shared: &Shared, params: &Params, _body: &[u8]) -> Response {
    let store = lock(&shared.store);
    let results: Vec<Value> = match param(params, "spaceKey") {
        Some(key) => store
            .find(key, param(params, "title"))
            .iter()
            .map(|page| page_json(shared, page, false, expands(params, "version"), false))
            .collect(),
        None => Vec::new(),
    };
    let size = results.len();
    json_response(
        200,
        json!({
            "results": results, "start": 0, "limit": 25, "size": size,
            "_links": { "base": shared.base_url(), "context": "/wiki" },
        }),
    )
}

/// `GET /wiki/rest/api/content/{id}?expand=version,body.storage`.
pub(crate) fn get(shared: &Shared, id: &str, params: &Params) -> Response {
    let store = lock(&shared.store);
    match store.page(id) {
        Some(page) => json_response(
            200,
            page_json(
                shared,
                page,
                true,
                expands(params, "version"),
                expands(params, "body.storage"),
            ),
        ),
        None => refused(DATACENTER, Refusal::NoPage(id.to_owned())),
    }
}

/// `POST /wiki/rest/api/content` with `type: page`, `title`, `space.key`, `ancestors`,
/// `body.storage`.
pub(crate) fn create(shared: &Shared, _params: &Params, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return malformed(DATACENTER, "the body is not JSON");
    };
    let text = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
    if text("/type") != Some("page") {
        return malformed(DATACENTER, "type must be page");
    }
    let (Some(space_key), Some(title), Some(value)) =
        (text("/space/key"), text("/title"), storage_value(&request))
    else {
        return malformed(DATACENTER, "title, space.key and body.storage are required");
    };
    let parent = request.pointer("/ancestors/0/id").and_then(id_text);
    let mut store = lock(&shared.store);
    match store.create(space_key, title, value, parent.as_deref()) {
        Ok(page) => json_response(200, page_json(shared, &page, true, true, true)),
        Err(refusal) => refused(DATACENTER, refusal),
    }
}

/// `PUT /wiki/rest/api/content/{id}` with `type`, `title`, `body.storage`, `version.number`.
pub(crate) fn update(shared: &Shared, id: &str, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return malformed(DATACENTER, "the body is not JSON");
    };
    let title = request.pointer("/title").and_then(Value::as_str);
    let version = request.pointer("/version/number").and_then(Value::as_u64);
    let (Some(title), Some(value), Some(version)) = (title, storage_value(&request), version)
    else {
        return malformed(
            DATACENTER,
            "title, body.storage and version.number are required",
        );
    };
    if request.pointer("/type").and_then(Value::as_str) != Some("page") {
        return malformed(DATACENTER, "type must be page");
    }
    let conflict = shared.take_conflict();
    let mut store = lock(&shared.store);
    if conflict {
        store.bump_version(id);
    }
    let version = u32::try_from(version).unwrap_or(u32::MAX);
    match store.update(id, title, value, version) {
        Ok(page) => json_response(200, page_json(shared, &page, true, true, true)),
        Err(refusal) => refused(DATACENTER, refusal),
    }
}

/// Whether `expand=…` names `field`.
fn expands(params: &Params, field: &str) -> bool {
    param(params, "expand").is_some_and(|expand| expand.split(',').any(|item| item == field))
}

/// `body.storage: {value, representation: "storage"}`.
fn storage_value(request: &Value) -> Option<&str> {
    let storage = request.pointer("/body/storage")?;
    if storage.get("representation")?.as_str()? != "storage" {
        return None;
    }
    storage.get("value")?.as_str()
}

/// An id written as a string or a number.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A page in v1's shape; `version` and `body` only when expanded (create and update answers
/// always carry them).
fn page_json(
    shared: &Shared,
    page: &FakePage,
    with_base: bool,
    with_version: bool,
    with_body: bool,
) -> Value {
    let mut links = json!({
        "webui": format!("/pages/viewpage.action?pageId={}", page.id),
        "self": format!("{}/rest/api/content/{}", shared.base_url(), page.id),
    });
    if with_base {
        links["base"] = json!(shared.base_url());
        links["context"] = json!("/wiki");
    }
    let mut value = json!({
        "id": page.id,
        "type": "page",
        "status": "current",
        "title": page.title,
        "space": { "key": page.space_key },
        "_links": links,
    });
    if with_version {
        value["version"] = json!({ "number": page.version, "minorEdit": false });
    }
    if with_body {
        value["body"] = json!({ "storage": { "value": page.body, "representation": "storage" } });
    }
    value
}

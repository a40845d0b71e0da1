//! The HTTP side of the fake Confluence: Cloud's REST v2 under `/wiki/api/v2` (Basic auth) and
//! Data Center's REST v1 under `/wiki/rest/api` (Bearer token), with queued faults, 401 for
//! wrong credentials, and every request recorded with the status it got.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::confluence::pages::Refusal;
use crate::confluence::record::{WikiFault, WikiFlavor, WikiRequest};
use crate::confluence::shared::{lock, Shared};
use crate::confluence::{cloud_routes, datacenter_routes};

/// A request's query as name/value pairs.
pub(crate) type Params = Vec<(String, String)>;

/// The value of query parameter `name`, if given.
pub(crate) fn param<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/wiki/api/v2/spaces", get(cloud_spaces))
        .route("/wiki/api/v2/pages", get(cloud_find).post(cloud_create))
        .route("/wiki/api/v2/pages/{id}", get(cloud_get).put(cloud_update))
        .route("/wiki/rest/api/space/{key}", get(datacenter_space))
        .route(
            "/wiki/rest/api/content",
            get(datacenter_find).post(datacenter_create),
        )
        .route(
            "/wiki/rest/api/content/{id}",
            get(datacenter_get).put(datacenter_update),
        )
        .with_state(shared)
}

/// What every route does around its own work: a queued fault answers first; wrong credentials
/// get 401; writes get 403 while writes are denied; the request is recorded with its status.
fn serve(
    shared: &Shared,
    flavor: WikiFlavor,
    request: (&Method, &Uri, &HeaderMap, &Bytes),
    work: impl FnOnce(&Shared, &Params, &[u8]) -> Response,
) -> Response {
    let (method, uri, headers, body) = request;
    let authorized = is_authorized(shared, flavor, headers);
    let params: Params =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    let is_write = *method == Method::POST || *method == Method::PUT;
    let response = if let Some(fault) = shared.take_fault() {
        fault_response(flavor, &fault)
    } else if !authorized {
        unauthorized(flavor)
    } else if is_write && lock(&shared.switches).deny_writes {
        error(
            flavor,
            403,
            "PERMISSION_DENIED",
            "Not permitted to use confluence or to edit in this space",
        )
    } else {
        work(shared, &params, body)
    };
    shared.record(WikiRequest {
        flavor,
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        body: String::from_utf8_lossy(body).into_owned(),
        authorized,
        status: response.status().as_u16(),
        at: Instant::now(),
    });
    response
}

fn is_authorized(shared: &Shared, flavor: WikiFlavor, headers: &HeaderMap) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let credentials = lock(&shared.credentials);
    match flavor {
        WikiFlavor::Cloud => {
            let pair = format!("{}:{}", credentials.user, credentials.api_token);
            let expected = base64::engine::general_purpose::STANDARD.encode(pair);
            given.strip_prefix("Basic ") == Some(expected.as_str())
        }
        WikiFlavor::DataCenter => {
            given.strip_prefix("Bearer ") == Some(credentials.personal_access_token.as_str())
        }
    }
}

fn unauthorized(flavor: WikiFlavor) -> Response {
    match flavor {
        WikiFlavor::Cloud => json_response(
            401,
            json!({"code": 401, "message": "Client must be authenticated to access this resource."}),
        ),
        WikiFlavor::DataCenter => error(
            flavor,
            401,
            "UNAUTHORIZED",
            "This request requires authentication",
        ),
    }
}

fn fault_response(flavor: WikiFlavor, fault: &WikiFault) -> Response {
    let (code, message) = match fault.status {
        429 => ("TOO_MANY_REQUESTS", "Rate limit exceeded"),
        503 => ("SERVICE_UNAVAILABLE", "Service Unavailable"),
        _ => ("INTERNAL_SERVER_ERROR", "Internal Server Error"),
    };
    let mut response = error(flavor, fault.status, code, message);
    if let Some(seconds) = fault.retry_after {
        if let Ok(value) = seconds.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// An error in the flavour's shape: Cloud v2 `{"errors":[{status, code, title, detail}]}`,
/// Data Center `{"statusCode", "data", "message", "reason"}`.
pub(crate) fn error(flavor: WikiFlavor, status: u16, code: &str, message: &str) -> Response {
    let body = match flavor {
        WikiFlavor::Cloud => json!({
            "errors": [{ "status": status, "code": code, "title": message, "detail": null }]
        }),
        WikiFlavor::DataCenter => json!({
            "statusCode": status,
            "data": { "authorized": status != 401, "valid": status != 400, "errors": [],
                      "successful": false },
            "message": message,
            "reason": StatusCode::from_u16(status)
                .ok()
                .and_then(|status| status.canonical_reason())
                .unwrap_or_default(),
        }),
    };
    json_response(status, body)
}

pub(crate) fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn cloud_spaces(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(&shared, WikiFlavor::Cloud, request, cloud_routes::spaces)
}

async fn cloud_find(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(&shared, WikiFlavor::Cloud, request, cloud_routes::find)
}

async fn cloud_create(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(&shared, WikiFlavor::Cloud, request, cloud_routes::create)
}

async fn cloud_get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(&shared, WikiFlavor::Cloud, request, |shared, params, _| {
        cloud_routes::get(shared, &id, params)
    })
}

async fn cloud_update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(&shared, WikiFlavor::Cloud, request, |shared, _, body| {
        cloud_routes::update(shared, &id, body)
    })
}

async fn datacenter_space(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(&shared, WikiFlavor::DataCenter, request, |shared, _, _| {
        datacenter_routes::space(shared, &key)
    })
}

async fn datacenter_find(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(
        &shared,
        WikiFlavor::DataCenter,
        request,
        datacenter_routes::find,
    )
}

async fn datacenter_create(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(
        &shared,
        WikiFlavor::DataCenter,
        request,
        datacenter_routes::create,
    )
}

async fn datacenter_get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(
        &shared,
        WikiFlavor::DataCenter,
        request,
        |shared, params, _| datacenter_routes::get(shared, &id, params),
    )
}

async fn datacenter_update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = (&method, &uri, &headers, &body);
    serve(
        &shared,
        WikiFlavor::DataCenter,
        request,
        |shared, _, body| datacenter_routes::update(shared, &id, body),
    )
}

/// A refused write in the flavour's words (Confluence's own messages where known).
pub(crate) fn refused(flavor: WikiFlavor, refusal: Refusal) -> Response {
    match refusal {
        Refusal::BadStorage(message) => error(flavor, 400, "INVALID_REQUEST_PARAMETER", &message),
        Refusal::TitleTaken { title, space_key } => error(
            flavor,
            400,
            "BAD_REQUEST",
            &format!(
                "A page with this title already exists: A page already exists with the title \
                 {title} in the space with key {space_key}"
            ),
        ),
        Refusal::EmptyTitle => error(flavor, 400, "BAD_REQUEST", "Title cannot be empty"),
        Refusal::NoSpace(key) => error(
            flavor,
            404,
            "NOT_FOUND",
            &format!("No space with key : {key}"),
        ),
        Refusal::NoPage(id) => error(
            flavor,
            404,
            "NOT_FOUND",
            &format!("No content found with id: {id}"),
        ),
        Refusal::NoParent(id) => error(
            flavor,
            404,
            "NOT_FOUND",
            &format!("No parent page found with id: {id}"),
        ),
        Refusal::StaleVersion { current } => error(
            flavor,
            409,
            "CONFLICT",
            &format!("Version must be incremented on update. Current version is: {current}"),
        ),
    }
}

/// A request body that is not the JSON the route needs.
pub(crate) fn malformed(flavor: WikiFlavor, what: &str) -> Response {
    error(flavor, 400, "INVALID_REQUEST_PARAMETER", what)
}

//! The fake Secrets Manager's HTTP side: AWS JSON 1.1 (`POST /`, `X-Amz-Target: secretsmanager.<Operation>`), GetSecretValue, CreateSecret and PutSecretValue, faults, and a record of every call. SigV4 is accepted unchecked.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value as Json};
use tokio::sync::watch;

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "secretsmanager.";
const ARN_PREFIX: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:";

/// A failure every call naming a secret answers with, until it is cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsFault {
    /// 400 `AccessDeniedException`, as when the role lacks secretsmanager:GetSecretValue.
    AccessDenied,
    /// 400 `ResourceNotFoundException`, whether or not the secret exists.
    NotFound,
    /// Hold the call this long (or until shutdown), then answer 500 `InternalServiceError`.
    Hang(Duration),
}

/// One call the fake answered. Secret values are never recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsCall {
    /// `GetSecretValue`, `CreateSecret`, `PutSecretValue`, …
    pub operation: String,
    /// The `SecretId` (or `Name`) as the caller sent it.
    pub secret_id: Option<String>,
    /// The secret's name, when the id named one that exists.
    pub name: Option<String>,
    /// 200, or the error's status.
    pub status: u16,
    /// The error's type, such as `ResourceNotFoundException`.
    pub error: Option<String>,
}

impl SecretsCall {
    /// Whether this call named `id`, by name or by ARN.
    pub fn names(&self, id: &str) -> bool {
        self.secret_id.as_deref() == Some(id) || self.name.as_deref() == Some(id)
    }
}

pub(crate) enum Value {
    Text(String),
    Binary(Vec<u8>),
}

struct Secret {
    arn: String,
    version: u64,
    value: Value,
    created: f64,
}

#[derive(Default)]
struct Secrets {
    secrets: BTreeMap<String, Secret>,
    faults: HashMap<String, SecretsFault>,
    calls: Vec<SecretsCall>,
    versions: u64,
}

/// What the server and the control API share.
pub(crate) struct Shared {
    state: Mutex<Secrets>,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            shutdown: watch::channel(false).0,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Secrets> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn put(&self, id: &str, value: Value) {
        let mut state = self.lock();
        state.versions += 1;
        let version = state.versions;
        let name = state.name_of(id).unwrap_or_else(|| id.to_owned());
        let created = now();
        let arn = state
            .secrets
            .get(&name)
            .map(|secret| secret.arn.clone())
            .unwrap_or_else(|| format!("{ARN_PREFIX}{name}-{:06x}", version * 7919 % 0xff_ffff));
        state.secrets.insert(
            name,
            Secret {
                arn,
                version,
                value,
                created,
            },
        );
    }

    pub(crate) fn delete(&self, id: &str) {
        let mut state = self.lock();
        if let Some(name) = state.name_of(id) {
            state.secrets.remove(&name);
        }
    }

    pub(crate) fn set_fault(&self, id: &str, fault: Option<SecretsFault>) {
        let mut state = self.lock();
        match fault {
            Some(fault) => state.faults.insert(id.to_owned(), fault),
            None => state.faults.remove(id),
        };
    }

    pub(crate) fn calls(&self) -> Vec<SecretsCall> {
        self.lock().calls.clone()
    }

    pub(crate) fn arn(&self, id: &str) -> Option<String> {
        let state = self.lock();
        let name = state.name_of(id)?;
        state.secrets.get(&name).map(|secret| secret.arn.clone())
    }
}

impl Secrets {
    /// The name of the secret `id` names: its name, its ARN, or its ARN without the suffix.
    fn name_of(&self, id: &str) -> Option<String> {
        if self.secrets.contains_key(id) {
            return Some(id.to_owned());
        }
        self.secrets
            .iter()
            .find(|(_, secret)| {
                secret.arn == id
                    || secret
                        .arn
                        .strip_prefix(id)
                        .is_some_and(|rest| rest.starts_with('-') && rest.len() == 7)
            })
            .map(|(name, _)| name.clone())
    }

    fn fault_for(&self, id: &str, name: Option<&str>) -> Option<SecretsFault> {
        [Some(id), name, Some("*")]
            .into_iter()
            .flatten()
            .find_map(|key| self.faults.get(key).cloned())
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(&shared, &headers, &body).await
}

/// An AWS error: its status, `__type` and message.
struct Failure(u16, &'static str, String);

/// Answers one call (also for a fake SQS that serves Secrets Manager on its port).
pub(crate) async fn answer(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .unwrap_or(target)
        .to_owned();
    let request: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    let secret_id = request
        .get("SecretId")
        .or_else(|| request.get("Name"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let (name, fault) = {
        let state = shared.lock();
        let name = secret_id.as_deref().and_then(|id| state.name_of(id));
        let fault = secret_id
            .as_deref()
            .and_then(|id| state.fault_for(id, name.as_deref()));
        (name, fault)
    };
    if let Some(SecretsFault::Hang(hold)) = &fault {
        let mut stop = shared.shutdown.subscribe();
        tokio::select! {
            () = tokio::time::sleep(*hold) => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }
    let outcome = match (fault, secret_id.as_deref()) {
        (Some(SecretsFault::AccessDenied), Some(id)) => Err(Failure(
            400,
            "AccessDeniedException",
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/chatops-bot/i-0sandbox is not \
                 authorized to perform: secretsmanager:{operation} on resource: {id} because no \
                 identity-based policy allows the secretsmanager:{operation} action"
            ),
        )),
        (Some(SecretsFault::NotFound), _) => Err(not_found()),
        (Some(SecretsFault::Hang(_)), _) => Err(Failure(
            500,
            "InternalServiceError",
            "the fake held this call".to_owned(),
        )),
        (_, None) => Err(Failure(
            400,
            "InvalidParameterException",
            "SecretId is required".to_owned(),
        )),
        (None, Some(id)) => dispatch(shared, &operation, id, &request),
    };
    let (status, body, error) = match outcome {
        Ok(body) => (200, body, None),
        Err(Failure(status, kind, message)) => (
            status,
            json!({"__type": kind, "message": message}),
            Some(kind.to_owned()),
        ),
    };
    shared.lock().calls.push(SecretsCall {
        operation,
        secret_id,
        name,
        status,
        error,
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    response
}

fn not_found() -> Failure {
    Failure(
        400,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.".to_owned(),
    )
}

fn dispatch(shared: &Shared, operation: &str, id: &str, request: &Json) -> Result<Json, Failure> {
    let text = request
        .get("SecretString")
        .and_then(Json::as_str)
        .map(str::to_owned);
    match operation {
        "GetSecretValue" => get_secret_value(shared, id),
        "CreateSecret" => {
            if shared.lock().name_of(id).is_some() {
                return Err(Failure(
                    400,
                    "ResourceExistsException",
                    format!("The operation failed because the secret {id} already exists."),
                ));
            }
            put(shared, id, text)
        }
        "PutSecretValue" => {
            if shared.lock().name_of(id).is_none() {
                return Err(not_found());
            }
            put(shared, id, text)
        }
        other => Err(Failure(
            400,
            "UnknownOperationException",
            format!("the fake Secrets Manager does not implement {other}"),
        )),
    }
}

fn get_secret_value(shared: &Shared, id: &str) -> Result<Json, Failure> {
    let state = shared.lock();
    let name = state.name_of(id).ok_or_else(not_found)?;
    let secret = &state.secrets[&name];
    let mut answer = json!({
        "ARN": secret.arn,
        "Name": name,
        "VersionId": version_id(secret.version),
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": secret.created,
    });
    match &secret.value {
        Value::Text(text) => answer["SecretString"] = json!(text),
        Value::Binary(bytes) => answer["SecretBinary"] = json!(STANDARD.encode(bytes)),
    }
    Ok(answer)
}

fn put(shared: &Shared, id: &str, text: Option<String>) -> Result<Json, Failure> {
    let text = text.ok_or_else(|| {
        Failure(
            400,
            "InvalidParameterException",
            "the fake takes SecretString only".to_owned(),
        )
    })?;
    shared.put(id, Value::Text(text));
    let state = shared.lock();
    let name = state.name_of(id).unwrap_or_else(|| id.to_owned());
    let secret = &state.secrets[&name];
    Ok(json!({
        "ARN": secret.arn,
        "Name": name,
        "VersionId": version_id(secret.version),
        "VersionStages": ["AWSCURRENT"],
    }))
}

/// A UUID-shaped version id, one per version.
fn version_id(version: u64) -> String {
    format!("00000000-0000-4000-8000-{version:012x}")
}

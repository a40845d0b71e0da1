//! The HTTP side of the fake SQS: AWS JSON 1.0 (`POST /`, `X-Amz-Target: AmazonSQS.<Operation>`,
//! JSON in and out), injected faults, and a record of every call. SigV4 is accepted unchecked.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tokio::time::Instant;

use crate::aws::error::SqsError;
use crate::aws::faults::SqsFault;
use crate::aws::record::{lock, SqsCall, SqsTimelineKind as Kind};
use crate::aws::shared::Shared;
use crate::aws::store::queue_name_of;
use crate::aws::{ids, message_ops, queue_ops, receive};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const TARGET_PREFIX: &str = "AmazonSQS.";
/// Calls for a fake Secrets Manager served on this port (`FakeSqs::serve_secrets_manager`).
const SECRETS_MANAGER_PREFIX: &str = "secretsmanager.";

/// A successful operation's JSON answer and the message ids it touched.
#[derive(Debug)]
pub(crate) struct Outcome {
    body: Value,
    message_ids: Vec<String>,
}

impl Outcome {
    pub(crate) fn new(body: Value) -> Self {
        Outcome {
            body,
            message_ids: Vec::new(),
        }
    }

    pub(crate) fn with_ids(mut self, ids: Vec<String>) -> Self {
        self.message_ids = ids;
        self
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Answers on a task of its own, as SQS does: a caller that hangs up (a dropped long poll, a
/// process that exits) does not cancel the call, so messages handed to an abandoned long poll
/// stay in flight until their visibility timeout, as with the real service.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = tokio::spawn(answer(shared, method, headers, body));
    match answer.await {
        Ok(response) => response,
        Err(e) => {
            let error = SqsError::internal_error();
            tracing::warn!("fake SQS call failed: {e}");
            respond(error.status, &serde_json::json!({}), Some(&error))
        }
    }
}

async fn answer(shared: Arc<Shared>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let at = Instant::now();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if target.starts_with(SECRETS_MANAGER_PREFIX) {
        let secrets = lock(&shared.secrets).clone();
        if let Some(secrets) = secrets {
            return crate::secretsmanager::answer(&secrets, &headers, &body).await;
        }
    }
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .unwrap_or(&target)
        .to_string();
    let request: Result<Value, SqsError> = if body.is_empty() {
        Ok(Value::Object(Default::default()))
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| SqsError::serialization(format!("request body is not JSON: {e}")))
    };
    let request_value = request.as_ref().cloned().unwrap_or(Value::Null);
    let queue = request_value
        .get("QueueUrl")
        .or_else(|| request_value.get("QueueName"))
        .and_then(Value::as_str)
        .map(|q| queue_name_of(q).to_string());

    let fault = shared.faults.take(&operation);
    if let Some(fault) = &fault {
        shared.note(Kind::Fault, format!("{operation} answered with {fault}"));
        if let SqsFault::Delay(delay) = fault {
            let mut stop = shared.shutdown.subscribe();
            tokio::select! {
                () = tokio::time::sleep(*delay) => {}
                () = receive::stopped(&mut stop) => {}
            }
        }
    }
    let result = match (fault.as_ref().and_then(SqsFault::error), request) {
        (Some(error), _) => Err(error),
        (None, Err(error)) => Err(error),
        (None, Ok(_)) if method != Method::POST => Err(SqsError::unknown_operation(&target)),
        (None, Ok(request)) => dispatch(&shared, &operation, &request).await,
    };

    let (status, body, error, message_ids) = match result {
        Ok(outcome) => (200, outcome.body, None, outcome.message_ids),
        Err(error) => {
            shared.note(
                Kind::ApiCall,
                format!("{operation} {} -> {error}", queue.as_deref().unwrap_or("-")),
            );
            let body = serde_json::json!({"__type": error.type_name, "message": error.message});
            (error.status, body, Some(error), Vec::new())
        }
    };
    shared.record_call(SqsCall {
        seq: shared.next_call_seq(),
        operation,
        queue,
        request: request_value,
        at,
        answered_at: Instant::now(),
        status,
        error: error.as_ref().map(|e| e.short_type().to_string()),
        fault,
        message_ids,
    });
    respond(status, &body, error.as_ref())
}

async fn dispatch(shared: &Shared, operation: &str, request: &Value) -> Result<Outcome, SqsError> {
    match operation {
        "CreateQueue" => queue_ops::create_queue(shared, request),
        "GetQueueUrl" => queue_ops::get_queue_url(shared, request),
        "GetQueueAttributes" => queue_ops::get_queue_attributes(shared, request),
        "ListQueues" => queue_ops::list_queues(shared, request),
        "PurgeQueue" => queue_ops::purge_queue(shared, request),
        "SendMessage" => message_ops::send_message(shared, request),
        "SendMessageBatch" => message_ops::send_message_batch(shared, request),
        "ReceiveMessage" => receive::receive_message(shared, request).await,
        "DeleteMessage" => message_ops::delete_message(shared, request),
        "DeleteMessageBatch" => message_ops::delete_message_batch(shared, request),
        "ChangeMessageVisibility" => message_ops::change_message_visibility(shared, request),
        "ChangeMessageVisibilityBatch" => {
            message_ops::change_message_visibility_batch(shared, request)
        }
        other => Err(SqsError::unknown_operation(other)),
    }
}

fn respond(status: u16, body: &Value, error: Option<&SqsError>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&ids::uuid()) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(error) = error {
        if let Ok(value) = HeaderValue::from_str(&error.query_error) {
            headers.insert("x-amzn-query-error", value);
        }
    }
    response
}

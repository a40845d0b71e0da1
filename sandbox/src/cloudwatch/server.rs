//! The fake CloudWatch's HTTP side: `POST /service/GraniteServiceVersion20100801/operation/<Op>` with `smithy-protocol: rpc-v2-cbor`, CBOR bodies both ways, errors with `__type` and the query-compatible `x-amzn-query-error` header. SigV4 is accepted unchecked.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_smithy_cbor::{Decoder, Encoder};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::sync::watch;

const SERVICE: &str = "GraniteServiceVersion20100801";
const GRAPH_WIDTH: u32 = 48;
const GRAPH_HEIGHT: u32 = 24;

/// What every GetMetricWidgetImage answers with, until it is cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphFault {
    /// This HTTP status with `InternalServiceError` (500) or a generic fault.
    Status(u16),
    /// 403 `AccessDenied`, as when the role lacks cloudwatch:GetMetricWidgetImage.
    AccessDenied,
    /// Hold the call this long (or until shutdown), then answer 500.
    Hang(Duration),
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetRequest {
    /// The operation from the path, e.g. `GetMetricWidgetImage`.
    pub operation: String,
    /// `MetricWidget` as sent (JSON text), when the body had it.
    pub metric_widget: Option<String>,
    pub output_format: Option<String>,
    /// 200, or the error's status; 0 while the call is still held (a hang).
    pub status: u16,
    /// The error's code, such as `AccessDenied` or `InvalidParameterValue`.
    pub error: Option<String>,
}

#[derive(Default)]
struct State_ {
    fault: Option<GraphFault>,
    requests: Vec<WidgetRequest>,
}

/// What the server and the control API share.
pub(crate) struct Shared {
    state: Mutex<State_>,
    /// The alarm-data operations' setup and requests (`alarm_data.rs`).
    pub(crate) data: Mutex<super::alarm_data::DataState>,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            data: Mutex::default(),
            shutdown: watch::channel(false).0,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_fault(&self, fault: Option<GraphFault>) {
        self.lock().fault = fault;
    }

    pub(crate) fn requests(&self) -> Vec<WidgetRequest> {
        self.lock().requests.clone()
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/service/{service}/operation/{operation}", post(handle))
        .with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((service, operation)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if super::alarm_data::DATA_OPERATIONS.contains(&operation.as_str()) && service == SERVICE {
        return data_operation(&shared, &operation, &headers, &body).await;
    }
    let (widget, format) = read_input(&body).unwrap_or((None, None));
    let (fault, index) = {
        let mut state = shared.lock();
        state.requests.push(WidgetRequest {
            operation: operation.clone(),
            metric_widget: widget.clone(),
            output_format: format.clone(),
            status: 0,
            error: None,
        });
        (state.fault.clone(), state.requests.len() - 1)
    };
    if let Some(GraphFault::Hang(hold)) = &fault {
        let mut stop = shared.shutdown.subscribe();
        tokio::select! {
            () = tokio::time::sleep(*hold) => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }
    let protocol = headers
        .get("smithy-protocol")
        .and_then(|value| value.to_str().ok());
    let outcome = if service != SERVICE || protocol != Some("rpc-v2-cbor") {
        Err(failure(
            400,
            "UnknownOperation",
            "expected smithy-protocol rpc-v2-cbor",
        ))
    } else if operation != "GetMetricWidgetImage" {
        Err(failure(
            400,
            "UnknownOperation",
            "the fake answers only GetMetricWidgetImage",
        ))
    } else {
        match fault {
            Some(GraphFault::AccessDenied) => Err(failure(
                403,
                "AccessDenied",
                "User: arn:aws:sts::123456789012:assumed-role/chatops-bot/i-0sandbox is not \
                 authorized to perform: cloudwatch:GetMetricWidgetImage because no \
                 identity-based policy allows the cloudwatch:GetMetricWidgetImage action",
            )),
            Some(GraphFault::Status(status)) => Err(failure(
                status,
                "InternalServiceError",
                "the fake failed on purpose",
            )),
            Some(GraphFault::Hang(_)) => Err(failure(
                500,
                "InternalServiceError",
                "the fake held this call",
            )),
            None => check_widget(widget.as_deref(), format.as_deref()),
        }
    };
    let (status, error) = match &outcome {
        Ok(_) => (200, None),
        Err(failure) => (failure.status, Some(failure.code.to_owned())),
    };
    if let Some(request) = shared.lock().requests.get_mut(index) {
        request.status = status;
        request.error = error;
    }
    match outcome {
        Ok(png) => {
            let mut encoder = Encoder::new(Vec::new());
            encoder
                .begin_map()
                .str("MetricWidgetImage")
                .blob_bytes(&png)
                .end();
            cbor_response(StatusCode::OK, encoder.into_writer(), None)
        }
        Err(failure) => {
            let mut encoder = Encoder::new(Vec::new());
            encoder
                .begin_map()
                .str("__type")
                .str(&format!("com.amazonaws.cloudwatch#{}", failure.code))
                .str("message")
                .str(&failure.message)
                .end();
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_REQUEST);
            let query_error = format!("{};Sender", failure.code);
            cbor_response(status, encoder.into_writer(), Some(query_error))
        }
    }
}

/// GetMetricData, DescribeAlarms, DescribeAlarmHistory (`alarm_data.rs`), a hang held here.
async fn data_operation(
    shared: &Shared,
    operation: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    use super::alarm_data::{answer, DataFault};
    let data = || shared.data.lock().unwrap_or_else(|e| e.into_inner());
    let hang = match data().faults.get(operation) {
        Some(DataFault::Hang(hold)) => Some(*hold),
        _ => None,
    };
    if let Some(hold) = hang {
        let mut stop = shared.shutdown.subscribe();
        tokio::select! {
            () = tokio::time::sleep(hold) => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }
    let protocol = headers.get("smithy-protocol").and_then(|v| v.to_str().ok());
    let outcome = if protocol == Some("rpc-v2-cbor") {
        answer(&mut data(), operation, body)
    } else {
        Err((
            400,
            "UnknownOperation",
            "expected smithy-protocol rpc-v2-cbor".to_owned(),
        ))
    };
    match outcome {
        Ok(body) => cbor_response(StatusCode::OK, body, None),
        Err((status, code, message)) => {
            let mut encoder = Encoder::new(Vec::new());
            encoder
                .begin_map()
                .str("__type")
                .str(&format!("com.amazonaws.cloudwatch#{code}"))
                .str("message")
                .str(&message)
                .end();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            cbor_response(
                status,
                encoder.into_writer(),
                Some(format!("{code};Sender")),
            )
        }
    }
}

/// CloudWatch's rules the bot must keep: `MetricWidget` is JSON with 1 to 100 metrics, and
/// `OutputFormat` is `png`.
fn check_widget(widget: Option<&str>, format: Option<&str>) -> Result<Vec<u8>, Failure> {
    let invalid = |message: &str| failure(400, "InvalidParameterValue", message);
    let widget = widget.ok_or_else(|| invalid("MetricWidget is required"))?;
    let parsed: serde_json::Value =
        serde_json::from_str(widget).map_err(|_| invalid("MetricWidget is not valid JSON"))?;
    let metrics = parsed.get("metrics").and_then(|metrics| metrics.as_array());
    if !metrics.is_some_and(|metrics| (1..=100).contains(&metrics.len())) {
        return Err(invalid("The metrics field must hold 1 to 100 metrics"));
    }
    if format != Some("png") {
        return Err(invalid("OutputFormat must be png"));
    }
    Ok(super::tiny_png(GRAPH_WIDTH, GRAPH_HEIGHT))
}

/// `MetricWidget` and `OutputFormat` from the CBOR map; `None` if the body is not one.
fn read_input(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let mut decoder = Decoder::new(body);
    let (mut widget, mut format) = (None, None);
    let mut pair = |decoder: &mut Decoder| -> Option<()> {
        let key = decoder.str().ok()?.into_owned();
        match key.as_str() {
            "MetricWidget" => widget = Some(decoder.string().ok()?),
            "OutputFormat" => format = Some(decoder.string().ok()?),
            _ => decoder.skip().ok()?,
        }
        Some(())
    };
    match decoder.map().ok()? {
        Some(len) => {
            for _ in 0..len {
                pair(&mut decoder)?;
            }
        }
        None => loop {
            if decoder.datatype().ok()? == aws_smithy_cbor::data::Type::Break {
                break;
            }
            pair(&mut decoder)?;
        },
    }
    Some((widget, format))
}

struct Failure {
    status: u16,
    code: &'static str,
    message: String,
}

fn failure(status: u16, code: &'static str, message: &str) -> Failure {
    Failure {
        status,
        code,
        message: message.to_owned(),
    }
}

fn cbor_response(status: StatusCode, body: Vec<u8>, query_error: Option<String>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", "application/cbor".parse().expect("static"));
    headers.insert("smithy-protocol", "rpc-v2-cbor".parse().expect("static"));
    headers.insert(
        "x-amzn-requestid",
        "fake-cloudwatch-request".parse().expect("static"),
    );
    if let Some(value) = query_error.and_then(|value| value.parse().ok()) {
        headers.insert("x-amzn-query-error", value);
    }
    response
}

//! How a script's steps go on the wire for each API: InvokeAgent and ConverseStream as
//! event-stream frames, InvokeAgentRuntime as server-sent events. A step stream ends with the
//! API's closing frames, unless an exception or a stall ended it first.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures_util::stream;
use serde_json::json;

use crate::bedrock::frames;
use crate::bedrock::script::StreamStep;
use crate::bedrock::shared::Shared;

const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// The exceptions ConverseStream streams; any other kind goes out as a
/// `modelStreamErrorException` (what the service does with a failure it has no event for).
pub(crate) const CONVERSE_STREAM_EXCEPTIONS: [&str; 5] = [
    "throttlingException",
    "validationException",
    "modelStreamErrorException",
    "internalServerException",
    "serviceUnavailableException",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wire {
    InvokeAgent,
    Converse,
    RuntimeSse,
    /// Server-sent events as an agent framework streams them (`RuntimeResponse::FrameworkEvents`).
    RuntimeFramework,
}

impl Wire {
    fn content_type(self) -> &'static str {
        match self {
            Wire::InvokeAgent | Wire::Converse => EVENT_STREAM,
            Wire::RuntimeSse | Wire::RuntimeFramework => "text/event-stream",
        }
    }

    fn opening(self) -> Vec<u8> {
        match self {
            Wire::Converse => frames::event("messageStart", &json!({ "role": "assistant" })),
            _ => Vec::new(),
        }
    }

    fn text(self, session_id: &str, step_text: &str, step: &StreamStep) -> Vec<u8> {
        match (self, step) {
            (Wire::InvokeAgent, StreamStep::Chunk { citations, .. }) => {
                frames::chunk(step_text.as_bytes(), citations)
            }
            (Wire::InvokeAgent, _) => frames::chunk(step_text.as_bytes(), &[]),
            (Wire::Converse, _) => frames::event(
                "contentBlockDelta",
                &json!({ "contentBlockIndex": 0, "delta": { "text": step_text } }),
            ),
            (Wire::RuntimeSse, _) => {
                let _ = session_id;
                format!("data: {}\n\n", json!(step_text)).into_bytes()
            }
            // The raw model event, then the text event: the same text twice.
            (Wire::RuntimeFramework, _) => format!(
                "data: {}\n\ndata: {}\n\n",
                json!({ "event": { "contentBlockDelta": { "contentBlockIndex": 0, "delta": { "text": step_text } } } }),
                json!({ "data": step_text, "delta": { "text": step_text } })
            )
            .into_bytes(),
        }
    }

    fn exception(self, kind: &str, message: &str) -> Vec<u8> {
        match self {
            Wire::InvokeAgent => frames::exception(kind, message),
            Wire::Converse if CONVERSE_STREAM_EXCEPTIONS.contains(&kind) => {
                frames::exception(kind, message)
            }
            Wire::Converse => frames::exception("modelStreamErrorException", message),
            Wire::RuntimeSse | Wire::RuntimeFramework => format!(
                "data: {}\n\n",
                json!({ "error": message, "error_type": kind, "message": "An error occurred during streaming" })
            )
            .into_bytes(),
        }
    }

    fn closing(self, sent: &str) -> Vec<u8> {
        match self {
            Wire::RuntimeFramework => {
                let message =
                    json!({ "message": { "role": "assistant", "content": [{ "text": sent }] } });
                format!("data: {message}\n\n").into_bytes()
            }
            Wire::Converse => {
                let mut bytes =
                    frames::event("contentBlockStop", &json!({ "contentBlockIndex": 0 }));
                bytes.extend(frames::event(
                    "messageStop",
                    &json!({ "stopReason": "end_turn" }),
                ));
                bytes.extend(frames::event(
                    "metadata",
                    &json!({
                        "usage": { "inputTokens": 10, "outputTokens": 20, "totalTokens": 30 },
                        "metrics": { "latencyMs": 5 }
                    }),
                ));
                bytes
            }
            _ => Vec::new(),
        }
    }
}

struct Play {
    steps: std::vec::IntoIter<StreamStep>,
    shared: Arc<Shared>,
    session_id: String,
    wire: Wire,
    /// Raw bytes held until they are whole UTF-8 (a JSON text must be).
    pending: Vec<u8>,
    /// The text sent so far (a framework's final message repeats it).
    sent: String,
    opened: bool,
    ended: bool,
}

/// Plays `steps` out on `wire`. A stall waits for the fake's shutdown, so the client sees an
/// open, silent connection.
pub(crate) fn stream_response(
    shared: Arc<Shared>,
    session_id: String,
    steps: Vec<StreamStep>,
    wire: Wire,
) -> Response {
    let play = Play {
        steps: steps.into_iter(),
        shared,
        session_id: session_id.clone(),
        wire,
        pending: Vec::new(),
        sent: String::new(),
        opened: false,
        ended: false,
    };
    let frames = stream::unfold(play, |mut play| async move {
        if play.ended {
            return None;
        }
        if !play.opened {
            play.opened = true;
            let opening = play.wire.opening();
            if !opening.is_empty() {
                return Some((Ok::<_, std::io::Error>(Bytes::from(opening)), play));
            }
        }
        loop {
            let Some(step) = play.steps.next() else {
                play.ended = true;
                let closing = play.wire.closing(&play.sent);
                return (!closing.is_empty()).then(|| (Ok(Bytes::from(closing)), play));
            };
            let frame = match &step {
                StreamStep::Chunk { text, .. } => {
                    play.shared.record_chunk(&play.session_id, text);
                    play.sent.push_str(text);
                    play.wire.text(&play.session_id, text, &step)
                }
                StreamStep::RawChunk(bytes) if play.wire == Wire::InvokeAgent => {
                    frames::chunk(bytes, &[])
                }
                StreamStep::RawChunk(bytes) => {
                    play.pending.extend_from_slice(bytes);
                    let Ok(text) = std::str::from_utf8(&play.pending) else {
                        continue;
                    };
                    let text = text.to_owned();
                    play.pending.clear();
                    play.sent.push_str(&text);
                    play.wire.text(&play.session_id, &text, &step)
                }
                StreamStep::Trace(text) if play.wire == Wire::InvokeAgent => {
                    frames::trace(&play.session_id, text)
                }
                StreamStep::Trace(_) => continue,
                StreamStep::Exception { kind, message } => {
                    play.ended = true;
                    play.wire.exception(kind, message)
                }
                StreamStep::Delay(wait) => {
                    tokio::time::sleep(*wait).await;
                    continue;
                }
                StreamStep::WaitForRelease => {
                    if !wait_for_release(&play.shared).await {
                        return None;
                    }
                    continue;
                }
                StreamStep::Stall => {
                    let mut stop = play.shared.shutdown.subscribe();
                    let _ = stop.wait_for(|stopping| *stopping).await;
                    return None;
                }
            };
            return Some((Ok(Bytes::from(frame)), play));
        }
    });
    let mut response = Response::new(Body::from_stream(frames));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire.content_type()),
    );
    match wire {
        Wire::InvokeAgent => {
            headers.insert(
                "x-amzn-bedrock-agent-content-type",
                HeaderValue::from_static("application/json"),
            );
            if let Ok(value) = HeaderValue::from_str(&session_id) {
                headers.insert("x-amz-bedrock-agent-session-id", value);
            }
        }
        Wire::RuntimeSse | Wire::RuntimeFramework => {
            if let Ok(value) = HeaderValue::from_str(&session_id) {
                headers.insert("x-amzn-bedrock-agentcore-runtime-session-id", value);
            }
        }
        Wire::Converse => {}
    }
    response
}

/// Waits for one `FakeBedrock::release`; false when the fake shuts down first.
pub(crate) async fn wait_for_release(shared: &Shared) -> bool {
    let mut stop = shared.shutdown.subscribe();
    tokio::select! {
        permit = shared.releases.acquire() => match permit {
            Ok(permit) => {
                permit.forget();
                true
            }
            Err(_) => false,
        },
        _ = stop.wait_for(|stopping| *stopping) => false,
    }
}

/// The HTTP error an API answers with instead of a stream whose first event would be the
/// exception `kind` (for APIs that cannot stream it): its status and error type.
pub(crate) fn http_error_for(kind: &str) -> (u16, String) {
    let mut error_type = kind.to_owned();
    if let Some(first) = error_type.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    let status = match kind {
        "throttlingException" => 429,
        "accessDeniedException" => 403,
        "resourceNotFoundException" => 404,
        "validationException" => 400,
        "serviceQuotaExceededException" => 402,
        _ => 500,
    };
    (status, error_type)
}

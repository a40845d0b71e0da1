//! The `application/vnd.amazon.eventstream` frames of an InvokeAgent or ConverseStream answer,
//! written with aws-smithy-eventstream as the service writes them.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::Engine;
use serde_json::{json, Value};

use crate::bedrock::script::FakeCitation;

/// A `chunk` event: `{"bytes": "<base64>", "attribution": …}`.
pub(crate) fn chunk(bytes: &[u8], citations: &[FakeCitation]) -> Vec<u8> {
    let mut payload = json!({ "bytes": base64::engine::general_purpose::STANDARD.encode(bytes) });
    if !citations.is_empty() {
        let citations: Vec<Value> = citations.iter().map(citation).collect();
        payload["attribution"] = json!({ "citations": citations });
    }
    event("chunk", &payload)
}

/// A `trace` event carrying an orchestration rationale.
pub(crate) fn trace(session_id: &str, text: &str) -> Vec<u8> {
    let payload = json!({
        "agentId": "FAKEAGENT",
        "agentAliasId": "FAKEALIAS",
        "sessionId": session_id,
        "trace": { "orchestrationTrace": { "rationale": { "traceId": "trace-1", "text": text } } }
    });
    event("trace", &payload)
}

/// An exception message: `:message-type: exception`, `:exception-type: <kind>`.
pub(crate) fn exception(kind: &str, message: &str) -> Vec<u8> {
    let headers = vec![
        Header::new(":message-type", HeaderValue::String("exception".into())),
        Header::new(
            ":exception-type",
            HeaderValue::String(kind.to_owned().into()),
        ),
        Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ),
    ];
    frame(headers, &json!({ "message": message }))
}

fn citation(cited: &FakeCitation) -> Value {
    let location = if cited.url.starts_with("s3://") {
        json!({ "type": "S3", "s3Location": { "uri": cited.url } })
    } else {
        json!({ "type": "WEB", "webLocation": { "url": cited.url } })
    };
    let mut reference = json!({ "content": { "text": cited.text }, "location": location });
    if let Some(title) = &cited.title {
        reference["metadata"] = json!({ "title": title });
    }
    json!({
        "generatedResponsePart": {
            "textResponsePart": {
                "text": cited.text,
                "span": { "start": 0, "end": cited.text.chars().count() }
            }
        },
        "retrievedReferences": [reference]
    })
}

pub(crate) fn event(event_type: &str, payload: &Value) -> Vec<u8> {
    let headers = vec![
        Header::new(":message-type", HeaderValue::String("event".into())),
        Header::new(
            ":event-type",
            HeaderValue::String(event_type.to_owned().into()),
        ),
        Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ),
    ];
    frame(headers, payload)
}

fn frame(headers: Vec<Header>, payload: &Value) -> Vec<u8> {
    let message = Message::new_from_parts(headers, payload.to_string().into_bytes());
    let mut buffer = Vec::new();
    write_message_to(&message, &mut buffer).expect("an event stream frame always encodes");
    buffer
}

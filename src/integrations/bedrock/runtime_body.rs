//! How an AgentCore runtime's answer is read (pure): a `text/event-stream` body event by event
//! (`data:` lines, [`event_piece`]), or a whole JSON body ([`piece_of`]); the same text comes
//! out either way ([`text_of`]), so an answer shows the same whichever way the runtime sends it.

use serde_json::Value;

/// What one payload (an SSE event's data, or the whole body) carries.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Text(String),
    /// A streamed event that carries the whole answer again (a final `message` or `result`,
    /// as agent frameworks send after their text deltas): shown only when no text came.
    Whole(String),
    /// The runtime reported an error (`{"error": …, "error_type": …}`, as the AgentCore
    /// Python SDK streams one).
    Error {
        kind: Option<String>,
        message: String,
    },
    /// Nothing to show (metadata, a tool event).
    Nothing,
}

/// One payload: a JSON string is text; an object is an error or its text; anything that is not
/// JSON is text as it is.
pub(super) fn piece_of(data: &str) -> Piece {
    let Ok(value) = serde_json::from_str::<Value>(data) else {
        return Piece::Text(data.to_owned());
    };
    if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
        let message = match error {
            Value::String(text) => text.clone(),
            other => text_of(other).unwrap_or_else(|| other.to_string()),
        };
        let kind = ["error_type", "errorType", "type", "code"]
            .iter()
            .find_map(|key| value.get(*key).and_then(Value::as_str))
            .map(str::to_owned);
        return Piece::Error { kind, message };
    }
    match text_of(&value) {
        Some(text) => Piece::Text(text),
        None => Piece::Nothing,
    }
}

/// One streamed event: a JSON string, or an object's `data` or `text` string, is a piece of
/// text; an error is an error; an object with a whole answer (`message`, `result`, `response`,
/// `output`, `content`, `completion`, `answer`) is [`Piece::Whole`]; anything else (raw model
/// events, tool events, metadata) is nothing, so no text is shown twice.
pub(super) fn event_piece(data: &str) -> Piece {
    let Ok(value) = serde_json::from_str::<Value>(data) else {
        return Piece::Text(data.to_owned());
    };
    let Value::Object(fields) = &value else {
        return piece_of(data);
    };
    if fields.get("error").is_some_and(|error| !error.is_null()) {
        return piece_of(data);
    }
    for key in ["data", "text"] {
        if let Some(Value::String(text)) = fields.get(key) {
            return Piece::Text(text.clone());
        }
    }
    const WHOLE: [&str; 7] = [
        "message",
        "result",
        "response",
        "output",
        "content",
        "completion",
        "answer",
    ];
    WHOLE
        .iter()
        .find_map(|key| fields.get(*key).and_then(text_of))
        .map_or(Piece::Nothing, Piece::Whole)
}

/// The text in a payload: a string; or in an object, the first of the usual fields (`data`,
/// `text`, `delta`, `contentBlockDelta`, `event`, `result`, `response`, `output`, `content`,
/// `message`, `completion`, `answer`), looked into; an array's texts joined.
pub(super) fn text_of(value: &Value) -> Option<String> {
    const FIELDS: [&str; 12] = [
        "data",
        "text",
        "delta",
        "contentBlockDelta",
        "event",
        "result",
        "response",
        "output",
        "content",
        "message",
        "completion",
        "answer",
    ];
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => {
            let texts: Vec<String> = items.iter().filter_map(text_of).collect();
            (!texts.is_empty()).then(|| texts.concat())
        }
        Value::Object(fields) => FIELDS
            .iter()
            .find_map(|field| fields.get(*field).and_then(text_of)),
        _ => None,
    }
}

/// A `text/event-stream` read as it arrives: bytes in, the data of each finished event out.
#[derive(Debug, Default)]
pub(super) struct SseEvents {
    pending: Vec<u8>,
    data: Vec<String>,
}

impl SseEvents {
    /// The data of every event that `bytes` completes (a blank line ends an event; the `data:`
    /// lines of one event are joined with `\n`; comments and other fields are skipped).
    pub(super) fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut done = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            self.line(line, &mut done);
        }
        done
    }

    /// What is left when the stream ends: a last event without its blank line.
    pub(super) fn finish(&mut self) -> Vec<String> {
        let mut done = Vec::new();
        if !self.pending.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
            self.line(rest.trim_end_matches('\r'), &mut done);
        }
        self.line("", &mut done);
        done
    }

    fn line(&mut self, line: &str, done: &mut Vec<String>) {
        if line.is_empty() {
            if !self.data.is_empty() {
                done.push(std::mem::take(&mut self.data).join("\n"));
            }
        } else if let Some(data) = line.strip_prefix("data:") {
            self.data
                .push(data.strip_prefix(' ').unwrap_or(data).to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_cut_at_blank_lines_whatever_the_chunks() {
        let body = "data: \"Hel\"\n\n: a comment\ndata: \"lo\"\r\n\r\nevent: x\ndata: {\"a\":\ndata: 1}\n\ndata: last";
        for size in [1, 2, 3, 7, body.len()] {
            let mut events = SseEvents::default();
            let mut all = Vec::new();
            for chunk in body.as_bytes().chunks(size) {
                all.extend(events.push(chunk));
            }
            all.extend(events.finish());
            assert_eq!(
                all,
                ["\"Hel\"", "\"lo\"", "{\"a\":\n1}", "last"],
                "size {size}"
            );
        }
    }

    #[test]
    fn streamed_events_show_each_piece_of_text_once() {
        assert_eq!(event_piece("\"Hel\""), Piece::Text("Hel".into()));
        assert_eq!(
            event_piece(r#"{"data": "lo", "delta": {"text": "lo"}}"#),
            Piece::Text("lo".into())
        );
        // The raw model event beside it carries the same text: not shown again.
        assert_eq!(
            event_piece(r#"{"event": {"contentBlockDelta": {"delta": {"text": "lo"}}}}"#),
            Piece::Nothing
        );
        assert_eq!(
            event_piece(r#"{"message": {"role": "assistant", "content": [{"text": "Hello"}]}}"#),
            Piece::Whole("Hello".into())
        );
        assert_eq!(event_piece(r#"{"init_event_loop": true}"#), Piece::Nothing);
        assert_eq!(
            event_piece(r#"{"error": "boom", "error_type": "ValueError"}"#),
            Piece::Error {
                kind: Some("ValueError".into()),
                message: "boom".into()
            }
        );
    }

    #[test]
    fn payloads_become_text_the_same_way_streamed_or_whole() {
        assert_eq!(
            piece_of("\"Check the DB.\""),
            Piece::Text("Check the DB.".into())
        );
        assert_eq!(piece_of("plain words"), Piece::Text("plain words".into()));
        assert_eq!(
            piece_of(r#"{"result": {"content": [{"text": "A"}, {"text": "B"}]}}"#),
            Piece::Text("AB".into())
        );
        assert_eq!(
            piece_of(r#"{"event": {"contentBlockDelta": {"delta": {"text": "x"}}}}"#),
            Piece::Text("x".into())
        );
        assert_eq!(
            piece_of(r#"{"response": "whole"}"#),
            Piece::Text("whole".into())
        );
        assert_eq!(piece_of(r#"{"usage": {"tokens": 3}}"#), Piece::Nothing);
        assert_eq!(
            piece_of(r#"{"error": "too many", "error_type": "ThrottlingException"}"#),
            Piece::Error {
                kind: Some("ThrottlingException".into()),
                message: "too many".into()
            }
        );
    }
}

//! What the fake agent does for one InvokeAgent call: an HTTP error, or a stream of steps.

use std::time::Duration;

/// How the fake answers one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentScript {
    /// An HTTP error before any stream: `status`, `x-amzn-errortype: error_type` and the JSON
    /// body `{"message": …}` the SDK maps to its error variants (e.g. 429 `ThrottlingException`,
    /// 403 `AccessDeniedException`, 404 `ResourceNotFoundException`, 500 `InternalServerException`).
    HttpError {
        status: u16,
        error_type: String,
        message: String,
    },
    /// A 200 with an `application/vnd.amazon.eventstream` body made of these steps, in order.
    Stream(Vec<StreamStep>),
}

/// One step of a streamed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamStep {
    /// A `chunk` event with these bytes of text and, optionally, the sources it cites.
    Chunk {
        text: String,
        citations: Vec<FakeCitation>,
    },
    /// A `chunk` event with raw bytes (e.g. half a UTF-8 character).
    RawChunk(Vec<u8>),
    /// A `trace` event (an orchestration rationale with this text).
    Trace(String),
    /// An in-stream exception, e.g. `throttlingException`, `accessDeniedException`,
    /// `resourceNotFoundException`, `internalServerException`. The stream ends after it.
    Exception { kind: String, message: String },
    /// Waits before the next step.
    Delay(Duration),
    /// Waits until the test calls `FakeBedrock::release` (one release per waiting step), so a
    /// test can look at what arrived so far while the answer is certainly not finished.
    WaitForRelease,
    /// Sends nothing more and keeps the connection open (until the client hangs up or the fake
    /// shuts down).
    Stall,
}

/// One source cited by a chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeCitation {
    /// The part of the answer it supports.
    pub text: String,
    /// `https://…` (sent as a web location) or `s3://…` (an S3 location).
    pub url: String,
    /// Sent as the reference's `title` metadata.
    pub title: Option<String>,
}

impl AgentScript {
    /// `text` streamed as `pieces` chunks of about equal size, `delay` before each.
    pub fn answer_in_pieces(text: &str, pieces: usize, delay: Duration) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let size = chars.len().div_ceil(pieces.max(1)).max(1);
        let mut steps = Vec::new();
        for part in chars.chunks(size) {
            if !delay.is_zero() {
                steps.push(StreamStep::Delay(delay));
            }
            steps.push(StreamStep::chunk(&part.iter().collect::<String>()));
        }
        AgentScript::Stream(steps)
    }

    /// An HTTP error answer.
    pub fn http_error(status: u16, error_type: &str, message: &str) -> Self {
        AgentScript::HttpError {
            status,
            error_type: error_type.to_owned(),
            message: message.to_owned(),
        }
    }

    /// A stream that is only an in-stream exception.
    pub fn exception(kind: &str, message: &str) -> Self {
        AgentScript::Stream(vec![StreamStep::exception(kind, message)])
    }
}

impl StreamStep {
    /// A chunk of text without citations.
    pub fn chunk(text: &str) -> Self {
        StreamStep::Chunk {
            text: text.to_owned(),
            citations: Vec::new(),
        }
    }

    /// An in-stream exception.
    pub fn exception(kind: &str, message: &str) -> Self {
        StreamStep::Exception {
            kind: kind.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl Default for AgentScript {
    /// A short answer in three pieces, 20 ms apart.
    fn default() -> Self {
        AgentScript::answer_in_pieces(
            "## Likely causes\n\n1. A traffic spike.\n2. A slow dependency.\n\n\
             Check the **load balancer** metrics first.",
            3,
            Duration::from_millis(20),
        )
    }
}

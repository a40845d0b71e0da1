//! The streaming trio (`chat.startStream`, `chat.appendStream`, `chat.stopStream`) with Slack's
//! checks, the switch that refuses them, and reading a thread as a user sees it.

use serde_json::{json, Map, Value};

use crate::slack::clock::next_ts;
use crate::slack::messages::{str_param, StoredMessage, StreamedText};
use crate::slack::state::Shared;
use crate::slack::timeline::{lock, TimelineKind};
use crate::slack::FakeSlack;

/// The streaming methods.
pub(crate) const STREAM_METHODS: [&str; 3] =
    ["chat.startStream", "chat.appendStream", "chat.stopStream"];

/// Slack's cap on `markdown_text` in one streaming call.
pub const MAX_STREAM_MARKDOWN_CHARS: usize = 12_000;

type Params = Map<String, Value>;

/// Answers one streaming call (auth already checked); `Err` is Slack's error code.
pub(crate) fn handle(
    shared: &Shared,
    method: &str,
    channel: String,
    params: &Params,
) -> Result<Value, String> {
    if let Some(error) = lock(&shared.stream_refusal).clone() {
        return Err(error);
    }
    let markdown = str_param(params, "markdown_text");
    if markdown
        .as_ref()
        .is_some_and(|m| m.chars().count() > MAX_STREAM_MARKDOWN_CHARS)
    {
        return Err("msg_too_long".into());
    }
    match method {
        "chat.startStream" => start(shared, channel, params, markdown),
        "chat.appendStream" => {
            let markdown = markdown.filter(|m| !m.is_empty()).ok_or("no_text")?;
            with_live_stream(shared, &channel, params, |_, stream| {
                stream.markdown.push_str(&markdown);
                stream.appends += 1;
            })
        }
        _ => with_live_stream(shared, &channel, params, |message, stream| {
            if let Some(markdown) = &markdown {
                stream.markdown.push_str(markdown);
            }
            stream.live = false;
            if let Some(blocks) = params.get("blocks") {
                message.blocks = Some(blocks.clone());
            }
        }),
    }
}

fn start(
    shared: &Shared,
    channel: String,
    params: &Params,
    markdown: Option<String>,
) -> Result<Value, String> {
    let thread_ts = str_param(params, "thread_ts").ok_or("invalid_arguments")?;
    let user = str_param(params, "recipient_user_id").filter(|u| !u.is_empty());
    let team = str_param(params, "recipient_team_id").filter(|t| !t.is_empty());
    // Optional in a DM only (https://docs.slack.dev/reference/methods/chat.startStream).
    if !channel.starts_with('D') && (user.is_none() || team.is_none()) {
        return Err("invalid_arguments".into());
    }
    let ts = next_ts();
    let mut message = StoredMessage::from_post(&channel, ts.clone(), &Map::new());
    message.thread_ts = Some(thread_ts);
    message.stream = Some(StreamedText {
        markdown: markdown.unwrap_or_default(),
        live: true,
        recipient_user: user,
        appends: 0,
    });
    lock(&shared.messages).insert(message);
    Ok(json!({"ok": true, "channel": channel, "ts": ts}))
}

fn with_live_stream(
    shared: &Shared,
    channel: &str,
    params: &Params,
    change: impl FnOnce(&mut StoredMessage, &mut StreamedText),
) -> Result<Value, String> {
    let ts = str_param(params, "ts").ok_or("message_not_found")?;
    let mut store = lock(&shared.messages);
    let message = store.get_mut(channel, &ts).ok_or("message_not_found")?;
    let mut stream = match message.stream.take() {
        Some(stream) if stream.live => stream,
        other => {
            message.stream = other;
            return Err("message_not_in_streaming_state".into());
        }
    };
    change(message, &mut stream);
    message.stream = Some(stream);
    message.edits += 1;
    Ok(json!({"ok": true, "channel": channel, "ts": ts}))
}

impl FakeSlack {
    /// The streaming methods answer `{"ok":false,"error":error}` (e.g. `unknown_method`,
    /// `feature_not_enabled`) until cleared with `None`.
    pub fn refuse_streaming(&self, error: Option<&str>) {
        let text = match error {
            Some(error) => format!("chat.*Stream will answer {error}"),
            None => "chat.*Stream work again".to_string(),
        };
        self.shared.note(TimelineKind::Fault, text);
        *lock(&self.shared.stream_refusal) = error.map(str::to_string);
    }

    /// Ends the live stream `ts` on Slack's side, as an idle stream expires: later appends and
    /// stops answer `message_not_in_streaming_state`.
    pub fn expire_stream(&self, channel: &str, ts: &str) {
        self.shared.note(
            TimelineKind::Fault,
            format!("stream {channel}/{ts} expired"),
        );
        if let Some(message) = lock(&self.shared.messages).get_mut(channel, ts) {
            if let Some(stream) = message.stream.as_mut() {
                stream.live = false;
            }
        }
    }

    /// The bot's replies in the thread rooted at `thread_ts`, in order, as a user reads them
    /// (see [`StoredMessage::visible_text`]).
    pub fn thread_texts(&self, channel: &str, thread_ts: &str) -> Vec<String> {
        lock(&self.shared.messages)
            .thread(channel, thread_ts)
            .iter()
            .filter(|m| m.ts != thread_ts && m.from_api)
            .map(StoredMessage::visible_text)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::FakeSlackOptions;

    fn shared() -> Shared {
        let addr = "127.0.0.1:9".parse().unwrap();
        Shared::new(FakeSlackOptions::default(), addr, addr)
    }

    fn call(shared: &Shared, method: &str, channel: &str, params: Value) -> Result<Value, String> {
        let params = params.as_object().cloned().unwrap_or_default();
        handle(shared, method, channel.to_owned(), &params)
    }

    #[test]
    fn slack_checks_recipients_caps_and_live_streams() {
        let s = shared();
        let start = json!({"thread_ts": "1.1", "markdown_text": "Hi"});
        assert_eq!(
            call(&s, "chat.startStream", "C1", start.clone()),
            Err("invalid_arguments".into()),
            "a channel needs the recipient"
        );
        assert!(
            call(&s, "chat.startStream", "D1", start).is_ok(),
            "a DM does not"
        );
        let start = json!({"thread_ts": "1.1", "recipient_user_id": "U1",
            "recipient_team_id": "T1", "markdown_text": "Hi"});
        let ts = call(&s, "chat.startStream", "C1", start).unwrap()["ts"]
            .as_str()
            .unwrap()
            .to_owned();
        let too_long = json!({"ts": ts, "markdown_text": "x".repeat(12_001)});
        assert_eq!(
            call(&s, "chat.appendStream", "C1", too_long),
            Err("msg_too_long".into())
        );
        let more = json!({"ts": ts, "markdown_text": " there"});
        call(&s, "chat.appendStream", "C1", more.clone()).unwrap();
        call(
            &s,
            "chat.stopStream",
            "C1",
            json!({"ts": ts, "markdown_text": "."}),
        )
        .unwrap();
        assert_eq!(
            call(&s, "chat.appendStream", "C1", more),
            Err("message_not_in_streaming_state".into())
        );
        assert_eq!(
            call(&s, "chat.stopStream", "C1", json!({"ts": "9.9"})),
            Err("message_not_found".into())
        );
        let thread = lock(&s.messages).thread("C1", "1.1");
        assert_eq!(thread[0].visible_text(), "Hi there.");
        assert_eq!(thread[0].stream.as_ref().map(|s| s.appends), Some(1));
    }

    #[test]
    fn the_switch_refuses_every_streaming_method() {
        let s = shared();
        *lock(&s.stream_refusal) = Some("unknown_method".into());
        for method in STREAM_METHODS {
            assert_eq!(
                call(&s, method, "C1", json!({"ts": "1.1"})),
                Err("unknown_method".into())
            );
        }
    }
}

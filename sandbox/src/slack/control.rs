//! The control API of `FakeSlack`: send envelopes, read what happened, wait for it, inject faults.

use std::time::Duration;

use anyhow::{anyhow, Context};
use tokio::sync::oneshot;

use crate::slack::connection::{describe_end, Control};
use crate::slack::delivery::{self, SentEnvelope, Target};
use crate::slack::envelope::Envelope;
use crate::slack::faults::HttpFault;
use crate::slack::messages::{EphemeralMessage, StoredMessage};
use crate::slack::record::{
    AckRecord, ApiCall, ConnId, ConnectionEnd, ConnectionRecord, HandshakeRejection, MalformedFrame,
};
use crate::slack::timeline::{lock, TimelineEntry, TimelineKind};
use crate::slack::FakeSlack;

/// How long `disconnect` and `abort` wait for the connection task to carry the command out.
const COMMAND_WAIT: Duration = Duration::from_secs(5);

impl FakeSlack {
    /// Waits until at least `n` connections are live (hello written, not draining or stalled);
    /// returns the live ones in id order.
    pub async fn wait_for_connections(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<ConnId>> {
        self.shared
            .conns_signal
            .wait_for(
                timeout,
                || {
                    format!(
                        "{n} live Socket Mode connection(s) (have {:?})",
                        self.open_connections()
                    )
                },
                || {
                    let live = self.open_connections();
                    (live.len() >= n).then_some(live)
                },
            )
            .await
    }

    /// Live connections in id order: hello written, not draining after a disconnect, not stalled.
    pub fn open_connections(&self) -> Vec<ConnId> {
        self.shared
            .live_connections()
            .iter()
            .map(|c| c.id)
            .collect()
    }

    /// Every file a client asked an upload URL for, in order, with its bytes and sharing.
    pub fn uploads(&self) -> Vec<crate::slack::UploadedFile> {
        lock(&self.shared.files).all()
    }

    /// While `refuse` is set, messages whose image blocks name an uploaded file are refused
    /// with `invalid_blocks` (as Slack does while a file is still processing).
    pub fn refuse_file_images(&self, refuse: bool) {
        lock(&self.shared.files).refuse_file_images = refuse;
    }

    /// Every connection ever accepted, with its frames and how it ended.
    pub fn connection_log(&self) -> Vec<ConnectionRecord> {
        let all = lock(&self.shared.conns).all();
        all.iter().map(|c| lock(&c.record).clone()).collect()
    }

    /// Waits until `conn` has ended and says how.
    pub async fn wait_for_connection_end(
        &self,
        conn: ConnId,
        timeout: Duration,
    ) -> anyhow::Result<ConnectionEnd> {
        let handle = self
            .shared
            .connection(conn)
            .ok_or_else(|| anyhow!("no connection {conn}"))?;
        self.shared
            .conns_signal
            .wait_for(
                timeout,
                || format!("{conn} to end"),
                || lock(&handle.record).end.clone(),
            )
            .await
    }

    /// Queues an envelope to a connection (`Target::Any`: round robin over live ones). Returns
    /// as soon as it is queued; the ack latency clock starts just before the frame is written.
    pub async fn send(&self, to: Target, envelope: Envelope) -> anyhow::Result<SentEnvelope> {
        delivery::dispatch(&self.shared, to, envelope, None)
    }

    /// Every ack received, in order.
    pub fn acks(&self) -> Vec<AckRecord> {
        lock(&self.shared.acks).records.clone()
    }

    /// How many acks have been received (cheap; for benchmarks).
    pub fn ack_count(&self) -> usize {
        lock(&self.shared.acks).records.len()
    }

    /// Waits for the first ack of `envelope_id`.
    pub async fn wait_for_ack(
        &self,
        envelope_id: &str,
        timeout: Duration,
    ) -> anyhow::Result<AckRecord> {
        self.shared
            .acks_signal
            .wait_for(
                timeout,
                || format!("an ack of envelope {envelope_id}"),
                || {
                    let acks = lock(&self.shared.acks);
                    let index = *acks.first_by_envelope.get(envelope_id)?;
                    acks.records.get(index).cloned()
                },
            )
            .await
    }

    /// Waits until at least `count` acks (of any envelopes, duplicates included) have arrived.
    pub async fn wait_for_acks(&self, count: usize, timeout: Duration) -> anyhow::Result<()> {
        self.shared
            .acks_signal
            .wait_for(
                timeout,
                || format!("{count} acks (have {})", self.ack_count()),
                || (self.ack_count() >= count).then_some(()),
            )
            .await
    }

    /// Latencies of the acks that matched a written envelope, in arrival order.
    pub fn ack_latencies(&self) -> Vec<Duration> {
        lock(&self.shared.acks)
            .records
            .iter()
            .filter_map(|a| a.latency)
            .collect()
    }

    /// Every HTTP request (Web API and hooks), in arrival order.
    pub fn calls(&self) -> Vec<ApiCall> {
        lock(&self.shared.calls).clone()
    }

    /// Requests to one method (`hooks` for response_url posts).
    pub fn calls_to(&self, method: &str) -> Vec<ApiCall> {
        lock(&self.shared.calls)
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Waits for a request to `method` that satisfies `pred` (earlier requests count too).
    pub async fn wait_for_call(
        &self,
        method: &str,
        pred: impl Fn(&ApiCall) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<ApiCall> {
        let mut scanned = 0;
        self.shared
            .calls_signal
            .wait_for(
                timeout,
                || {
                    format!(
                        "a matching {method} call ({} calls to it so far)",
                        self.calls_to(method).len()
                    )
                },
                || {
                    let calls = lock(&self.shared.calls);
                    let found = calls
                        .get(scanned..)?
                        .iter()
                        .find(|c| c.method == method && pred(c))
                        .cloned();
                    scanned = calls.len();
                    found
                },
            )
            .await
    }

    /// The current state of each message the bot posted to `channel` (after updates and deletes).
    pub fn messages(&self, channel: &str) -> Vec<StoredMessage> {
        lock(&self.shared.messages).channel(channel, true)
    }

    /// The channel's whole history: bot posts plus users' messages seen in sent events.
    pub fn channel_history(&self, channel: &str) -> Vec<StoredMessage> {
        lock(&self.shared.messages).channel(channel, false)
    }

    /// Ephemeral messages posted to `channel`.
    pub fn ephemeral_messages(&self, channel: &str) -> Vec<EphemeralMessage> {
        lock(&self.shared.messages).ephemerals(channel)
    }

    /// Client frames that were not valid acks.
    pub fn malformed_frames(&self) -> Vec<MalformedFrame> {
        lock(&self.shared.malformed).clone()
    }

    /// WebSocket handshakes refused (bad path, unknown or reused ticket).
    pub fn handshake_rejections(&self) -> Vec<HandshakeRejection> {
        lock(&self.shared.rejections).clone()
    }

    /// Sends `{"type":"disconnect","reason":…}`. For `too_many_websockets` and `link_disabled`
    /// the fake then closes at once; for other reasons (`warning`, `refresh_requested`) the
    /// connection gets no new envelopes and is closed after `disconnect_grace` unless the client
    /// closes first. Fails for stalled or closed connections.
    pub async fn disconnect(&self, conn: ConnId, reason: &str) -> anyhow::Result<()> {
        let handle = self
            .shared
            .connection(conn)
            .ok_or_else(|| anyhow!("no connection {conn}"))?;
        let close_now = matches!(reason, "too_many_websockets" | "link_disabled");
        self.shared
            .note(TimelineKind::Fault, format!("{conn}: disconnect {reason}"));
        let (done, written) = oneshot::channel();
        handle.control(Control::Disconnect {
            reason: reason.to_string(),
            close_now,
            done,
        })?;
        tokio::time::timeout(COMMAND_WAIT, written)
            .await
            .with_context(|| format!("timed out writing the disconnect to {conn}"))?
            .map_err(|_| anyhow!("{conn} could not carry the disconnect (stalled or closed)"))
    }

    /// Drops `conn`'s TCP stream without a close frame; returns once the socket is gone.
    pub async fn abort(&self, conn: ConnId) -> anyhow::Result<()> {
        let handle = self
            .shared
            .connection(conn)
            .ok_or_else(|| anyhow!("no connection {conn}"))?;
        self.shared.note(
            TimelineKind::Fault,
            format!("{conn}: abort (TCP dropped, no close frame)"),
        );
        let (done, dropped) = oneshot::channel();
        handle.control(Control::Abort { done })?;
        tokio::time::timeout(COMMAND_WAIT, dropped)
            .await
            .with_context(|| format!("timed out waiting for {conn} to drop its socket"))?
            .map_err(|_| anyhow!("{conn} ended before it could be aborted"))
    }

    /// "No pongs": the fake stops reading from and writing to `conn` (no pongs, pings or frames)
    /// but keeps the TCP stream open, like a half-open link. Unknown or closed ids are ignored.
    pub fn stall(&self, conn: ConnId) {
        self.shared.note(
            TimelineKind::Fault,
            format!("{conn}: stall (no reads, writes or pongs; TCP kept open)"),
        );
        if let Some(handle) = self.shared.connection(conn) {
            if handle.stall().is_err() {
                tracing::debug!("fake Slack: stall of {conn} ignored, it is closed");
            }
        }
    }

    /// Makes the next `times` calls to `method` (`*`: any method, `hooks`: response_urls) fail.
    pub fn fail_next(&self, method: &str, fault: HttpFault, times: u32) {
        self.shared.note(
            TimelineKind::Fault,
            format!("next {times} {method} call(s) will get {fault}"),
        );
        self.shared.faults.add(method, fault, times);
    }

    /// Every call of `methods` (`*`: any method) fails with `fault` for the next `duration`:
    /// an outage, as opposed to a number of failed calls.
    pub fn outage(&self, methods: &[&str], fault: HttpFault, duration: Duration) {
        self.shared.note(
            TimelineKind::Fault,
            format!("{} will get {fault} for {duration:?}", methods.join(", ")),
        );
        self.shared.faults.add_outage(methods, fault, duration);
    }

    /// One call in `every` of `methods` (`*`: any method) fails with `fault` for the next
    /// `duration`: the `every`-th call, the 2×`every`-th, and so on; the others are served.
    pub fn fail_every(&self, methods: &[&str], every: u32, fault: HttpFault, duration: Duration) {
        self.shared.note(
            TimelineKind::Fault,
            format!(
                "1 in {every} calls of {} will get {fault} for {duration:?}",
                methods.join(", ")
            ),
        );
        self.shared
            .faults
            .add_intermittent(methods, fault, every, duration);
    }

    /// `apps.connections.open` answers `{"ok":false,"error":err}` until cleared with `None`.
    pub fn set_open_error(&self, err: Option<&str>) {
        let text = match err {
            Some(err) => format!("apps.connections.open will answer {err}"),
            None => "apps.connections.open works again".to_string(),
        };
        self.shared.note(TimelineKind::Fault, text);
        *lock(&self.shared.open_error) = err.map(str::to_string);
    }

    /// The whole timeline so far.
    pub fn timeline(&self) -> Vec<TimelineEntry> {
        self.shared.timeline.since(0)
    }

    /// Timeline entries from position `from` on (to tail the log).
    pub fn timeline_since(&self, from: usize) -> Vec<TimelineEntry> {
        self.shared.timeline.since(from)
    }

    /// A one-line description of how a connection ended, as used in the timeline.
    pub fn describe_end(end: &ConnectionEnd) -> String {
        describe_end(end)
    }
}

//! Envelope delivery: picking a connection, tracking unacked envelopes, recording acks, redelivering.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use serde_json::Value;
use tokio::sync::Notify;

use crate::slack::clock::next_envelope_id;
use crate::slack::connection::{ConnHandle, OutFrame};
use crate::slack::envelope::Envelope;
use crate::slack::messages::StoredMessage;
use crate::slack::options::Redelivery;
use crate::slack::record::{abbreviate, AckRecord, ConnId, ConnectionState, MalformedFrame};
use crate::slack::state::Shared;
use crate::slack::timeline::{lock, TimelineKind};

/// Where to send an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Round robin over live connections (hello written, not draining, not stalled).
    Any,
    /// This connection, whatever its state (a stalled one queues the frame and never writes it).
    Conn(ConnId),
}

/// What `FakeSlack::send` did.
#[derive(Debug, Clone)]
pub struct SentEnvelope {
    /// The connection the frame was queued to.
    pub conn: ConnId,
    /// `envelope_id` (none for garbage frames).
    pub envelope_id: Option<String>,
    /// `payload.event_id` for events_api envelopes.
    pub event_id: Option<String>,
    /// Envelope `type`.
    pub kind: Option<String>,
    /// The envelope exactly as sent (response URLs pointing at the fake).
    pub envelope: Envelope,
}

/// How often a due redelivery is re-checked while no connection is live, and how many times.
const NO_CONNECTION_RECHECK: Duration = Duration::from_millis(250);
const NO_CONNECTION_RECHECKS: u32 = 240;

/// Unacked envelopes, the redelivery schedule and the round-robin cursor.
#[derive(Default)]
pub(crate) struct Delivery {
    in_flight: Mutex<InFlightTable>,
    schedule: Mutex<BinaryHeap<Reverse<Due>>>,
    wake: Notify,
    round_robin: AtomicUsize,
    sequence: AtomicU64,
}

#[derive(Default)]
struct InFlightTable {
    entries: HashMap<String, InFlight>,
    /// Delivery chains (an envelope and its redeliveries) that got an ack.
    acked_chains: HashSet<u64>,
}

struct InFlight {
    written_at: Option<Instant>,
    event_id: Option<String>,
    retry_attempt: u32,
    chain: u64,
    conn: ConnId,
    /// The envelope to resend if it stays unacked (redeliverable envelopes only).
    resend: Option<Envelope>,
    tracks_chain: bool,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: tokio::time::Instant,
    seq: u64,
    envelope_id: String,
    rechecks: u32,
}

/// Queues `envelope` to the target connection; redelivery chains pass their chain id.
pub(crate) fn dispatch(
    shared: &Shared,
    target: Target,
    mut envelope: Envelope,
    chain: Option<u64>,
) -> anyhow::Result<SentEnvelope> {
    let conn = resolve(shared, target)?;
    envelope.rewrite_hooks_base(&shared.hooks_url());
    remember_user_message(shared, &envelope);
    let envelope_id = envelope.envelope_id().map(str::to_string);
    let redelivery = shared
        .opts
        .redelivery
        .filter(|_| envelope.kind() == Some("events_api"));
    if let Some(id) = &envelope_id {
        let delivery = &shared.delivery;
        let chain = chain.unwrap_or_else(|| delivery.sequence.fetch_add(1, Ordering::Relaxed));
        let entry = InFlight {
            written_at: None,
            event_id: envelope.event_id().map(str::to_string),
            retry_attempt: envelope.retry_attempt(),
            chain,
            conn: conn.id,
            resend: redelivery.map(|_| envelope.clone()),
            tracks_chain: redelivery.is_some(),
        };
        lock(&delivery.in_flight).entries.insert(id.clone(), entry);
        if let Some(redelivery) = redelivery {
            schedule(delivery, redelivery.after, id.clone(), 0);
        }
    }
    let frame = OutFrame {
        text: envelope.to_text(),
        envelope_id: envelope_id.clone(),
    };
    if let Err(error) = conn.push_frame(frame) {
        if let Some(id) = &envelope_id {
            lock(&shared.delivery.in_flight).entries.remove(id);
        }
        return Err(error);
    }
    let verb = if envelope.retry_attempt() > 0 {
        TimelineKind::Redelivery
    } else {
        TimelineKind::Envelope
    };
    shared.note(verb, format!("{} <- {}", conn.id, envelope.summary()));
    Ok(SentEnvelope {
        conn: conn.id,
        event_id: envelope.event_id().map(str::to_string),
        kind: envelope.kind().map(str::to_string),
        envelope_id,
        envelope,
    })
}

fn resolve(shared: &Shared, target: Target) -> anyhow::Result<Arc<ConnHandle>> {
    match target {
        Target::Conn(id) => {
            let conn = shared
                .connection(id)
                .ok_or_else(|| anyhow!("no connection {id}"))?;
            if conn.state() == ConnectionState::Closed {
                bail!("{id} is closed");
            }
            Ok(conn)
        }
        Target::Any => {
            let live = shared.live_connections();
            if live.is_empty() {
                bail!("no live Socket Mode connection to send to");
            }
            let turn = shared.delivery.round_robin.fetch_add(1, Ordering::Relaxed);
            Ok(Arc::clone(&live[turn % live.len()]))
        }
    }
}

/// Users' messages seen in events become part of the channel history (for conversations.replies).
fn remember_user_message(shared: &Shared, envelope: &Envelope) {
    let Some(event) = envelope.json().and_then(|v| v.pointer("/payload/event")) else {
        return;
    };
    let field = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_string);
    if !matches!(field("type").as_deref(), Some("message" | "app_mention")) {
        return;
    }
    let (Some(channel), Some(ts)) = (field("channel"), field("ts")) else {
        return;
    };
    let message = StoredMessage {
        channel,
        ts,
        thread_ts: field("thread_ts"),
        user: field("user").unwrap_or_default(),
        bot_id: field("bot_id"),
        username: field("username"),
        subtype: field("subtype"),
        text: field("text").unwrap_or_default(),
        blocks: event.get("blocks").cloned(),
        attachments: None,
        metadata: None,
        edits: 0,
        reactions: Vec::new(),
        from_api: false,
        deleted: false,
        stream: None,
    };
    lock(&shared.messages).insert(message);
}

fn schedule(delivery: &Delivery, after: Duration, envelope_id: String, rechecks: u32) {
    let due = Due {
        at: tokio::time::Instant::now() + after,
        seq: delivery.sequence.fetch_add(1, Ordering::Relaxed),
        envelope_id,
        rechecks,
    };
    let mut queue = lock(&delivery.schedule);
    let becomes_first = queue.peek().is_none_or(|Reverse(first)| due.at < first.at);
    queue.push(Reverse(due));
    drop(queue);
    if becomes_first {
        delivery.wake.notify_one();
    }
}

/// Called by a connection task just before it writes an envelope frame.
pub(crate) fn mark_written(shared: &Shared, envelope_id: &str) {
    let now = Instant::now();
    if let Some(entry) = lock(&shared.delivery.in_flight)
        .entries
        .get_mut(envelope_id)
    {
        entry.written_at = Some(now);
    }
}

/// Handles a text frame from a client: an ack, or a malformed frame.
pub(crate) fn handle_client_text(shared: &Shared, conn: ConnId, text: &str) {
    let received_at = Instant::now();
    let parsed: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            record_malformed(shared, conn, text.to_string(), format!("not JSON: {error}"));
            return;
        }
    };
    let Some(envelope_id) = parsed.get("envelope_id").and_then(Value::as_str) else {
        record_malformed(shared, conn, text.to_string(), "no envelope_id".into());
        return;
    };
    let found = {
        let mut table = lock(&shared.delivery.in_flight);
        let entry = table.entries.remove(envelope_id);
        if let Some(entry) = &entry {
            if entry.tracks_chain {
                table.acked_chains.insert(entry.chain);
            }
        }
        entry
    };
    let latency = found
        .as_ref()
        .and_then(|e| e.written_at)
        .map(|written| received_at.saturating_duration_since(written));
    let record = AckRecord {
        envelope_id: envelope_id.to_string(),
        conn,
        payload: parsed.get("payload").cloned(),
        latency,
        received_at,
        event_id: found.as_ref().and_then(|e| e.event_id.clone()),
        retry_attempt: found.as_ref().map_or(0, |e| e.retry_attempt),
    };
    let text = match latency {
        Some(latency) => format!(
            "{conn} acked {envelope_id} in {:.2} ms{}",
            latency.as_secs_f64() * 1000.0,
            if record.payload.is_some() {
                " with payload"
            } else {
                ""
            }
        ),
        None => format!("{conn} acked unknown or already acked {envelope_id}"),
    };
    lock(&shared.acks).push(record);
    shared.acks_signal.bump();
    shared.note(TimelineKind::Ack, text);
}

pub(crate) fn record_malformed(shared: &Shared, conn: ConnId, text: String, problem: String) {
    shared.note(
        TimelineKind::Malformed,
        format!("{conn} sent {:?}: {problem}", abbreviate(&text, 60)),
    );
    lock(&shared.malformed).push(MalformedFrame {
        conn,
        at: Instant::now(),
        text: abbreviate(&text, 2000),
        problem,
    });
}

/// Re-sends unacked events_api envelopes as Slack does, until the fake shuts down.
pub(crate) async fn redelivery_loop(shared: Arc<Shared>, redelivery: Redelivery) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let next_at = lock(&shared.delivery.schedule)
            .peek()
            .map(|Reverse(due)| due.at);
        let sleep_until =
            next_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = shared.delivery.wake.notified() => continue,
            _ = tokio::time::sleep_until(sleep_until) => redeliver_due(&shared, redelivery),
        }
    }
}

fn redeliver_due(shared: &Shared, redelivery: Redelivery) {
    let now = tokio::time::Instant::now();
    loop {
        let due = {
            let mut queue = lock(&shared.delivery.schedule);
            match queue.peek() {
                Some(Reverse(first)) if first.at <= now => queue.pop().map(|Reverse(due)| due),
                _ => None,
            }
        };
        let Some(due) = due else {
            return;
        };
        redeliver_one(shared, redelivery, due);
    }
}

fn redeliver_one(shared: &Shared, redelivery: Redelivery, due: Due) {
    let (envelope, chain, previous_conn) = {
        let mut table = lock(&shared.delivery.in_flight);
        let acked_chains = &table.acked_chains;
        let Some(entry) = table.entries.get(&due.envelope_id) else {
            return;
        };
        if acked_chains.contains(&entry.chain) {
            return;
        }
        let Some(envelope) = entry.resend.clone() else {
            return;
        };
        if entry.retry_attempt >= redelivery.max_attempts {
            let event = entry.event_id.clone().unwrap_or_default();
            if let Some(entry) = table.entries.get_mut(&due.envelope_id) {
                entry.resend = None;
            }
            drop(table);
            shared.note(
                TimelineKind::Redelivery,
                format!(
                    "gave up on {} ({event}) after {} attempts",
                    due.envelope_id, redelivery.max_attempts
                ),
            );
            return;
        }
        (envelope, entry.chain, entry.conn)
    };
    let live = shared.live_connections();
    let others: Vec<_> = live.iter().filter(|c| c.id != previous_conn).collect();
    let pool = if others.is_empty() {
        live.iter().collect()
    } else {
        others
    };
    if pool.is_empty() {
        if due.rechecks < NO_CONNECTION_RECHECKS {
            schedule(
                &shared.delivery,
                NO_CONNECTION_RECHECK,
                due.envelope_id,
                due.rechecks + 1,
            );
        }
        return;
    }
    let turn = shared.delivery.round_robin.fetch_add(1, Ordering::Relaxed);
    let target = pool[turn % pool.len()].id;
    let mut retry = envelope;
    let attempt = retry.retry_attempt() + 1;
    let new_id = (!redelivery.same_envelope_id).then(next_envelope_id);
    retry.mark_retry(attempt, new_id.clone());
    if new_id.is_some() {
        // The superseded delivery stays known (a late ack still gets a latency) but is not resent.
        if let Some(entry) = lock(&shared.delivery.in_flight)
            .entries
            .get_mut(&due.envelope_id)
        {
            entry.resend = None;
        }
    }
    if let Err(error) = dispatch(shared, Target::Conn(target), retry, Some(chain)) {
        tracing::debug!(
            "fake Slack: redelivery of {} failed: {error}",
            due.envelope_id
        );
    }
}

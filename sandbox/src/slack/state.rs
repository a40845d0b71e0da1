//! The state shared by the fake's tasks and its control API, and the change signals waits use.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::slack::app_settings::AppSettings;
use crate::slack::connection::ConnHandle;
use crate::slack::delivery::Delivery;
use crate::slack::faults::FaultTable;
use crate::slack::files::FileStore;
use crate::slack::messages::MessageStore;
use crate::slack::options::FakeSlackOptions;
use crate::slack::people::UserDirectory;
use crate::slack::record::{
    AckRecord, ApiCall, ConnId, ConnectionState, HandshakeRejection, MalformedFrame,
};
use crate::slack::timeline::{lock, Timeline, TimelineKind};
use crate::slack::tokens::Tokens;
use crate::slack::usergroups::GroupDirectory;

/// Everything the listeners, connection tasks and the control API share.
pub(crate) struct Shared {
    pub(crate) opts: FakeSlackOptions,
    pub(crate) api_addr: SocketAddr,
    pub(crate) ws_addr: SocketAddr,
    pub(crate) timeline: Timeline,
    pub(crate) calls: Mutex<Vec<ApiCall>>,
    pub(crate) calls_signal: Signal,
    pub(crate) acks: Mutex<AckLog>,
    pub(crate) acks_signal: Signal,
    pub(crate) conns: Mutex<ConnRegistry>,
    pub(crate) conns_signal: Signal,
    pub(crate) malformed: Mutex<Vec<MalformedFrame>>,
    pub(crate) rejections: Mutex<Vec<HandshakeRejection>>,
    pub(crate) tickets: Mutex<HashSet<String>>,
    pub(crate) faults: FaultTable,
    pub(crate) open_error: Mutex<Option<String>>,
    /// The tokens accepted now, and the ones rotated away.
    pub(crate) tokens: Mutex<Tokens>,
    /// Scopes, a revoked bot token, Socket Mode on or off (`app_settings.rs`).
    pub(crate) app: Mutex<AppSettings>,
    /// The error the streaming methods answer with, when set (`FakeSlack::refuse_streaming`).
    pub(crate) stream_refusal: Mutex<Option<String>>,
    pub(crate) messages: Mutex<MessageStore>,
    /// Uploaded files (`files.rs`).
    pub(crate) files: Mutex<FileStore>,
    /// Users set up by tests (`FakeSlack::set_user`, `forget_user`).
    pub(crate) users: Mutex<UserDirectory>,
    /// User groups set up by tests (`FakeSlack::set_user_group`).
    pub(crate) user_groups: Mutex<GroupDirectory>,
    pub(crate) delivery: Delivery,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(opts: FakeSlackOptions, api_addr: SocketAddr, ws_addr: SocketAddr) -> Self {
        let tokens = Tokens::new(&opts);
        Shared {
            opts,
            api_addr,
            ws_addr,
            timeline: Timeline::new(std::time::Instant::now()),
            calls: Mutex::new(Vec::new()),
            calls_signal: Signal::new(),
            acks: Mutex::new(AckLog::default()),
            acks_signal: Signal::new(),
            conns: Mutex::new(ConnRegistry::default()),
            conns_signal: Signal::new(),
            malformed: Mutex::new(Vec::new()),
            rejections: Mutex::new(Vec::new()),
            tickets: Mutex::new(HashSet::new()),
            faults: FaultTable::default(),
            open_error: Mutex::new(None),
            tokens: Mutex::new(tokens),
            app: Mutex::new(AppSettings::default()),
            stream_refusal: Mutex::new(None),
            messages: Mutex::new(MessageStore::default()),
            files: Mutex::new(FileStore::default()),
            users: Mutex::new(UserDirectory::default()),
            user_groups: Mutex::new(GroupDirectory::default()),
            delivery: Delivery::default(),
            shutdown: watch::channel(false).0,
        }
    }

    pub(crate) fn hooks_url(&self) -> String {
        format!(
            "{}://{}/hooks/",
            self.http_scheme(),
            self.public(self.api_addr)
        )
    }

    /// `https` with `public_tls`, else `http`.
    pub(crate) fn http_scheme(&self) -> &'static str {
        if self.opts.public_tls {
            "https"
        } else {
            "http"
        }
    }

    /// `addr` as the URLs handed out name it: `public_host:port`, or the address itself.
    pub(crate) fn public(&self, addr: SocketAddr) -> String {
        match &self.opts.public_host {
            Some(host) => format!("{host}:{}", addr.port()),
            None => addr.to_string(),
        }
    }

    pub(crate) fn note(&self, kind: TimelineKind, text: String) {
        tracing::debug!(target: "chatops_sandbox::slack", "{text}");
        self.timeline.push(kind, text);
    }

    pub(crate) fn connection(&self, id: ConnId) -> Option<Arc<ConnHandle>> {
        lock(&self.conns).get(id)
    }

    /// Connections that receive new envelopes (hello written, not draining, not stalled).
    pub(crate) fn live_connections(&self) -> Vec<Arc<ConnHandle>> {
        lock(&self.conns).with_state(|s| s == ConnectionState::Live)
    }
}

/// Acks in arrival order plus an index from envelope id to its first ack.
#[derive(Debug, Default)]
pub(crate) struct AckLog {
    pub(crate) records: Vec<AckRecord>,
    pub(crate) first_by_envelope: HashMap<String, usize>,
}

impl AckLog {
    pub(crate) fn push(&mut self, record: AckRecord) {
        self.first_by_envelope
            .entry(record.envelope_id.clone())
            .or_insert(self.records.len());
        self.records.push(record);
    }
}

/// Every connection ever accepted, in id order (`ConnId(n)` sits at index `n - 1`).
#[derive(Default)]
pub(crate) struct ConnRegistry {
    all: Vec<Arc<ConnHandle>>,
}

impl ConnRegistry {
    pub(crate) fn next_id(&self) -> ConnId {
        ConnId(self.all.len() as u64 + 1)
    }

    pub(crate) fn add(&mut self, handle: Arc<ConnHandle>) {
        self.all.push(handle);
    }

    pub(crate) fn get(&self, id: ConnId) -> Option<Arc<ConnHandle>> {
        let index = usize::try_from(id.0.checked_sub(1)?).ok()?;
        self.all.get(index).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<ConnHandle>> {
        self.all.clone()
    }

    pub(crate) fn with_state(
        &self,
        keep: impl Fn(ConnectionState) -> bool,
    ) -> Vec<Arc<ConnHandle>> {
        self.all
            .iter()
            .filter(|c| keep(c.state()))
            .cloned()
            .collect()
    }
}

/// A change counter that waiters watch: bump after each change, wait until a check passes.
pub(crate) struct Signal(watch::Sender<u64>);

impl Signal {
    fn new() -> Self {
        Signal(watch::channel(0).0)
    }

    pub(crate) fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Re-runs `check` after every change until it yields a value or `timeout` passes; the error
    /// names `what` was awaited.
    pub(crate) async fn wait_for<T>(
        &self,
        timeout: Duration,
        what: impl FnOnce() -> String,
        mut check: impl FnMut() -> Option<T>,
    ) -> anyhow::Result<T> {
        let mut changes = self.0.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(value) = check() {
                return Ok(value);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => bail!("fake Slack went away while waiting for {}", what()),
                Err(_) => {
                    if let Some(value) = check() {
                        return Ok(value);
                    }
                    bail!("timed out after {timeout:?} waiting for {}", what())
                }
            }
        }
    }
}

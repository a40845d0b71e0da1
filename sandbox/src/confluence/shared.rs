//! The state the fake Confluence's HTTP handlers and its control API share.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use crate::confluence::pages::PageStore;
use crate::confluence::record::{WikiFault, WikiRequest};

/// Most requests kept in the record (the oldest are dropped past it).
pub(crate) const MAX_RECORDS: usize = 10_000;

/// The credentials the fake accepts.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) api_token: String,
    pub(crate) personal_access_token: String,
}

/// Switches tests flip.
#[derive(Default)]
pub(crate) struct Switches {
    /// Queued faults, used front first.
    pub(crate) faults: VecDeque<WikiFault>,
    /// Writes (create, update) answer 403.
    pub(crate) deny_writes: bool,
    /// The next this many PUTs find the page edited by someone else first.
    pub(crate) conflicting_puts: u32,
}

pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) credentials: Mutex<Credentials>,
    pub(crate) store: Mutex<PageStore>,
    pub(crate) switches: Mutex<Switches>,
    pub(crate) requests: Mutex<Vec<WikiRequest>>,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(addr: SocketAddr, credentials: Credentials) -> Self {
        Shared {
            addr,
            credentials: Mutex::new(credentials),
            store: Mutex::new(PageStore::new()),
            switches: Mutex::new(Switches::default()),
            requests: Mutex::new(Vec::new()),
            shutdown: watch::channel(false).0,
        }
    }

    /// `http://127.0.0.1:PORT/wiki`: what `_links.base` says and `base_url` should be.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/wiki", self.addr)
    }

    /// Takes one use of the front fault, if any.
    pub(crate) fn take_fault(&self) -> Option<WikiFault> {
        let mut switches = lock(&self.switches);
        let fault = switches.faults.front_mut()?;
        let taken = fault.clone();
        fault.times -= 1;
        if fault.times == 0 {
            switches.faults.pop_front();
        }
        Some(taken)
    }

    /// Takes one conflicting PUT, if any are queued.
    pub(crate) fn take_conflict(&self) -> bool {
        let mut switches = lock(&self.switches);
        if switches.conflicting_puts > 0 {
            switches.conflicting_puts -= 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn record(&self, request: WikiRequest) {
        let mut requests = lock(&self.requests);
        if requests.len() >= MAX_RECORDS {
            requests.remove(0);
        }
        requests.push(request);
    }
}

/// Locks `mutex`, taking the data even if a panicking holder poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

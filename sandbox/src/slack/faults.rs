//! HTTP faults that the fake Web API can be told to answer with for the next few calls of a method.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::slack::timeline::lock;

/// An HTTP-level failure to inject into the Web API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFault {
    /// HTTP 429 with `Retry-After: retry_after_secs` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// HTTP 500 with a plain-text (non-JSON) body, like a failing load balancer.
    ServerError,
    /// HTTP 200 with `{"ok":false,"error":<the string>}`.
    SlackError(String),
    /// Wait this long, then answer normally (for client timeout tests).
    Delay(Duration),
    /// Hold the request open this long (or until the fake shuts down) without processing it,
    /// then answer 500: to a client with a shorter timeout, a call that never answers and did
    /// nothing.
    Hang(Duration),
    /// Handle the call as usual (a `chat.postMessage` is posted), then drop the connection
    /// without answering: the client cannot tell whether the call happened.
    ResponseLost,
}

impl std::fmt::Display for HttpFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpFault::RateLimited { retry_after_secs } => {
                write!(f, "429 ratelimited (Retry-After {retry_after_secs})")
            }
            HttpFault::ServerError => write!(f, "500 server error"),
            HttpFault::SlackError(error) => write!(f, "ok:false {error}"),
            HttpFault::Delay(delay) => write!(f, "delay {delay:?}"),
            HttpFault::Hang(hold) => write!(f, "hang {hold:?}"),
            HttpFault::ResponseLost => write!(f, "handled, then the answer lost"),
        }
    }
}

/// Pending faults per method (`*` matches every method); each fault fires a set number of times.
/// Outages answer every call (or every n-th call) of their methods with one fault until they end.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    pending: Mutex<HashMap<String, VecDeque<(HttpFault, u32)>>>,
    outages: Mutex<Vec<Outage>>,
}

#[derive(Debug)]
struct Outage {
    methods: Vec<String>,
    fault: HttpFault,
    until: Instant,
    /// The fault hits the `every`-th call of the methods, then the 2×`every`-th, …; 1 is all.
    every: u32,
    /// Calls of the methods seen so far.
    calls: u32,
}

impl FaultTable {
    pub(crate) fn add(&self, method: &str, fault: HttpFault, times: u32) {
        if times == 0 {
            return;
        }
        lock(&self.pending)
            .entry(method.to_string())
            .or_default()
            .push_back((fault, times));
    }

    /// Every call of `methods` (`*`: any) gets `fault` for the next `duration`.
    pub(crate) fn add_outage(&self, methods: &[&str], fault: HttpFault, duration: Duration) {
        self.add_intermittent(methods, fault, 1, duration);
    }

    /// Every `every`-th call of `methods` (`*`: any) gets `fault` for the next `duration`.
    pub(crate) fn add_intermittent(
        &self,
        methods: &[&str],
        fault: HttpFault,
        every: u32,
        duration: Duration,
    ) {
        lock(&self.outages).push(Outage {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            fault,
            until: Instant::now() + duration,
            every: every.max(1),
            calls: 0,
        });
    }

    /// Takes the fault for this call of `method`: an outage's, else the next pending one (a
    /// method-specific fault before a `*` one).
    pub(crate) fn take(&self, method: &str) -> Option<HttpFault> {
        {
            let mut outages = lock(&self.outages);
            if !outages.is_empty() {
                let now = Instant::now();
                outages.retain(|outage| outage.until > now);
                let hit = outages
                    .iter_mut()
                    .filter(|outage| outage.methods.iter().any(|m| m == method || m == "*"))
                    .find_map(|outage| {
                        outage.calls += 1;
                        (outage.calls % outage.every == 0).then(|| outage.fault.clone())
                    });
                if hit.is_some() {
                    return hit;
                }
            }
        }
        let mut pending = lock(&self.pending);
        if pending.is_empty() {
            return None;
        }
        for key in [method, "*"] {
            let Some(queue) = pending.get_mut(key) else {
                continue;
            };
            let Some((fault, remaining)) = queue.front_mut() else {
                continue;
            };
            let fault = fault.clone();
            *remaining -= 1;
            if *remaining == 0 {
                queue.pop_front();
            }
            if queue.is_empty() {
                pending.remove(key);
            }
            return Some(fault);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_the_requested_number_of_times_in_order() {
        let table = FaultTable::default();
        table.add("chat.postMessage", HttpFault::ServerError, 2);
        table.add("chat.postMessage", HttpFault::SlackError("x".into()), 1);
        table.add(
            "*",
            HttpFault::RateLimited {
                retry_after_secs: 1,
            },
            1,
        );
        assert_eq!(table.take("chat.postMessage"), Some(HttpFault::ServerError));
        assert_eq!(table.take("chat.postMessage"), Some(HttpFault::ServerError));
        assert_eq!(
            table.take("chat.postMessage"),
            Some(HttpFault::SlackError("x".into()))
        );
        assert_eq!(
            table.take("chat.postMessage"),
            Some(HttpFault::RateLimited {
                retry_after_secs: 1
            })
        );
        assert_eq!(table.take("chat.postMessage"), None);
        assert_eq!(table.take("auth.test"), None);
    }

    #[test]
    fn an_outage_hits_its_methods_until_it_ends() {
        let table = FaultTable::default();
        table.add_outage(
            &["chat.postMessage", "chat.update"],
            HttpFault::ServerError,
            Duration::from_millis(200),
        );
        for _ in 0..3 {
            assert_eq!(table.take("chat.postMessage"), Some(HttpFault::ServerError));
            assert_eq!(table.take("chat.update"), Some(HttpFault::ServerError));
        }
        assert_eq!(table.take("auth.test"), None);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(table.take("chat.postMessage"), None);
    }

    #[test]
    fn an_intermittent_fault_hits_every_nth_call_of_its_methods_until_it_ends() {
        let table = FaultTable::default();
        let hang = HttpFault::Hang(Duration::from_secs(60));
        table.add_intermittent(
            &["chat.postMessage"],
            hang.clone(),
            3,
            Duration::from_millis(200),
        );
        let hits: Vec<bool> = (0..9)
            .map(|_| table.take("chat.postMessage").is_some())
            .collect();
        assert_eq!(
            hits,
            [false, false, true, false, false, true, false, false, true]
        );
        assert_eq!(table.take("chat.update"), None, "other methods are spared");
        table.add("chat.postMessage", HttpFault::ServerError, 1);
        assert_eq!(
            table.take("chat.postMessage"),
            Some(HttpFault::ServerError),
            "a spared call still gets a pending fault"
        );
        assert_eq!(table.take("chat.postMessage"), None);
        assert_eq!(table.take("chat.postMessage"), Some(hang));
        std::thread::sleep(Duration::from_millis(250));
        assert!((0..6).all(|_| table.take("chat.postMessage").is_none()));
    }
}

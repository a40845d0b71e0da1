//! Faults the fake SQS can be told to answer with: for the next few calls of an operation, and
//! for the next few DeleteMessageBatch entries.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::aws::error::SqsError;
use crate::aws::record::lock;

/// A failure to inject into one SQS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqsFault {
    /// HTTP 500 `InternalFailure` (the SDK retries it).
    ServerError,
    /// HTTP 400 `ThrottlingException` (the SDK retries it as throttling).
    ThrottlingException,
    /// HTTP 400 SQS's own `RequestThrottled` (the SDK retries it as throttling).
    RequestThrottled,
    /// Wait this long (or until shutdown), then answer normally.
    Delay(Duration),
    /// HTTP 403 `AccessDenied`: the caller's IAM policy does not allow the operation.
    AccessDenied,
}

impl SqsFault {
    /// The error response this fault answers with; `None` for a delay.
    pub(crate) fn error(&self) -> Option<SqsError> {
        match self {
            SqsFault::ServerError => Some(SqsError::internal_error()),
            SqsFault::ThrottlingException => Some(SqsError::throttling_exception()),
            SqsFault::RequestThrottled => Some(SqsError::request_throttled()),
            SqsFault::AccessDenied => Some(SqsError::access_denied()),
            SqsFault::Delay(_) => None,
        }
    }
}

impl std::fmt::Display for SqsFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqsFault::ServerError => write!(f, "500 InternalFailure"),
            SqsFault::ThrottlingException => write!(f, "400 ThrottlingException"),
            SqsFault::RequestThrottled => write!(f, "400 RequestThrottled"),
            SqsFault::Delay(delay) => write!(f, "delay {delay:?}"),
            SqsFault::AccessDenied => write!(f, "403 AccessDenied"),
        }
    }
}

/// Pending faults per operation (`*` matches every operation), plus failing batch entries.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    pending: Mutex<HashMap<String, VecDeque<(SqsFault, u32)>>>,
    failing_delete_entries: AtomicU32,
}

impl FaultTable {
    pub(crate) fn add(&self, operation: &str, fault: SqsFault, times: u32) {
        if times == 0 {
            return;
        }
        lock(&self.pending)
            .entry(operation.to_string())
            .or_default()
            .push_back((fault, times));
    }

    /// Takes the next fault for `operation` (an operation-specific one before a `*` one).
    pub(crate) fn take(&self, operation: &str) -> Option<SqsFault> {
        let mut pending = lock(&self.pending);
        for key in [operation, "*"] {
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

    pub(crate) fn fail_delete_entries(&self, n: u32) {
        self.failing_delete_entries.fetch_add(n, Ordering::SeqCst);
    }

    /// Whether the next DeleteMessageBatch entry should fail (consumes one if so).
    pub(crate) fn take_delete_entry_failure(&self) -> bool {
        self.failing_delete_entries
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_in_order_and_run_out() {
        let table = FaultTable::default();
        table.add("ReceiveMessage", SqsFault::ServerError, 2);
        table.add("*", SqsFault::ThrottlingException, 1);
        assert_eq!(table.take("ReceiveMessage"), Some(SqsFault::ServerError));
        assert_eq!(table.take("ReceiveMessage"), Some(SqsFault::ServerError));
        assert_eq!(
            table.take("DeleteMessage"),
            Some(SqsFault::ThrottlingException)
        );
        assert_eq!(table.take("ReceiveMessage"), None);
        assert!(SqsFault::Delay(Duration::from_millis(1)).error().is_none());
    }

    #[test]
    fn delete_entry_failures_are_counted_down() {
        let table = FaultTable::default();
        table.fail_delete_entries(2);
        assert!(table.take_delete_entry_failure());
        assert!(table.take_delete_entry_failure());
        assert!(!table.take_delete_entry_failure());
    }
}

//! Process-wide generators for Slack-style timestamps and unique identifiers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static LAST_TS_MICROS: AtomicU64 = AtomicU64::new(0);
static ID_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A Slack message timestamp such as `1700000000.000123`: wall-clock based, unique and strictly
/// increasing across the whole process (messages and events share one clock).
pub fn next_ts() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(1_700_000_000_000_000);
    let mut previous = LAST_TS_MICROS.load(Ordering::Relaxed);
    loop {
        let next = now.max(previous + 1);
        match LAST_TS_MICROS.compare_exchange_weak(
            previous,
            next,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return format!("{}.{:06}", next / 1_000_000, next % 1_000_000),
            Err(actual) => previous = actual,
        }
    }
}

/// A process-unique number, used to build envelope ids, event ids, tickets and trigger ids.
pub fn next_id() -> u64 {
    ID_COUNTER.fetch_add(1, Ordering::Relaxed) + 1
}

/// A UUID-shaped envelope id (Slack's look), unique within the process.
pub fn next_envelope_id() -> String {
    let n = next_id();
    let salt = process_salt();
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        (salt >> 32) as u32,
        (salt >> 16) as u16,
        (n >> 12) & 0xfff,
        n & 0xfff,
        n
    )
}

/// An event id in Slack's style: `Ev` followed by upper-case alphanumerics.
pub fn next_event_id() -> String {
    format!("Ev0SBX{:08X}", next_id())
}

/// A fixed per-process value mixed into ids so two sandbox processes do not produce identical ids.
fn process_salt() -> u64 {
    static SALT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SALT.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 20)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_unique_and_increasing() {
        let stamps: Vec<String> = (0..1000).map(|_| next_ts()).collect();
        for pair in stamps.windows(2) {
            assert_eq!(pair[0].len(), pair[1].len());
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
            assert_eq!(pair[1].len(), pair[1].find('.').unwrap_or(0) + 7);
        }
    }

    #[test]
    fn envelope_ids_differ() {
        let a = next_envelope_id();
        let b = next_envelope_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}

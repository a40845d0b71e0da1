//! Process-unique, AWS-looking identifiers: message ids, request ids and receipt handles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A well-mixed 64-bit value that differs on every call (splitmix64 over a salted counter).
pub(crate) fn next_random() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(salt());
    let mut z = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A lower-case UUID-shaped id (version 4 layout), as SQS and SNS use for message ids.
pub(crate) fn uuid() -> String {
    let high = next_random();
    let low = next_random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        (high >> 32) as u32,
        (high >> 16) as u16,
        high & 0xfff,
        8 + (low >> 62),
        (low >> 48) & 0xfff,
        low & 0xffff_ffff_ffff
    )
}

/// An opaque receipt handle in SQS's style (`AQEB` followed by base64), unique per receive.
pub(crate) fn receipt_handle(queue: &str, message_id: &str, receive_count: u32) -> String {
    let mut bytes = Vec::with_capacity(96);
    for _ in 0..8 {
        bytes.extend_from_slice(&next_random().to_be_bytes());
    }
    bytes.extend_from_slice(&receive_count.to_be_bytes());
    bytes.extend_from_slice(message_id.as_bytes().get(..8).unwrap_or_default());
    bytes.extend_from_slice(
        queue
            .as_bytes()
            .get(..8.min(queue.len()))
            .unwrap_or_default(),
    );
    format!("AQEB{}", STANDARD.encode(bytes))
}

/// Base64 of `len` pseudo-random bytes (for SNS signatures).
pub(crate) fn random_base64(len: usize) -> String {
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&next_random().to_be_bytes());
    }
    bytes.truncate(len);
    STANDARD.encode(bytes)
}

/// `len` lower-case hex digits of pseudo-random data.
pub(crate) fn random_hex(len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        out.push_str(&format!("{:016x}", next_random()));
    }
    out.truncate(len);
    out
}

/// A fixed per-process value so two sandbox processes do not produce the same ids.
fn salt() -> u64 {
    static SALT: OnceLock<u64> = OnceLock::new();
    *SALT.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_uuid_shaped_and_distinct() {
        let a = uuid();
        let b = uuid();
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(a.as_bytes()[14], b'4');
    }

    #[test]
    fn receipt_handles_differ_per_receive() {
        let first = receipt_handle("alerts", "0f1e2d3c-aaaa", 1);
        let second = receipt_handle("alerts", "0f1e2d3c-aaaa", 1);
        assert!(first.starts_with("AQEB"));
        assert_ne!(first, second);
        assert_eq!(random_hex(40).len(), 40);
    }
}

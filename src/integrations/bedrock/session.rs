//! `SessionId`: one Slack thread is one agent session, so the id is derived from the thread.

use std::fmt;

use sha2::{Digest, Sha256};

/// The longest session id InvokeAgent takes.
pub const MAX_SESSION_ID_LEN: usize = 100;
/// The shortest session id InvokeAgent takes.
pub const MIN_SESSION_ID_LEN: usize = 2;

/// The shortest `runtimeSessionId` InvokeAgentRuntime takes.
pub const MIN_RUNTIME_SESSION_ID_LEN: usize = 33;
/// The longest `runtimeSessionId` InvokeAgentRuntime takes.
pub const MAX_RUNTIME_SESSION_ID_LEN: usize = 256;

/// An InvokeAgent `sessionId`: 2..=100 characters of `[0-9a-zA-Z._:-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// The session of the thread rooted at `thread_root_ts` in `channel`. Deterministic: the same
    /// thread always gets the same id. Ids are `t-<readable part>-<hash>`: the readable part keeps
    /// the allowed characters of the channel and ts (for people reading logs), and the hash (the
    /// first 16 bytes of SHA-256 over both, in hex) keeps different threads apart even when their
    /// readable parts collide or were cut.
    pub fn for_thread(channel: &str, thread_root_ts: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(channel.as_bytes());
        hasher.update([0]);
        hasher.update(thread_root_ts.as_bytes());
        let digest = hasher.finalize();
        let hash: String = digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let readable: String = format!("{channel}-{thread_root_ts}")
            .chars()
            .filter(|c| is_allowed(*c))
            .take(MAX_SESSION_ID_LEN - hash.len() - 3)
            .collect();
        Self(format!("t-{readable}-{hash}"))
    }

    /// An id given as is (a session the agent named, tests); `None` unless it keeps to the
    /// length and charset rules.
    pub fn parse(raw: &str) -> Option<Self> {
        let length_ok = (MIN_SESSION_ID_LEN..=MAX_SESSION_ID_LEN).contains(&raw.len());
        (length_ok && raw.chars().all(is_allowed)).then(|| Self(raw.to_owned()))
    }

    /// The id as sent to InvokeAgent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same session as an InvokeAgentRuntime `runtimeSessionId`: 33..=256 characters of
    /// letters, digits and `-`, starting with a letter or digit. Deterministic. An id that
    /// already keeps those rules is sent as it is; any other gets its other characters
    /// turned into `-` and the first 16 bytes of SHA-256 over the original (hex) appended, so
    /// that two sessions never share a runtime session and a short one reaches the minimum.
    pub fn runtime_session_id(&self) -> String {
        let mapped: String = self
            .0
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let starts_ok = mapped.starts_with(|c: char| c.is_ascii_alphanumeric());
        if mapped == self.0 && starts_ok && mapped.len() >= MIN_RUNTIME_SESSION_ID_LEN {
            return mapped;
        }
        let digest = Sha256::digest(self.0.as_bytes());
        let hash: String = digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let prefix = if starts_ok { "" } else { "s" };
        format!("{prefix}{mapped}-{hash}")
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid(id: &SessionId) {
        let text = id.as_str();
        assert!(
            (MIN_SESSION_ID_LEN..=MAX_SESSION_ID_LEN).contains(&text.len()),
            "{text:?} has {} characters",
            text.len()
        );
        assert!(
            text.chars().all(is_allowed),
            "{text:?} has a forbidden character"
        );
        assert_eq!(SessionId::parse(text).as_ref(), Some(id));
    }

    #[test]
    fn same_thread_same_id_and_readable() {
        let first = SessionId::for_thread("C0123ABC", "1712345678.000100");
        let again = SessionId::for_thread("C0123ABC", "1712345678.000100");
        assert_eq!(first, again);
        assert!(first.as_str().starts_with("t-C0123ABC-1712345678.000100-"));
        assert_valid(&first);
    }

    #[test]
    fn different_threads_different_ids() {
        let ids = [
            SessionId::for_thread("C0123ABC", "1712345678.000100"),
            SessionId::for_thread("C0123ABC", "1712345678.000101"),
            SessionId::for_thread("C0123ABD", "1712345678.000100"),
            // The readable parts of these two are equal ("C1-2-3"): only the hash tells them apart.
            SessionId::for_thread("C1-2", "3"),
            SessionId::for_thread("C1", "2-3"),
        ];
        for (i, left) in ids.iter().enumerate() {
            for right in &ids[i + 1..] {
                assert_ne!(left, right);
            }
        }
    }

    #[test]
    fn odd_input_still_gives_a_valid_id() {
        let long = "C".repeat(500);
        let odd = [
            ("", ""),
            ("é漢字 <@U1>", "ts with spaces/and\nnewlines"),
            (long.as_str(), long.as_str()),
            ("C1", "🙂🙂🙂"),
        ];
        for (channel, ts) in odd {
            assert_valid(&SessionId::for_thread(channel, ts));
        }
        assert_ne!(
            SessionId::for_thread(&long, "1"),
            SessionId::for_thread(&long, "2"),
            "cut readable parts must not merge threads"
        );
    }

    #[test]
    fn runtime_session_ids_keep_agentcore_rules_and_stay_apart() {
        let long = "x".repeat(100);
        let ids = [
            SessionId::for_thread("C0123ABC", "1712345678.000100"),
            SessionId::for_thread("C0123ABC", "1712345678.000101"),
            SessionId::parse("a1").unwrap(),
            SessionId::parse("a-1").unwrap(),
            SessionId::parse("a.1").unwrap(),
            SessionId::parse("_a").unwrap(),
            SessionId::parse(&long).unwrap(),
            SessionId::parse("chatops-check-0123456789abcdef0123456789").unwrap(),
        ];
        let runtime: Vec<String> = ids.iter().map(SessionId::runtime_session_id).collect();
        for (id, text) in ids.iter().zip(&runtime) {
            assert!(
                (MIN_RUNTIME_SESSION_ID_LEN..=MAX_RUNTIME_SESSION_ID_LEN).contains(&text.len()),
                "{text:?} has {} characters",
                text.len()
            );
            assert!(
                text.starts_with(|c: char| c.is_ascii_alphanumeric()),
                "{text:?}"
            );
            assert!(
                text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{text:?}"
            );
            assert_eq!(&id.runtime_session_id(), text, "deterministic");
        }
        for (i, left) in runtime.iter().enumerate() {
            for right in &runtime[i + 1..] {
                assert_ne!(left, right);
            }
        }
        assert!(
            runtime[0].starts_with("t-C0123ABC-1712345678-000100-"),
            "{}",
            runtime[0]
        );
        assert_eq!(runtime[7], "chatops-check-0123456789abcdef0123456789");
    }

    #[test]
    fn parse_rejects_what_invoke_agent_rejects() {
        assert!(SessionId::parse("a").is_none());
        assert!(SessionId::parse(&"a".repeat(101)).is_none());
        assert!(SessionId::parse("a b").is_none());
        assert!(SessionId::parse("a/b").is_none());
        assert!(SessionId::parse("ok.id_1:2-3").is_some());
    }
}

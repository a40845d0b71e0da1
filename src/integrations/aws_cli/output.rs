//! Reading a child's pipes within a cap (the rest read and dropped, so the child never blocks), and removing credentials from what it printed.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Which end of the output to keep past the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The first `cap` bytes (stdout: the JSON's start).
    Head,
    /// The last `cap` bytes (stderr: the error is at the end).
    Tail,
}

/// Reads `pipe` to its end, keeping `cap` bytes; whether more came.
pub(crate) async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    cap: usize,
    keep: Keep,
) -> std::io::Result<(Vec<u8>, bool)> {
    let Some(mut pipe) = pipe else {
        return Ok((Vec::new(), false));
    };
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = pipe.read(&mut buffer).await?;
        if read == 0 {
            return Ok((kept, truncated));
        }
        let chunk = &buffer[..read];
        match keep {
            Keep::Head => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..room.min(read)]);
                truncated |= read > room;
            }
            Keep::Tail => {
                kept.extend_from_slice(chunk);
                if kept.len() > cap {
                    let extra = kept.len() - cap;
                    kept.drain(..extra);
                    truncated = true;
                }
            }
        }
    }
}

/// `text` with every occurrence of each (non-empty) secret replaced by `[redacted]`.
pub(crate) fn redact(mut text: Vec<u8>, secrets: &[&str]) -> Vec<u8> {
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        let needle = secret.as_bytes();
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(needle) {
                out.extend_from_slice(b"[redacted]");
                i += needle.len();
            } else {
                out.push(text[i]);
                i += 1;
            }
        }
        text = out;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caps_keep_the_head_or_the_tail() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (head, cut) = read_capped(Some(&data[..]), 1000, Keep::Head)
            .await
            .unwrap();
        assert!(cut);
        assert_eq!(head, data[..1000]);
        let (tail, cut) = read_capped(Some(&data[..]), 1000, Keep::Tail)
            .await
            .unwrap();
        assert!(cut);
        assert_eq!(tail, data[data.len() - 1000..]);
        let (all, cut) = read_capped(Some(&data[..10]), 1000, Keep::Head)
            .await
            .unwrap();
        assert!(!cut);
        assert_eq!(all, data[..10]);
    }

    #[test]
    fn secrets_are_redacted() {
        let text = b"key ASIAEXAMPLEKEY1 and ASIAEXAMPLEKEY1!".to_vec();
        assert_eq!(
            redact(text, &["ASIAEXAMPLEKEY1", ""]),
            b"key [redacted] and [redacted]!".to_vec()
        );
    }
}

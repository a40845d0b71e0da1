//! What the agent answered: the text, the sources it cited, and how the text is put back together
//! from the stream's byte chunks.

use std::time::Duration;

use aws_sdk_bedrockagentruntime::types::{Attribution, RetrievalResultLocation};

use super::session::SessionId;

/// A finished answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentAnswer {
    /// The whole text, exactly the concatenation of the pieces sent while it streamed.
    pub text: String,
    /// Sources the agent cited, first citation first, each URL once.
    pub citations: Vec<Citation>,
    /// The session the agent answered in (what it reported, else what was asked for).
    pub session_id: SessionId,
    /// From the call to the last event, retries included.
    pub duration: Duration,
    /// How many InvokeAgent calls it took (more than 1 after throttling).
    pub attempts: u32,
}

/// One cited source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citation {
    /// A short name for the link: the source's title when the agent gave one, else the last
    /// part of its URL.
    pub label: String,
    /// Where the source lives (https://…, s3://…).
    pub url: String,
}

/// Adds the citations of one chunk's attribution to `citations`, skipping URLs already there.
pub(super) fn collect_citations(attribution: &Attribution, citations: &mut Vec<Citation>) {
    let references = attribution
        .citations()
        .iter()
        .flat_map(|citation| citation.retrieved_references());
    for reference in references {
        let Some(url) = reference.location().and_then(location_url) else {
            continue;
        };
        if citations.iter().any(|known| known.url == url) {
            continue;
        }
        let title = reference
            .metadata()
            .and_then(|metadata| {
                metadata
                    .get("title")
                    .or_else(|| metadata.get("x-amz-bedrock-kb-title"))
            })
            .and_then(|value| value.as_string())
            .map(str::trim)
            .filter(|title| !title.is_empty());
        let label = title.map_or_else(|| label_of_url(&url), str::to_owned);
        citations.push(Citation { label, url });
    }
}

fn location_url(location: &RetrievalResultLocation) -> Option<String> {
    let url = location
        .web_location()
        .and_then(|l| l.url())
        .or_else(|| location.confluence_location().and_then(|l| l.url()))
        .or_else(|| location.share_point_location().and_then(|l| l.url()))
        .or_else(|| location.salesforce_location().and_then(|l| l.url()))
        .or_else(|| location.s3_location().and_then(|l| l.uri()))
        .or_else(|| location.kendra_document_location().and_then(|l| l.uri()))?;
    let url = url.trim();
    (!url.is_empty()).then(|| url.to_owned())
}

fn label_of_url(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.trim_end_matches('/')
        .rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or(url)
        .to_owned()
}

/// Turns byte chunks into text pieces. A chunk may end inside a UTF-8 character; those bytes
/// wait for the next chunk instead of becoming U+FFFD.
#[derive(Debug, Default)]
pub(super) struct Utf8Pieces {
    pending: Vec<u8>,
}

impl Utf8Pieces {
    /// The text that `bytes` completes (possibly empty).
    pub(super) fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid_up_to = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // An incomplete character at the end (error_len None) waits; a bad byte elsewhere
            // is replaced so one broken chunk cannot hold the rest back.
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            Err(_) => {
                let text = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                return text;
            }
        };
        let rest = self.pending.split_off(valid_up_to);
        let done = std::mem::replace(&mut self.pending, rest);
        String::from_utf8(done).unwrap_or_default()
    }

    /// Whatever is left at the end of the stream (an incomplete character, replaced).
    pub(super) fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_chunks_is_kept_whole() {
        let bytes = "né 漢".as_bytes();
        let mut pieces = Utf8Pieces::default();
        let mut text = String::new();
        for byte in bytes {
            text.push_str(&pieces.push(&[*byte]));
        }
        text.push_str(&pieces.finish());
        assert_eq!(text, "né 漢");
    }

    #[test]
    fn a_bad_byte_is_replaced_not_held() {
        let mut pieces = Utf8Pieces::default();
        assert_eq!(pieces.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(pieces.push(b"c"), "c");
    }

    #[test]
    fn labels_are_the_last_part_of_the_url() {
        assert_eq!(
            label_of_url("https://wiki/x/runbooks/cpu-high/?a=1"),
            "cpu-high"
        );
        assert_eq!(label_of_url("s3://bucket/docs/db.md"), "db.md");
    }
}

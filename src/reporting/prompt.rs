//! The summary request: the alarm's context, the thread as a transcript and what to write, kept
//! within the agent's input limit by leaving out the oldest middle of a long thread.

use std::fmt::Write;

use time::OffsetDateTime;

use super::time_text::utc_minute;
use crate::integrations::bedrock::{alarm_input, AlarmContext};

/// InvokeAgent's `inputText` holds at most 25,000 characters (the API reference).
pub const AGENT_INPUT_LIMIT: usize = 25_000;
/// Longest text kept of one message: a pasted log must not crowd out the thread.
const LONGEST_LINE: usize = 1_500;

/// What the agent is asked to write.
const INSTRUCTIONS: &str = "Summarise the Slack incident thread below for an incident report. \
Write five short sections with these headings: What happened; Impact; Root cause (say it is \
not known yet if the thread does not establish it); Actions taken; Follow-ups. Use only facts \
from the thread and the alarm context, name people as the thread does, and keep it under 400 \
words.";

/// One message of the thread, as the summary reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptLine {
    pub at: OffsetDateTime,
    pub author: String,
    pub text: String,
}

/// The agent's input, and how many messages were left out to fit.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryPrompt {
    pub text: String,
    pub left_out: usize,
}

/// The input for the summary of `lines` (oldest first) within `limit` characters. The first
/// message (the thread's root) is always kept, then as many of the newest as fit.
pub fn summary_prompt(
    alarm: Option<&AlarmContext>,
    lines: &[TranscriptLine],
    limit: usize,
) -> SummaryPrompt {
    let rendered: Vec<String> = lines.iter().map(render_line).collect();
    let frame = |body: &str| {
        let question = format!("{INSTRUCTIONS}\n\nThread (times in UTC):\n{body}");
        match alarm {
            Some(alarm) => alarm_input(alarm, &question),
            None => question,
        }
    };
    let overhead = frame("").chars().count();
    let gap_note =
        |n: usize| format!("[… {n} earlier messages left out to fit the agent's input limit …]\n");
    let room = limit.saturating_sub(overhead + gap_note(lines.len()).chars().count());
    let sizes: Vec<usize> = rendered.iter().map(|l| l.chars().count()).collect();
    if sizes.iter().sum::<usize>() <= limit.saturating_sub(overhead) {
        return SummaryPrompt {
            text: frame(&rendered.concat()),
            left_out: 0,
        };
    }
    // Keep the root if it fits, then the newest backwards while they fit.
    let keep_root = sizes.first().is_some_and(|&root| root <= room);
    let mut used = if keep_root { sizes[0] } else { 0 };
    let mut first_kept = rendered.len();
    while first_kept > 1 && used + sizes[first_kept - 1] <= room {
        first_kept -= 1;
        used += sizes[first_kept];
    }
    let left_out = first_kept.saturating_sub(1) + usize::from(!keep_root && !lines.is_empty());
    let mut body = String::new();
    if keep_root {
        body.push_str(&rendered[0]);
    }
    body.push_str(&gap_note(left_out));
    for line in &rendered[first_kept.max(1)..] {
        body.push_str(line);
    }
    SummaryPrompt {
        text: frame(&body),
        left_out,
    }
}

fn render_line(line: &TranscriptLine) -> String {
    let mut text: String = line.text.chars().take(LONGEST_LINE).collect();
    if line.text.chars().nth(LONGEST_LINE).is_some() {
        text.push_str(" […]");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "[{}] {}: {}",
        utc_minute(line.at),
        line.author,
        text.trim()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(minute: i64, author: &str, text: &str) -> TranscriptLine {
        TranscriptLine {
            at: OffsetDateTime::from_unix_timestamp(1_765_000_000 + minute * 60).unwrap(),
            author: author.into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_short_thread_is_sent_whole_with_the_alarm_first() {
        let alarm = AlarmContext {
            name: "checkout-5xx".into(),
            state: "ALARM".into(),
            ..AlarmContext::default()
        };
        let lines = [line(0, "bot", "card"), line(1, "ana", "looking")];
        let prompt = summary_prompt(Some(&alarm), &lines, AGENT_INPUT_LIMIT);
        assert_eq!(prompt.left_out, 0);
        let name = prompt.text.find("checkout-5xx").unwrap();
        let said = prompt.text.find("ana: looking").unwrap();
        assert!(name < said, "{}", prompt.text);
        assert!(prompt.text.contains("Root cause"));
    }

    #[test]
    fn a_long_thread_keeps_the_root_and_the_newest_and_says_what_was_cut() {
        let lines: Vec<_> = (0..2_000)
            .map(|i| {
                line(
                    i,
                    "ana",
                    &format!("message number {i} with some words in it"),
                )
            })
            .collect();
        let prompt = summary_prompt(None, &lines, AGENT_INPUT_LIMIT);
        assert!(prompt.text.chars().count() <= AGENT_INPUT_LIMIT);
        assert!(prompt.left_out > 1_000, "{}", prompt.left_out);
        assert!(prompt.text.contains("message number 0 "), "the root stays");
        assert!(
            prompt.text.contains("message number 1999 "),
            "the newest stay"
        );
        assert!(
            !prompt.text.contains("message number 1 "),
            "the oldest middle goes"
        );
        assert!(prompt
            .text
            .contains(&format!("[… {} earlier messages left out", prompt.left_out)));
    }

    #[test]
    fn one_huge_message_is_clipped_and_multibyte_text_counts_in_characters() {
        let huge = "🔥".repeat(250_000);
        let lines = [
            line(0, "bot", "card"),
            line(1, "ana", &huge),
            line(2, "bo", "fixed"),
        ];
        let prompt = summary_prompt(None, &lines, 5_000);
        assert!(
            prompt.text.chars().count() <= 5_000,
            "{}",
            prompt.text.chars().count()
        );
        assert!(prompt.text.contains("bo: fixed"));
        assert!(prompt.text.contains(" […]"));
    }

    #[test]
    fn a_limit_too_small_for_anything_still_says_what_was_left_out() {
        let lines = [line(0, "bot", "card"), line(1, "ana", "hi")];
        let prompt = summary_prompt(None, &lines, 10);
        assert_eq!(prompt.left_out, 2);
        assert!(prompt.text.contains("left out"));
    }
}

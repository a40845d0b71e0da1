//! Report page titles: meaningful, unique in the space, and safe for Confluence.

use time::OffsetDateTime;

use super::time_text::utc_minute;

/// Confluence refuses titles over 255 characters.
const LONGEST_TITLE: usize = 255;
/// Suffixes tried on a clash with a page that is not this thread's: " (2)" to " (9)".
pub const MOST_SUFFIXES: u32 = 8;

/// `[INCIDENT] checkout-api-5xx — 2026-12-06 14:05 UTC`: the alarm (or what the thread is about)
/// and when the thread started.
pub fn report_title(subject: &str, started: OffsetDateTime) -> String {
    let when = format!(" — {}", utc_minute(started));
    let subject: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let subject = if subject.is_empty() {
        "Slack thread".to_owned()
    } else {
        subject
    };
    let room = LONGEST_TITLE - "[INCIDENT] ".len() - when.chars().count() - " (9)".len();
    let mut clipped: String = subject.chars().take(room).collect();
    if clipped.chars().count() < subject.chars().count() {
        clipped.pop();
        clipped.push('…');
    }
    format!("[INCIDENT] {clipped}{when}")
}

/// The title's `n`th alternative (2 and up) after a clash.
pub fn with_suffix(title: &str, n: u32) -> String {
    format!("{title} ({n})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_765_029_909).unwrap()
    }

    #[test]
    fn titles_name_the_alarm_and_the_start_in_utc() {
        assert_eq!(
            report_title("checkout-api-5xx", at()),
            "[INCIDENT] checkout-api-5xx — 2025-12-06 14:05 UTC"
        );
        assert_eq!(
            with_suffix(&report_title("a", at()), 2),
            "[INCIDENT] a — 2025-12-06 14:05 UTC (2)"
        );
    }

    #[test]
    fn odd_subjects_make_safe_titles_within_the_limit() {
        assert_eq!(
            report_title(" \n\t", at()),
            "[INCIDENT] Slack thread — 2025-12-06 14:05 UTC"
        );
        assert_eq!(
            report_title("cpu\u{0}high\r\nnow", at()),
            "[INCIDENT] cpu high now — 2025-12-06 14:05 UTC"
        );
        let long = report_title(&"𝕏".repeat(400), at());
        assert!(with_suffix(&long, 9).chars().count() <= LONGEST_TITLE);
        assert!(long.contains('…'));
    }
}

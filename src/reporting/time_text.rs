//! Times as the report shows them: UTC, to the minute or the second.

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `2026-12-06 14:05 UTC`.
pub fn utc_minute(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// `2026-12-06 14:05:09 UTC`.
pub fn utc_second(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc() {
        let at = OffsetDateTime::from_unix_timestamp(1_765_029_909)
            .unwrap()
            .to_offset(UtcOffset::from_hms(9, 0, 0).unwrap());
        assert_eq!(utc_minute(at), "2025-12-06 14:05 UTC");
        assert_eq!(utc_second(at), "2025-12-06 14:05:09 UTC");
    }
}

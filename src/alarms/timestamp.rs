//! Lenient parsing of the timestamp spellings AWS notifications use, and a stable formatter.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Parses an AWS timestamp. Accepts RFC 3339 (`2022-07-21T05:26:58Z`, `…+00:00`), the CloudWatch
/// form with a colon-less offset (`2021-06-27T13:53:39.351+0000`), a missing offset (read as UTC)
/// and stray whitespace inside the value (`2023-08-04T12: 56: 46.138+0000`). Returns `None` for
/// anything else; never panics.
pub fn parse_aws_time(input: &str) -> Option<OffsetDateTime> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact.len() > 64 {
        return None;
    }
    if let Ok(parsed) = OffsetDateTime::parse(&compact, &Rfc3339) {
        return Some(parsed);
    }
    let colon_less_offset = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][offset_minute]"
    );
    if let Ok(parsed) = OffsetDateTime::parse(&compact, &colon_less_offset) {
        return Some(parsed);
    }
    let colon_offset = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory]:[offset_minute]"
    );
    if let Ok(parsed) = OffsetDateTime::parse(&compact, &colon_offset) {
        return Some(parsed);
    }
    let without_offset = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(&compact, &without_offset)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Formats a timestamp as RFC 3339 in UTC (`2021-06-27T13:53:39.351Z`), for stable summaries.
pub fn format_utc(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(&Rfc3339).unwrap_or_else(|_| format!("{utc:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cloudwatch_colon_less_offset() {
        assert_eq!(
            parse_aws_time("2021-06-27T13:53:39.351+0000"),
            Some(datetime!(2021-06-27 13:53:39.351 UTC))
        );
        assert_eq!(
            parse_aws_time("2024-01-05T01:02:03.004+0530"),
            Some(datetime!(2024-01-05 01:02:03.004 +05:30))
        );
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(
            parse_aws_time("2022-07-21T05:26:58Z"),
            Some(datetime!(2022-07-21 05:26:58 UTC))
        );
        assert_eq!(
            parse_aws_time("2021-06-27T13:53:39.389Z"),
            Some(datetime!(2021-06-27 13:53:39.389 UTC))
        );
        assert_eq!(
            parse_aws_time("2020-02-29T23:59:59-02:00"),
            Some(datetime!(2020-02-29 23:59:59 -02:00))
        );
    }

    #[test]
    fn spaced_times_and_missing_offset() {
        assert_eq!(
            parse_aws_time("2023-08-04T12: 56: 46.138+0000"),
            Some(datetime!(2023-08-04 12:56:46.138 UTC))
        );
        assert_eq!(
            parse_aws_time(" 2019-10-02T17:04:40 "),
            Some(datetime!(2019-10-02 17:04:40 UTC))
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for input in [
            "",
            "   ",
            "Sep 1, 2017 4:12:29 PM",
            "2021-13-40T99:99:99Z",
            "2021-06-27",
            "yesterday",
            "2021-06-27T13:53:39.351+00000000000000000000000000000000000000000000000000000000000000",
            "\u{0}",
        ] {
            assert_eq!(parse_aws_time(input), None, "{input:?}");
        }
    }

    #[test]
    fn formats_in_utc() {
        let at = datetime!(2024-01-05 01:02:03.004 +05:30);
        assert_eq!(format_utc(at), "2024-01-04T19:32:03.004Z");
        assert_eq!(
            format_utc(datetime!(2024-01-05 01:02:03 UTC)),
            "2024-01-05T01:02:03Z"
        );
    }
}

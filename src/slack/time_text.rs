//! How times and durations read in the bot's messages: `12m 5s`, `08:15:02 UTC`.

use std::time::Duration;

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `12m 5s`, `1h 2m`, `3d 4h`, `45s`: the two most significant units, zero parts dropped.
pub fn format_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit} {small}{small_unit}")
        }
    };
    if days > 0 {
        pair(days, "d", hours, "h")
    } else if hours > 0 {
        pair(hours, "h", minutes, "m")
    } else if minutes > 0 {
        pair(minutes, "m", seconds, "s")
    } else {
        format!("{seconds}s")
    }
}

/// `2024-03-11 08:15:02 UTC`.
pub fn format_time(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    match utc.format(&format) {
        Ok(text) => format!("{text} UTC"),
        Err(_) => format!("{utc}"),
    }
}

/// `08:15:02 UTC`.
pub fn format_clock(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let format = format_description!("[hour]:[minute]:[second]");
    match utc.format(&format) {
        Ok(text) => format!("{text} UTC"),
        Err(_) => format!("{utc}"),
    }
}

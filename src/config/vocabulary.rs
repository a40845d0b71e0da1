//! Names the configuration shares with the features below it: notification kinds, alarm states, region codes, globs.
//!
//! These live here, at the bottom, so that `config` imports no feature module: the alarm pipeline
//! reads them from here (`alarms` re-exports `NotificationKind`).

use std::fmt;
use std::str::FromStr;

use globset::GlobMatcher;

/// The notification kinds routing rules name: `alarm`, `pipeline`, `cloudtrail`, `custom`, `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotificationKind {
    Alarm,
    Pipeline,
    CloudTrail,
    Custom,
    Other,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 5] = [
        NotificationKind::Alarm,
        NotificationKind::Pipeline,
        NotificationKind::CloudTrail,
        NotificationKind::Custom,
        NotificationKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Alarm => "alarm",
            NotificationKind::Pipeline => "pipeline",
            NotificationKind::CloudTrail => "cloudtrail",
            NotificationKind::Custom => "custom",
            NotificationKind::Other => "other",
        }
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A routing config named a kind that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown notification kind {0:?} (expected one of: alarm, pipeline, cloudtrail, custom, other)"
)]
pub struct UnknownNotificationKind(pub String);

impl FromStr for NotificationKind {
    type Err = UnknownNotificationKind;

    /// Case-insensitive; surrounding whitespace is ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase();
        NotificationKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == wanted)
            .ok_or_else(|| UnknownNotificationKind(text.to_string()))
    }
}

/// The canonical name of a CloudWatch alarm state (`ALARM`, `OK`, `INSUFFICIENT_DATA`), read
/// case-insensitively with surrounding whitespace ignored, as `alarms::AlarmState` parses it.
pub fn alarm_state_name(text: &str) -> Option<&'static str> {
    ["ALARM", "OK", "INSUFFICIENT_DATA"]
        .into_iter()
        .find(|name| text.trim().eq_ignore_ascii_case(name))
}

/// True for strings shaped like a region code (`eu-west-1`, `us-gov-east-1`), known or not.
pub fn looks_like_region_code(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let Some((last, rest)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && !last.is_empty()
        && last.chars().all(|c| c.is_ascii_digit())
        && rest
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase()))
}

/// Compiles a `match.name` glob the way routing uses it: case-sensitive, `*` crosses `/`.
pub(crate) fn compile_glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    globset::Glob::new(pattern).map(|glob| glob.compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_strings() {
        for kind in NotificationKind::ALL {
            assert_eq!(kind.to_string().parse::<NotificationKind>(), Ok(kind));
        }
        assert_eq!(
            "CloudTrail".parse::<NotificationKind>(),
            Ok(NotificationKind::CloudTrail)
        );
        assert_eq!(
            "alarms".parse::<NotificationKind>(),
            Err(UnknownNotificationKind("alarms".to_string()))
        );
    }

    #[test]
    fn alarm_state_names() {
        assert_eq!(alarm_state_name(" alarm "), Some("ALARM"));
        assert_eq!(
            alarm_state_name("Insufficient_Data"),
            Some("INSUFFICIENT_DATA")
        );
        assert_eq!(alarm_state_name("FAILED"), None);
    }

    #[test]
    fn region_code_shape() {
        assert!(looks_like_region_code("eu-west-1"));
        assert!(looks_like_region_code("us-gov-east-1"));
        assert!(!looks_like_region_code("REGION"));
        assert!(!looks_like_region_code("eu-west"));
        assert!(!looks_like_region_code("Eu-west-1"));
        assert!(!looks_like_region_code("eu--1"));
        assert!(!looks_like_region_code(""));
    }
}

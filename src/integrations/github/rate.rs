//! GitHub's rate-limit signs on an answer, and how long they say to wait, in GitHub's documented
//! order: `retry-after`; else `x-ratelimit-remaining: 0` until `x-ratelimit-reset`; else (a 429,
//! or a 403 that says "secondary rate limit") at least a minute, doubling each time.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use time::OffsetDateTime;

/// The least wait for a limit GitHub names without saying how long.
pub(super) const UNTOLD_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// Added to a reset time, so the retry lands after GitHub's clock turned.
const RESET_MARGIN: Duration = Duration::from_millis(250);

/// The rate-limit headers of one answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct RateSigns {
    pub(super) retry_after: Option<Duration>,
    pub(super) remaining: Option<u64>,
    /// `x-ratelimit-reset`: when the window resets, in Unix seconds.
    pub(super) reset: Option<i64>,
}

impl RateSigns {
    pub(super) fn read(headers: &HeaderMap) -> Self {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        Self {
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
            remaining: number("x-ratelimit-remaining").and_then(|n| u64::try_from(n).ok()),
            reset: number("x-ratelimit-reset"),
        }
    }

    /// How long until the window resets, when the answer says none are left.
    pub(super) fn exhausted_for(&self, now: OffsetDateTime) -> Option<Duration> {
        if self.remaining != Some(0) {
            return None;
        }
        let reset = OffsetDateTime::from_unix_timestamp(self.reset?).ok()?;
        let left = Duration::try_from(reset - now).unwrap_or(Duration::ZERO);
        Some(left + RESET_MARGIN)
    }

    /// The wait a 403 or 429 asks for; `None` when it is not a rate limit at all (a 403 without
    /// any sign is a permission error). `untold` counts earlier waits GitHub gave no time for.
    pub(super) fn limit_wait(
        &self,
        status: u16,
        message: &str,
        now: OffsetDateTime,
        untold: u32,
    ) -> Option<Duration> {
        if let Some(told) = self.retry_after {
            return Some(told);
        }
        if let Some(until_reset) = self.exhausted_for(now) {
            return Some(until_reset);
        }
        let lowered = message.to_ascii_lowercase();
        let says_limit = lowered.contains("secondary rate limit")
            || lowered.contains("rate limit exceeded")
            || lowered.contains("abuse detection");
        if status == 429 || (status == 403 && says_limit) {
            Some(UNTOLD_LIMIT_WAIT.saturating_mul(2u32.saturating_pow(untold.min(10))))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signs(pairs: &[(&'static str, &str)]) -> RateSigns {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        RateSigns::read(&headers)
    }

    #[test]
    fn waits_follow_githubs_documented_order() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let both = signs(&[
            ("retry-after", "7"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000100"),
        ]);
        assert_eq!(
            both.limit_wait(403, "", now, 0),
            Some(Duration::from_secs(7))
        );
        let reset = signs(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000100"),
        ]);
        assert_eq!(
            reset.limit_wait(403, "API rate limit exceeded", now, 0),
            Some(Duration::from_secs(100) + RESET_MARGIN)
        );
        let none = signs(&[("x-ratelimit-remaining", "4999")]);
        assert_eq!(none.limit_wait(429, "", now, 0), Some(UNTOLD_LIMIT_WAIT));
        assert_eq!(
            none.limit_wait(403, "You have exceeded a secondary rate limit", now, 2),
            Some(UNTOLD_LIMIT_WAIT * 4)
        );
        assert_eq!(
            none.limit_wait(403, "Resource not accessible by integration", now, 0),
            None
        );
    }
}

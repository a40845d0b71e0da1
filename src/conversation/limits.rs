//! Cost bounds on questions to the agent: at most so many per user and per channel in any hour
//! (a sliding window), counted when a question is accepted.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

/// The window the hourly limits count in.
pub const WINDOW: Duration = Duration::from_secs(60 * 60);

/// Which hourly limit a question hit, and when the oldest counted question leaves the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitHit {
    User { limit: u32, retry_after: Duration },
    Channel { limit: u32, retry_after: Duration },
}

impl LimitHit {
    /// What the asking user is told (ephemeral).
    pub fn explain(&self) -> String {
        let (who, limit, after) = match self {
            LimitHit::User { limit, retry_after } => ("you have", limit, retry_after),
            LimitHit::Channel { limit, retry_after } => ("this channel has", limit, retry_after),
        };
        let minutes = after.as_secs().div_ceil(60).max(1);
        format!(
            "{who} asked the agent {limit} times in the last hour, the most allowed. \
             Try again in {minutes} min."
        )
    }
}

/// Questions accepted in the last hour, per user and per channel.
#[derive(Debug)]
pub struct HourlyLimits {
    per_user: u32,
    per_channel: u32,
    users: HashMap<String, VecDeque<SystemTime>>,
    channels: HashMap<String, VecDeque<SystemTime>>,
}

impl HourlyLimits {
    pub fn new(per_user: u32, per_channel: u32) -> Self {
        Self {
            per_user,
            per_channel,
            users: HashMap::new(),
            channels: HashMap::new(),
        }
    }

    /// Count a question by `user` in `channel` at `now`, unless a limit is reached (then nothing
    /// is counted).
    pub fn try_take(&mut self, user: &str, channel: &str, now: SystemTime) -> Result<(), LimitHit> {
        let user_times = self.users.entry(user.to_owned()).or_default();
        forget_before(user_times, now);
        if let Some(retry_after) = full(user_times, self.per_user, now) {
            return Err(LimitHit::User {
                limit: self.per_user,
                retry_after,
            });
        }
        let channel_times = self.channels.entry(channel.to_owned()).or_default();
        forget_before(channel_times, now);
        if let Some(retry_after) = full(channel_times, self.per_channel, now) {
            return Err(LimitHit::Channel {
                limit: self.per_channel,
                retry_after,
            });
        }
        channel_times.push_back(now);
        self.users
            .entry(user.to_owned())
            .or_default()
            .push_back(now);
        Ok(())
    }

    /// Count questions asked before a restart (from the answer log), oldest first.
    pub fn remember(&mut self, user: &str, channel: &str, at: SystemTime) {
        self.users.entry(user.to_owned()).or_default().push_back(at);
        self.channels
            .entry(channel.to_owned())
            .or_default()
            .push_back(at);
    }
}

fn forget_before(times: &mut VecDeque<SystemTime>, now: SystemTime) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t).unwrap_or_default() >= WINDOW)
    {
        times.pop_front();
    }
}

/// When `times` already holds `limit` questions: how long until the oldest leaves the window.
fn full(times: &VecDeque<SystemTime>, limit: u32, now: SystemTime) -> Option<Duration> {
    if times.len() < limit as usize {
        return None;
    }
    let oldest = *times.front()?;
    Some(WINDOW.saturating_sub(now.duration_since(oldest).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn each_user_and_each_channel_gets_its_hourly_count() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut limits = HourlyLimits::new(2, 3);
        assert_eq!(limits.try_take("U1", "C1", t0), Ok(()));
        assert_eq!(limits.try_take("U1", "C1", t0 + MIN), Ok(()));
        assert_eq!(
            limits.try_take("U1", "C2", t0 + 2 * MIN),
            Err(LimitHit::User {
                limit: 2,
                retry_after: 58 * MIN
            }),
            "the user's limit holds in every channel"
        );
        assert_eq!(limits.try_take("U2", "C1", t0 + 2 * MIN), Ok(()));
        let hit = limits.try_take("U3", "C1", t0 + 3 * MIN).unwrap_err();
        assert_eq!(
            hit,
            LimitHit::Channel {
                limit: 3,
                retry_after: 57 * MIN
            }
        );
        assert!(hit
            .explain()
            .contains("this channel has asked the agent 3 times"));
        assert!(hit.explain().contains("57 min"));
        // A refused question is not counted: U3 may ask elsewhere at once.
        assert_eq!(limits.try_take("U3", "C2", t0 + 3 * MIN), Ok(()));
        // An hour after the first question, it leaves the window.
        assert_eq!(limits.try_take("U1", "C2", t0 + 60 * MIN), Ok(()));
    }

    #[test]
    fn questions_from_before_a_restart_count() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut limits = HourlyLimits::new(1, 10);
        limits.remember("U1", "C1", t0);
        assert!(matches!(
            limits.try_take("U1", "C1", t0 + 30 * MIN),
            Err(LimitHit::User { .. })
        ));
        assert_eq!(limits.try_take("U1", "C1", t0 + 61 * MIN), Ok(()));
    }
}

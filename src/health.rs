//! The daemon's health as its parts report it: atomics the Socket Mode client and the SQS pollers write, and a pure verdict.
//!
//! The writers' hooks are one or two atomic operations each, cheap enough for every receive. The
//! readers (the systemd watchdog in `systemd::supervisor`, and `/healthz` in `telemetry::endpoint`) take a
//! `HealthSnapshot` at an instant and ask it for its `verdict`. Healthy means: a Slack
//! connection is up, or none has been up for less than one capped reconnect backoff and one
//! attempt (`HealthLimits::reconnect_within`); and, with the alarm pipeline on, an SQS receive
//! ended within 2 × `alarms.receive_wait`.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use crate::config::Config;

/// What the verdict allows, from the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthLimits {
    /// Socket Mode connections the bot holds (`slack.connections`).
    pub connections: usize,
    /// How long no Slack connection may be up while the client reconnects: one capped backoff
    /// (`slack.socket.backoff_max`) plus one attempt (`slack.request_timeout` for
    /// `apps.connections.open`, `slack.socket.idle_timeout` for the handshake and `hello`).
    pub reconnect_within: Duration,
    /// With the alarm pipeline on: the longest time between two ended receives, 2 ×
    /// `alarms.receive_wait`. `None` when alarms are off.
    pub poll_within: Option<Duration>,
}

impl HealthLimits {
    pub fn from_config(config: &Config) -> Self {
        let slack = &config.slack;
        Self {
            connections: usize::from(slack.connections).max(1),
            reconnect_within: slack.socket.backoff_max
                + slack.request_timeout
                + slack.socket.idle_timeout,
            poll_within: config
                .alarms
                .enabled()
                .then(|| config.alarms.receive_wait * 2),
        }
    }
}

impl Default for HealthLimits {
    /// One connection, the default timings, alarms off.
    fn default() -> Self {
        Self {
            connections: 1,
            reconnect_within: Duration::from_secs(100),
            poll_within: None,
        }
    }
}

/// Written by the parts, read by the watchdog. Times are milliseconds since `epoch`.
#[derive(Debug)]
pub struct Health {
    limits: HealthLimits,
    epoch: Instant,
    connections_up: AtomicUsize,
    /// When the last connection went down (0: none has been up since the start).
    slack_down_since: AtomicU64,
    pollers_started: AtomicBool,
    /// When the last receive ended (the start until the pollers started).
    last_poll: AtomicU64,
    /// Notifications delivered on `alarms_day` (UTC days since the epoch).
    alarms_today: AtomicU64,
    alarms_day: AtomicU64,
    alarms_in_hand: AtomicUsize,
    /// Wakes a reader when a connection comes or goes, or the pollers start.
    changed: Notify,
}

impl Default for Health {
    fn default() -> Self {
        Self::new(HealthLimits::default())
    }
}

impl Health {
    pub fn new(limits: HealthLimits) -> Self {
        Self {
            limits,
            epoch: Instant::now(),
            connections_up: AtomicUsize::new(0),
            slack_down_since: AtomicU64::new(0),
            pollers_started: AtomicBool::new(false),
            last_poll: AtomicU64::new(0),
            alarms_today: AtomicU64::new(0),
            alarms_day: AtomicU64::new(utc_day(SystemTime::now())),
            alarms_in_hand: AtomicUsize::new(0),
            changed: Notify::new(),
        }
    }

    pub fn limits(&self) -> &HealthLimits {
        &self.limits
    }

    /// Since this `Health` was made (at start-up).
    pub fn uptime(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Socket Mode connections that said `hello` and are up now.
    pub fn connections_up(&self) -> usize {
        self.connections_up.load(Ordering::Acquire)
    }

    /// A Socket Mode slot has a connection that said `hello`.
    pub fn connection_up(&self) {
        self.connections_up.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
    }

    /// A slot lost its connection (it reconnects with backoff).
    pub fn connection_down(&self) {
        let was = self
            .connections_up
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if was == Ok(1) {
            self.slack_down_since
                .store(self.millis(Instant::now()), Ordering::Release);
        }
        self.changed.notify_one();
    }

    /// The SQS receive loops are running.
    pub fn pollers_started(&self) {
        self.polled();
        self.pollers_started.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    /// A receive ended with an answer from SQS (messages or an empty long poll).
    pub fn polled(&self) {
        self.last_poll
            .store(self.millis(Instant::now()), Ordering::Release);
    }

    /// `count` notifications are being handled until the guard is dropped.
    pub fn alarms_in_hand(&self, count: usize) -> InHand<'_> {
        self.alarms_in_hand.fetch_add(count, Ordering::Relaxed);
        InHand {
            health: self,
            count,
        }
    }

    /// `count` notifications were delivered to Slack.
    pub fn alarms_handled(&self, count: usize) {
        self.count_delivered(count as u64, SystemTime::now());
    }

    /// `count` notifications delivered at `at`: added to the day's count, which starts again from
    /// zero on a new UTC day. At start-up the store's count of the day so far goes in this way.
    pub fn count_delivered(&self, count: u64, at: SystemTime) {
        let day = utc_day(at);
        if self.alarms_day.swap(day, Ordering::AcqRel) == day {
            self.alarms_today.fetch_add(count, Ordering::Relaxed);
        } else {
            self.alarms_today.store(count, Ordering::Relaxed);
        }
    }

    /// Notifications delivered on the UTC day of `at` (0 once that day has no deliveries yet).
    pub fn delivered_on_day_of(&self, at: SystemTime) -> u64 {
        if self.alarms_day.load(Ordering::Acquire) == utc_day(at) {
            self.alarms_today.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Resolves after a connection came or went or the pollers started (at once if that
    /// happened since the last call).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The health as of `now` (which may be later than the last report, never earlier).
    pub fn snapshot(&self, now: Instant) -> HealthSnapshot {
        let since = |millis: &AtomicU64| {
            let at = self.epoch + Duration::from_millis(millis.load(Ordering::Acquire));
            now.saturating_duration_since(at)
        };
        let connections = self.connections_up.load(Ordering::Acquire);
        HealthSnapshot {
            limits: self.limits,
            connections,
            slack_down_for: (connections == 0).then(|| since(&self.slack_down_since)),
            alarms: self.limits.poll_within.map(|_| AlarmsHealth {
                started: self.pollers_started.load(Ordering::Acquire),
                since_poll: since(&self.last_poll),
                today: self.delivered_on_day_of(SystemTime::now()),
                in_hand: self.alarms_in_hand.load(Ordering::Relaxed),
            }),
        }
    }

    /// `snapshot(now).verdict()`.
    pub fn verdict(&self, now: Instant) -> Result<(), Unhealthy> {
        self.snapshot(now).verdict()
    }

    fn millis(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
    }
}

/// Notifications being handled; counted out when dropped (also when the work is abandoned).
pub struct InHand<'a> {
    health: &'a Health,
    count: usize,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        self.health
            .alarms_in_hand
            .fetch_sub(self.count, Ordering::Relaxed);
    }
}

/// The health at one instant: plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSnapshot {
    pub limits: HealthLimits,
    /// Slots whose connection said `hello`.
    pub connections: usize,
    /// How long no connection has been up (since the start if none has been); `None` while one is.
    pub slack_down_for: Option<Duration>,
    /// `None` when the alarm pipeline is off.
    pub alarms: Option<AlarmsHealth>,
}

/// The alarm pipeline's part of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmsHealth {
    pub started: bool,
    /// Since the last receive ended (since the start until the pollers started).
    pub since_poll: Duration,
    /// Notifications delivered today (UTC), before a restart too.
    pub today: u64,
    /// Notifications received and still being handled.
    pub in_hand: usize,
}

impl HealthSnapshot {
    /// Ready for traffic: every connection said `hello`, and the pollers run (alarms on).
    pub fn ready(&self) -> bool {
        self.connections >= self.limits.connections
            && self.alarms.as_ref().is_none_or(|alarms| alarms.started)
    }

    /// Healthy, or every reason it is not.
    pub fn verdict(&self) -> Result<(), Unhealthy> {
        let mut problems = vec![];
        if let Some(down) = self.slack_down_for {
            if down > self.limits.reconnect_within {
                problems.push(Problem::SlackDown {
                    down,
                    limit: self.limits.reconnect_within,
                });
            }
        }
        if let (Some(alarms), Some(limit)) = (&self.alarms, self.limits.poll_within) {
            if alarms.since_poll > limit {
                problems.push(Problem::NoPoll {
                    since: alarms.since_poll,
                    limit,
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Unhealthy { problems })
        }
    }
}

/// Why the daemon is not healthy: every reason, shown joined by "; ".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unhealthy {
    pub problems: Vec<Problem>,
}

impl fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Unhealthy {}

/// One reason for `Unhealthy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No Slack connection for longer than reconnecting allows.
    SlackDown { down: Duration, limit: Duration },
    /// No SQS receive ended for longer than two long polls.
    NoPoll { since: Duration, limit: Duration },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::SlackDown { down, limit } => write!(
                f,
                "no Slack connection for {} (reconnecting may take {})",
                seconds_past(*down),
                seconds(*limit)
            ),
            Problem::NoPoll { since, limit } => write!(
                f,
                "no SQS receive for {} (allowed {})",
                seconds_past(*since),
                seconds(*limit)
            ),
        }
    }
}

/// Days since the Unix epoch, UTC.
fn utc_day(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() / 86_400)
}

/// Midnight UTC at the start of `at`'s day.
pub fn start_of_utc_day(at: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(utc_day(at) * 86_400)
}

/// A duration in whole seconds, the humantime way ("1m 5s"); "0s" below one second.
pub fn seconds(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
}

/// A duration past a limit, rounded up so that it never reads as the limit itself.
fn seconds_past(duration: Duration) -> String {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds(Duration::from_secs(whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn limits(alarms: bool) -> HealthLimits {
        HealthLimits {
            connections: 2,
            reconnect_within: 10 * SECOND,
            poll_within: alarms.then_some(40 * SECOND),
        }
    }

    #[test]
    fn starting_is_healthy_until_the_reconnect_allowance_runs_out() {
        let health = Health::new(limits(false));
        let start = Instant::now();
        let snapshot = health.snapshot(start + 5 * SECOND);
        assert!(!snapshot.ready());
        assert_eq!(snapshot.verdict(), Ok(()));
        let late = health.verdict(start + 11 * SECOND).unwrap_err();
        assert!(matches!(late.problems[..], [Problem::SlackDown { .. }]));
        assert!(late.to_string().starts_with("no Slack connection for"));
    }

    #[test]
    fn one_connection_up_is_healthy_and_all_of_them_is_ready() {
        let health = Health::new(limits(false));
        health.connection_up();
        let much_later = Instant::now() + 3600 * SECOND;
        assert_eq!(health.verdict(much_later), Ok(()));
        assert!(!health.snapshot(much_later).ready());
        health.connection_up();
        assert!(health.snapshot(much_later).ready());
    }

    #[test]
    fn losing_every_connection_starts_the_allowance_from_then() {
        let health = Health::new(limits(false));
        health.connection_up();
        health.connection_up();
        health.connection_down();
        let now = Instant::now();
        assert_eq!(health.snapshot(now).slack_down_for, None, "one is still up");
        health.connection_down();
        let down = Instant::now();
        assert_eq!(health.verdict(down + 9 * SECOND), Ok(()));
        assert!(health.verdict(down + 11 * SECOND).is_err());
        health.connection_up();
        assert_eq!(health.verdict(down + 11 * SECOND), Ok(()));
    }

    #[test]
    fn a_down_without_an_up_does_not_wrap() {
        let health = Health::new(limits(false));
        health.connection_down();
        assert_eq!(health.snapshot(Instant::now()).connections, 0);
    }

    #[test]
    fn pollers_must_have_polled_within_two_long_polls() {
        let health = Health::new(limits(true));
        health.connection_up();
        health.connection_up();
        assert!(
            !health.snapshot(Instant::now()).ready(),
            "pollers not started"
        );
        health.pollers_started();
        let polled = Instant::now();
        assert!(health.snapshot(polled).ready());
        assert_eq!(health.verdict(polled + 39 * SECOND), Ok(()));
        let err = health.verdict(polled + 41 * SECOND).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("no SQS receive for 4"), "{text}");
        assert!(text.ends_with("s (allowed 40s)"), "{text}");
    }

    #[test]
    fn pollers_that_never_start_are_unhealthy_too() {
        let health = Health::new(limits(true));
        health.connection_up();
        let err = health.verdict(Instant::now() + 41 * SECOND).unwrap_err();
        assert!(matches!(err.problems[..], [Problem::NoPoll { .. }]));
    }

    #[test]
    fn every_problem_is_reported() {
        let health = Health::new(limits(true));
        let err = health.verdict(Instant::now() + 60 * SECOND).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.to_string().contains("; "), "{err}");
    }

    #[test]
    fn alarms_in_hand_are_counted_out_when_dropped() {
        let health = Health::new(limits(true));
        let batch = health.alarms_in_hand(3);
        assert_eq!(health.snapshot(Instant::now()).alarms.unwrap().in_hand, 3);
        health.alarms_handled(2);
        drop(batch);
        let alarms = health.snapshot(Instant::now()).alarms.unwrap();
        assert_eq!((alarms.in_hand, alarms.today), (0, 2));
    }

    #[test]
    fn the_day_count_starts_from_the_store_and_again_at_midnight_utc() {
        let health = Health::new(limits(true));
        // 2026-12-07T23:59:30Z, 30 s before midnight, and the next day.
        let evening = UNIX_EPOCH + Duration::from_secs(1_796_687_970);
        let morning = evening + 60 * SECOND;
        assert_eq!(
            start_of_utc_day(evening),
            UNIX_EPOCH + Duration::from_secs(1_796_601_600)
        );
        health.count_delivered(14, evening);
        health.count_delivered(2, evening);
        assert_eq!(health.delivered_on_day_of(evening), 16);
        assert_eq!(health.delivered_on_day_of(morning), 0, "nothing yet today");
        health.count_delivered(1, morning);
        assert_eq!(health.delivered_on_day_of(morning), 1);
        assert_eq!(health.delivered_on_day_of(evening), 0, "yesterday is gone");
    }

    #[test]
    fn limits_come_from_the_config() {
        let config = Config::default();
        let limits = HealthLimits::from_config(&config);
        assert_eq!(limits.connections, 2);
        assert_eq!(limits.reconnect_within, 100 * SECOND, "60s + 10s + 30s");
        assert_eq!(limits.poll_within, None, "alarms are off by default");
    }

    #[test]
    fn durations_read_in_whole_seconds() {
        assert_eq!(seconds(Duration::from_millis(65_900)), "1m 5s");
        assert_eq!(seconds(Duration::from_millis(300)), "0s");
        assert_eq!(seconds_past(Duration::from_millis(2_100)), "3s");
        assert_eq!(seconds_past(2 * SECOND), "2s");
    }
}

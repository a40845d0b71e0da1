//! The supervision loop: `READY=1` once every part is up, `STATUS=` lines, `WATCHDOG=1` only while the health verdict is good, `STOPPING=1` when the stop begins.
//!
//! `Supervisor::tick` is the whole decision, taken at an instant; `run` is a thin loop that
//! ticks every `period` and whenever a Slack connection comes or goes, and sends what the tick
//! decided.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::notifier::Notifier;
use super::status;
use crate::health::{Health, Unhealthy};

/// The status line is sent again after this long even when it reads the same.
pub const STATUS_EVERY: Duration = Duration::from_secs(5);
/// The shortest tick, whatever `$WATCHDOG_USEC` says.
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// Decides what to tell systemd, from the `Health` its parts write.
pub struct Supervisor {
    health: Arc<Health>,
    /// How often to feed the watchdog (half of `$WATCHDOG_USEC`); `None` when it is off.
    watchdog: Option<Duration>,
    ready: bool,
    last_status: Option<(String, Instant)>,
    healthy: bool,
}

/// What one tick decided.
#[derive(Debug, PartialEq, Eq)]
pub struct Step {
    /// Send `READY=1` (once: the first tick that finds every part up).
    pub ready: bool,
    /// Send this `STATUS=` line (it changed, or was last sent `STATUS_EVERY` ago).
    pub status: Option<String>,
    /// Send `WATCHDOG=1`: the watchdog is on and the verdict is healthy.
    pub watchdog: bool,
    pub verdict: Result<(), Unhealthy>,
}

impl Step {
    /// The datagram for this step: newline-separated `KEY=VALUE` lines; `None` if nothing to say.
    pub fn message(&self) -> Option<String> {
        let mut lines = vec![];
        if self.ready {
            lines.push("READY=1".to_owned());
        }
        if let Some(status) = &self.status {
            lines.push(format!("STATUS={}", status.replace('\n', " ")));
        }
        if self.watchdog {
            lines.push("WATCHDOG=1".to_owned());
        }
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

impl Supervisor {
    pub fn new(health: Arc<Health>, watchdog: Option<Duration>) -> Self {
        Self {
            health,
            watchdog: watchdog.map(|period| period.max(MIN_PERIOD)),
            ready: false,
            last_status: None,
            healthy: true,
        }
    }

    /// How often `run` ticks: every watchdog period, and at least every `STATUS_EVERY`.
    pub fn period(&self) -> Duration {
        self.watchdog
            .map_or(STATUS_EVERY, |period| period.min(STATUS_EVERY))
    }

    /// Decide, as of `now`, what to tell systemd; logs when the verdict changes.
    pub fn tick(&mut self, now: Instant) -> Step {
        let snapshot = self.health.snapshot(now);
        let verdict = snapshot.verdict();
        let ready = !self.ready && snapshot.ready();
        self.ready |= ready;
        let text = status::line(&snapshot, &verdict, self.ready);
        let status = match &self.last_status {
            Some((last, at)) if *last == text && now.duration_since(*at) < STATUS_EVERY => None,
            _ => {
                self.last_status = Some((text.clone(), now));
                Some(text)
            }
        };
        match (&verdict, self.healthy) {
            (Err(unhealthy), true) => warn!(
                reason = %unhealthy,
                watchdog = self.watchdog.is_some(),
                "Unhealthy: the systemd watchdog is not fed until this clears."
            ),
            (Ok(()), false) => info!("Healthy again."),
            _ => {}
        }
        self.healthy = verdict.is_ok();
        if ready {
            info!("Every part is up: READY=1 to systemd.");
        }
        Step {
            ready,
            status,
            watchdog: self.watchdog.is_some() && verdict.is_ok(),
            verdict,
        }
    }

    /// Tick every `period` and on every change of the Slack connections until `stop`, then
    /// send `STOPPING=1`.
    pub async fn run(mut self, notifier: Notifier, stop: CancellationToken) {
        let health = self.health.clone();
        let mut every = tokio::time::interval(self.period());
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sender = Sender {
            notifier,
            failing: false,
        };
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = every.tick() => {}
                _ = health.changed() => {}
            }
            if let Some(message) = self.tick(Instant::now()).message() {
                sender.send(&message);
            }
        }
        sender.send(&format!("STOPPING=1\nSTATUS={}", status::STOPPING));
    }
}

/// Sends, and logs a failure once until a send works again.
struct Sender {
    notifier: Notifier,
    failing: bool,
}

impl Sender {
    fn send(&mut self, message: &str) {
        match self.notifier.send(message) {
            Ok(()) => {
                self.failing = false;
                debug!(message, "Told systemd.");
            }
            Err(e) if !self.failing => {
                self.failing = true;
                warn!(socket = %self.notifier.address(), error = %e, "Cannot reach systemd's notify socket.");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::HealthLimits;

    const SECOND: Duration = Duration::from_secs(1);

    fn supervisor(watchdog: Option<Duration>) -> (Arc<Health>, Supervisor) {
        let health = Arc::new(Health::new(HealthLimits {
            connections: 2,
            reconnect_within: 10 * SECOND,
            poll_within: None,
        }));
        (health.clone(), Supervisor::new(health, watchdog))
    }

    #[test]
    fn ready_is_sent_once_every_connection_is_up_and_only_once() {
        let (health, mut supervisor) = supervisor(None);
        let now = Instant::now();
        assert!(!supervisor.tick(now).ready);
        health.connection_up();
        assert!(!supervisor.tick(now).ready, "one of two");
        health.connection_up();
        let step = supervisor.tick(now);
        assert!(step.ready);
        assert!(step.message().unwrap().starts_with("READY=1\nSTATUS=2/2"));
        assert!(!supervisor.tick(now).ready);
        health.connection_down();
        health.connection_up();
        assert!(!supervisor.tick(now).ready, "READY is said once");
    }

    #[test]
    fn the_watchdog_is_fed_only_while_healthy() {
        let (health, mut supervisor) = supervisor(Some(15 * SECOND));
        let start = Instant::now();
        assert!(
            supervisor.tick(start).watchdog,
            "starting, within the allowance"
        );
        let step = supervisor.tick(start + 11 * SECOND);
        assert!(!step.watchdog);
        assert!(step.verdict.is_err());
        assert!(!step.message().unwrap().contains("WATCHDOG=1"));
        health.connection_up();
        let step = supervisor.tick(start + 11 * SECOND);
        assert!(step.watchdog);
        assert!(step.message().unwrap().ends_with("\nWATCHDOG=1"));
    }

    #[test]
    fn without_watchdog_usec_there_is_no_watchdog() {
        let (health, mut supervisor) = supervisor(None);
        health.connection_up();
        assert!(!supervisor.tick(Instant::now()).watchdog);
        assert_eq!(supervisor.period(), STATUS_EVERY);
    }

    #[test]
    fn the_period_is_the_watchdog_period_or_the_status_refresh() {
        assert_eq!(supervisor(Some(SECOND)).1.period(), SECOND);
        assert_eq!(supervisor(Some(60 * SECOND)).1.period(), STATUS_EVERY);
        assert_eq!(supervisor(Some(Duration::ZERO)).1.period(), MIN_PERIOD);
    }

    #[test]
    fn the_status_is_sent_on_change_and_every_few_seconds() {
        let (health, mut supervisor) = supervisor(None);
        let now = Instant::now();
        assert!(supervisor.tick(now).status.is_some(), "first");
        assert_eq!(supervisor.tick(now + SECOND).status, None, "unchanged");
        health.connection_up();
        let changed = supervisor.tick(now + SECOND).status.unwrap();
        assert!(changed.contains("1/2 Slack connections"), "{changed}");
        assert_eq!(supervisor.tick(now + 2 * SECOND).status, None);
        let again = supervisor.tick(now + SECOND + STATUS_EVERY).status;
        assert_eq!(again.as_deref(), Some(changed.as_str()), "refreshed");
    }

    #[test]
    fn a_step_with_nothing_to_say_sends_nothing() {
        let step = Step {
            ready: false,
            status: None,
            watchdog: false,
            verdict: Ok(()),
        };
        assert_eq!(step.message(), None);
        let step = Step {
            status: Some("two\nlines".into()),
            ..step
        };
        assert_eq!(step.message().as_deref(), Some("STATUS=two lines"));
    }
}

//! The `STATUS=` line `systemctl status` shows, from a health snapshot (pure).

use crate::health::{seconds, HealthSnapshot, Unhealthy};

/// Shown from `STOPPING=1` on.
pub const STOPPING: &str =
    "Stopping: finishing the work in hand, handing unhandled alarms back to SQS";

/// For example "2/2 Slack connections · alarms: 14 today, 0 in progress · last poll 3s
/// ago", with "Starting: " before READY and "Unhealthy: <why> · " while the verdict says so.
pub fn line(snapshot: &HealthSnapshot, verdict: &Result<(), Unhealthy>, ready: bool) -> String {
    let mut parts = vec![];
    if let Err(unhealthy) = verdict {
        parts.push(format!("Unhealthy: {unhealthy}"));
    }
    let slack = format!(
        "{}/{} Slack connections",
        snapshot.connections, snapshot.limits.connections
    );
    parts.push(match snapshot.slack_down_for.filter(|_| ready) {
        Some(down) => format!("{slack} (reconnecting for {})", seconds(down)),
        None => slack,
    });
    match &snapshot.alarms {
        None => parts.push("alarms off".to_owned()),
        Some(alarms) if !alarms.started => parts.push("alarms: pollers starting".to_owned()),
        Some(alarms) => {
            parts.push(format!(
                "alarms: {} today, {} in progress",
                alarms.today, alarms.in_hand
            ));
            parts.push(format!("last poll {} ago", seconds(alarms.since_poll)));
        }
    }
    let line = parts.join(" · ");
    if ready || verdict.is_err() {
        line
    } else {
        format!("Starting: {line}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::health::{AlarmsHealth, HealthLimits};

    const SECOND: Duration = Duration::from_secs(1);

    fn snapshot(connections: usize, alarms: Option<AlarmsHealth>) -> HealthSnapshot {
        HealthSnapshot {
            limits: HealthLimits {
                connections: 2,
                reconnect_within: 100 * SECOND,
                poll_within: alarms.as_ref().map(|_| 40 * SECOND),
            },
            connections,
            slack_down_for: (connections == 0).then_some(12 * SECOND),
            alarms,
        }
    }

    fn polling(since_poll: Duration) -> Option<AlarmsHealth> {
        Some(AlarmsHealth {
            started: true,
            since_poll,
            today: 14,
            in_hand: 0,
        })
    }

    fn show(snapshot: &HealthSnapshot, ready: bool) -> String {
        line(snapshot, &snapshot.verdict(), ready)
    }

    #[test]
    fn a_running_bot_shows_its_connections_and_alarms() {
        assert_eq!(
            show(&snapshot(2, polling(3 * SECOND)), true),
            "2/2 Slack connections · alarms: 14 today, 0 in progress · last poll 3s ago"
        );
        assert_eq!(
            show(&snapshot(2, None), true),
            "2/2 Slack connections · alarms off"
        );
    }

    #[test]
    fn before_ready_it_says_starting() {
        let mut starting = snapshot(1, polling(SECOND));
        starting.alarms.as_mut().unwrap().started = false;
        assert_eq!(
            show(&starting, false),
            "Starting: 1/2 Slack connections · alarms: pollers starting"
        );
    }

    #[test]
    fn a_lost_connection_shows_how_long_it_reconnects() {
        assert_eq!(
            show(&snapshot(0, None), true),
            "0/2 Slack connections (reconnecting for 12s) · alarms off"
        );
    }

    #[test]
    fn unhealthy_comes_first_with_its_reason() {
        assert_eq!(
            show(&snapshot(2, polling(45 * SECOND)), true),
            "Unhealthy: no SQS receive for 45s (allowed 40s) · 2/2 Slack connections · \
             alarms: 14 today, 0 in progress · last poll 45s ago"
        );
    }
}

//! The latencies the daemon measures, one closed enum, handed to every recorder (Prometheus histograms, the stats sketches) through one `Latencies` handle.

use std::sync::Arc;
use std::time::Duration;

/// What a latency measures. Adding a kind makes the compiler show every recorder that must
/// learn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LatencyKind {
    /// An alarm's `StateChangeTime` to its card (or update) posted in Slack. Measured once per
    /// channel a notification is shown in (posted, updated, or a storm digest line), after the
    /// Slack call (`notify::lifecycle::CardKeeper::shown`); never for a redelivery already
    /// delivered. Includes any clock skew between CloudWatch and the bot (negative is zero).
    AlarmStateChangeToPost,
    /// The SQS message becoming visible (its `SentTimestamp`) to the post in Slack, measured
    /// with `AlarmStateChangeToPost`, for every kind of notification.
    AlarmVisibleToPost,
    /// A Socket Mode envelope read to its ack written (`slack::socket::connection`, on the
    /// socket thread, after the ack frame is sent).
    SocketAck,
    /// A question to the agent to its full answer: from its turn (after any queue for
    /// `bedrock.max_concurrent`) to the final text shown in Slack; failed answers are not counted.
    AgentAnswer,
}

impl LatencyKind {
    pub const ALL: [LatencyKind; 4] = [
        LatencyKind::AlarmStateChangeToPost,
        LatencyKind::AlarmVisibleToPost,
        LatencyKind::SocketAck,
        LatencyKind::AgentAnswer,
    ];

    /// A stable snake_case name, for labels, store keys and logs.
    pub fn name(self) -> &'static str {
        match self {
            LatencyKind::AlarmStateChangeToPost => "alarm_state_change_to_post",
            LatencyKind::AlarmVisibleToPost => "alarm_visible_to_post",
            LatencyKind::SocketAck => "socket_ack",
            LatencyKind::AgentAnswer => "agent_answer",
        }
    }
}

/// Something that keeps latencies. Called on hot paths: it must not block or allocate much.
pub trait LatencySink: Send + Sync + 'static {
    fn record(&self, kind: LatencyKind, value: Duration);
}

/// The handle the measuring code holds: every sink the daemon runs with (none in most tests).
#[derive(Clone, Default)]
pub struct Latencies {
    sinks: Arc<[Arc<dyn LatencySink>]>,
}

impl Latencies {
    pub fn new(sinks: Vec<Arc<dyn LatencySink>>) -> Self {
        Self {
            sinks: sinks.into(),
        }
    }

    pub fn record(&self, kind: LatencyKind, value: Duration) {
        for sink in self.sinks.iter() {
            sink.record(kind, value);
        }
    }
}

impl std::fmt::Debug for Latencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Latencies({} sinks)", self.sinks.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Kept(Mutex<Vec<(LatencyKind, Duration)>>);

    impl LatencySink for Kept {
        fn record(&self, kind: LatencyKind, value: Duration) {
            self.0.lock().unwrap().push((kind, value));
        }
    }

    #[test]
    fn every_sink_gets_every_value() {
        let (a, b) = (Arc::new(Kept::default()), Arc::new(Kept::default()));
        let latencies = Latencies::new(vec![a.clone(), b.clone()]);
        latencies.record(LatencyKind::SocketAck, Duration::from_millis(2));
        for kept in [a, b] {
            assert_eq!(
                *kept.0.lock().unwrap(),
                vec![(LatencyKind::SocketAck, Duration::from_millis(2))]
            );
        }
        Latencies::default().record(LatencyKind::AgentAnswer, Duration::ZERO);
    }
}

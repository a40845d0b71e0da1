//! What `@bot stats` shows: each latency kind's p50/p90/p95/p99 and count over the last hour and
//! the last 24 hours, as compact text (pure).

use std::time::Duration;

use super::sketch::{LatencySketch, MAX_LATENCY};
use crate::telemetry::latency::LatencyKind;

/// The quantiles shown, in order.
pub const QUANTILES: [(f64, &str); 4] =
    [(0.50, "p50"), (0.90, "p90"), (0.95, "p95"), (0.99, "p99")];

/// One window of one kind: how many values, and the quantiles of `QUANTILES`.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub count: u64,
    pub quantiles: [Duration; 4],
}

impl Window {
    /// `None` when the sketch is empty ("no data").
    pub fn of(sketch: &LatencySketch) -> Option<Window> {
        let mut quantiles = [Duration::ZERO; 4];
        for (value, (q, _)) in quantiles.iter_mut().zip(QUANTILES) {
            *value = sketch.quantile(q)?;
        }
        Some(Window {
            count: sketch.count(),
            quantiles,
        })
    }
}

/// One kind over both windows.
#[derive(Clone, Debug, PartialEq)]
pub struct KindSummary {
    pub kind: LatencyKind,
    pub hour: Option<Window>,
    pub day: Option<Window>,
}

/// Every kind, in `LatencyKind::ALL` order.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub kinds: Vec<KindSummary>,
}

impl Summary {
    pub fn kind(&self, kind: LatencyKind) -> Option<&KindSummary> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// The table: one title line per kind, then one line per window, in a code block.
    pub fn table(&self) -> String {
        let mut lines = vec![];
        for kind in &self.kinds {
            lines.push(title(kind.kind).to_owned());
            for (label, window) in [("1 h ", &kind.hour), ("24 h", &kind.day)] {
                lines.push(format!("  {label}  {}", window_text(window.as_ref())));
            }
        }
        lines.join("\n")
    }
}

/// How a kind is named in the reply.
pub fn title(kind: LatencyKind) -> &'static str {
    match kind {
        LatencyKind::AlarmStateChangeToPost => "Alarm delivery: state change → post",
        LatencyKind::AlarmVisibleToPost => "Alarm delivery: SQS visible → post",
        LatencyKind::SocketAck => "Socket Mode ack: read → ack",
        LatencyKind::AgentAnswer => "Bedrock answer: question → answer",
    }
}

fn window_text(window: Option<&Window>) -> String {
    let Some(window) = window else {
        return "no data".to_owned();
    };
    let values: Vec<String> = QUANTILES
        .iter()
        .zip(window.quantiles)
        .map(|((_, name), value)| format!("{name} {:>6}", latency_text(value)))
        .collect();
    format!("{}  n={}", values.join("  "), window.count)
}

/// A latency in three significant digits at most: `850µs`, `12.3ms`, `1.25s`, `2m 05s`,
/// `3h 10m`; `≥7d` at the sketch's ceiling.
pub fn latency_text(value: Duration) -> String {
    if value >= MAX_LATENCY {
        return "≥7d".to_owned();
    }
    let micros = value.as_micros() as f64;
    let secs = value.as_secs();
    if micros < 1_000.0 {
        format!("{micros:.0}µs")
    } else if micros < 1_000_000.0 {
        format!("{}ms", three_digits(micros / 1_000.0))
    } else if secs < 60 {
        format!("{}s", three_digits(micros / 1_000_000.0))
    } else if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else if secs < 86_400 {
        format!("{}h {:02}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}d {:02}h", secs / 86_400, secs % 86_400 / 3600)
    }
}

/// `1.25`, `12.3`, `123`: three significant digits for a value in 1..1000.
fn three_digits(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_read_short() {
        let cases = [
            (Duration::from_micros(850), "850µs"),
            (Duration::from_micros(12_345), "12.3ms"),
            (Duration::from_millis(999), "999ms"),
            (Duration::from_millis(1_254), "1.25s"),
            (Duration::from_secs(125), "2m 05s"),
            (Duration::from_secs(3 * 3600 + 600), "3h 10m"),
            (Duration::from_secs(2 * 86_400 + 3600), "2d 01h"),
            (MAX_LATENCY, "≥7d"),
        ];
        for (value, text) in cases {
            assert_eq!(latency_text(value), text, "{value:?}");
        }
    }

    #[test]
    fn the_table_shows_every_kind_both_windows_counts_and_no_data() {
        let mut sketch = LatencySketch::new();
        for ms in 1..=100 {
            sketch.record(Duration::from_millis(ms));
        }
        let summary = Summary {
            kinds: LatencyKind::ALL
                .into_iter()
                .map(|kind| KindSummary {
                    kind,
                    hour: (kind == LatencyKind::SocketAck).then(|| Window::of(&sketch).unwrap()),
                    day: (kind == LatencyKind::SocketAck).then(|| Window::of(&sketch).unwrap()),
                })
                .collect(),
        };
        let table = summary.table();
        assert!(
            table.contains("  1 h   p50 50.2ms  p90 90.1ms  p95 95.2ms  p99 99.3ms  n=100"),
            "{table}"
        );
        assert_eq!(table.matches("no data").count(), 6, "{table}");
        assert_eq!(table.lines().count(), 12, "{table}");
    }
}

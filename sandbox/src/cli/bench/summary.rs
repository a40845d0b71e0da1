//! Medians over the repeated runs, per subject and phase, and the verdicts on the targets.

use std::process::ExitStatus;
use std::time::Duration;

use super::phase::PhaseResult;
use super::subject::SubjectKind;

/// Targets from the issue.
pub const TARGET_P99: Duration = Duration::from_millis(2);
/// Bot burst throughput must be at least this share of the floor's.
pub const TARGET_BURST_SHARE: f64 = 0.5;
/// Bot ack p99 at most this multiple of the floor's, at each paced rate (issue #8).
pub const TARGET_P99_FLOOR_RATIO: f64 = 2.0;
/// Peak RSS cap in bytes (30 MB, decimal).
pub const TARGET_RSS_BYTES: u64 = 30_000_000;

/// One measurement: a fresh fake and a fresh subject process, both phases.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Which client.
    pub kind: SubjectKind,
    /// 1-based repeat number.
    pub repeat: usize,
    /// Paced phase at the low rate (run first).
    pub paced_low: PhaseResult,
    /// Paced phase.
    pub paced: PhaseResult,
    /// Burst phase.
    pub burst: PhaseResult,
    /// VmHWM once connected and idle, before the first phase, KiB.
    pub startup_rss_kib: u64,
    /// How the process exited after SIGTERM.
    pub exit: ExitStatus,
}

impl RunResult {
    /// VmHWM after both phases: the peak over the process's life, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.burst.peak_rss_kib
    }
}

/// Medians of one phase's figures over the runs of one subject.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseMedians {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub acks_per_sec: f64,
    pub cpu_s: f64,
    pub offered_per_sec: f64,
    pub max_lag_ms: f64,
    pub late_sends: f64,
    pub replies: f64,
    pub replies_trail_ms: f64,
}

/// Medians of one subject over its runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubjectMedians {
    pub paced_low: PhaseMedians,
    pub paced: PhaseMedians,
    pub burst: PhaseMedians,
    pub peak_rss_mb: f64,
    /// VmHWM before the first phase, MB.
    pub startup_rss_mb: f64,
    /// VmHWM after the paced phase, MB.
    pub paced_rss_mb: f64,
    /// The largest peak RSS of any run, MB.
    pub peak_rss_mb_max: f64,
}

/// The headline: both subjects, their ratios and the targets.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub bot: SubjectMedians,
    pub floor: SubjectMedians,
}

impl Summary {
    pub fn from_runs(runs: &[RunResult]) -> Summary {
        Summary {
            bot: SubjectMedians::of(runs, SubjectKind::Bot),
            floor: SubjectMedians::of(runs, SubjectKind::Floor),
        }
    }

    /// Bot p99 / floor p99 in the paced phase.
    pub fn paced_p99_ratio(&self) -> f64 {
        self.bot.paced.p99_ms / self.floor.paced.p99_ms
    }

    /// Bot p99 / floor p99 in the paced phase at the low rate.
    pub fn paced_low_p99_ratio(&self) -> f64 {
        self.bot.paced_low.p99_ms / self.floor.paced_low.p99_ms
    }

    /// Whether a bot / floor p99 ratio is within `TARGET_P99_FLOOR_RATIO`.
    pub fn ratio_met(ratio: f64) -> bool {
        ratio <= TARGET_P99_FLOOR_RATIO
    }

    /// Bot burst acks/s / floor burst acks/s.
    pub fn burst_throughput_ratio(&self) -> f64 {
        self.bot.burst.acks_per_sec / self.floor.burst.acks_per_sec
    }

    pub fn p99_met(&self) -> bool {
        self.bot.paced.p99_ms <= TARGET_P99.as_secs_f64() * 1000.0
    }

    pub fn burst_met(&self) -> bool {
        self.burst_throughput_ratio() >= TARGET_BURST_SHARE
    }

    pub fn rss_met(&self) -> bool {
        self.bot.peak_rss_mb_max * 1e6 <= TARGET_RSS_BYTES as f64
    }
}

impl SubjectMedians {
    fn of(runs: &[RunResult], kind: SubjectKind) -> SubjectMedians {
        let mine: Vec<&RunResult> = runs.iter().filter(|r| r.kind == kind).collect();
        let rss: Vec<f64> = mine.iter().map(|r| kib_to_mb(r.peak_rss_kib())).collect();
        let mb_median = |kib: fn(&RunResult) -> u64| {
            median(&mine.iter().map(|r| kib_to_mb(kib(r))).collect::<Vec<_>>())
        };
        SubjectMedians {
            paced_low: PhaseMedians::of(mine.iter().map(|r| &r.paced_low)),
            paced: PhaseMedians::of(mine.iter().map(|r| &r.paced)),
            burst: PhaseMedians::of(mine.iter().map(|r| &r.burst)),
            peak_rss_mb: median(&rss),
            startup_rss_mb: mb_median(|r| r.startup_rss_kib),
            paced_rss_mb: mb_median(|r| r.paced.peak_rss_kib),
            peak_rss_mb_max: rss.iter().copied().fold(0.0, f64::max),
        }
    }
}

impl PhaseMedians {
    fn of<'a>(phases: impl Iterator<Item = &'a PhaseResult> + Clone) -> PhaseMedians {
        let med = |figure: fn(&PhaseResult) -> f64| {
            median(&phases.clone().map(figure).collect::<Vec<_>>())
        };
        PhaseMedians {
            p50_ms: med(|p| ms(p.p50)),
            p99_ms: med(|p| ms(p.p99)),
            max_ms: med(|p| ms(p.max)),
            acks_per_sec: med(|p| p.acks_per_sec),
            cpu_s: med(|p| p.cpu.as_secs_f64()),
            offered_per_sec: med(|p| p.send.offered_per_sec),
            max_lag_ms: med(|p| ms(p.send.max_lag)),
            late_sends: med(|p| p.send.late_sends as f64),
            replies: med(|p| p.replies as f64),
            replies_trail_ms: med(|p| ms(p.replies_trail)),
        }
    }
}

/// Milliseconds as a float.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// KiB (as /proc reports) to decimal megabytes.
pub fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// Median (mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn kib_converts_to_decimal_megabytes() {
        assert!((kib_to_mb(29_296) - 29.999_104).abs() < 1e-9);
        assert!(kib_to_mb(29_297) * 1e6 > TARGET_RSS_BYTES as f64);
    }
}

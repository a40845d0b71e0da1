//! Medians over the repeated runs of the alarm benchmark, and the verdicts on the targets.

use std::process::ExitStatus;
use std::time::Duration;

use super::phase::PhaseResult;
use super::subject::SubjectKind;
use crate::cli::bench::summary::{kib_to_mb, median, ms};

/// Targets from the issue.
pub const TARGET_ALARMS_PER_SEC: f64 = 2_000.0;
pub const TARGET_CPU_US_PER_ALARM: f64 = 200.0;
/// CPU per alarm in the paced phase (issue #8), where batches are small.
pub const TARGET_PACED_CPU_US_PER_ALARM: f64 = 250.0;
pub const TARGET_P99: Duration = Duration::from_millis(50);

/// One measurement: fresh fakes and a fresh subject process, both phases.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub kind: SubjectKind,
    /// 1-based repeat number.
    pub repeat: usize,
    pub paced: PhaseResult,
    pub burst: PhaseResult,
    /// How the process exited after SIGTERM.
    pub exit: ExitStatus,
}

/// Medians of one phase's figures over the runs of one subject.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseMedians {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub receive_p50_ms: f64,
    pub receive_p99_ms: f64,
    pub alarms_per_sec: f64,
    pub cpu_us_per_alarm: f64,
    pub posts: f64,
    pub offered_per_sec: f64,
    pub max_lag_ms: f64,
    pub late_sends: f64,
}

/// Medians of one subject over its runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubjectMedians {
    pub paced: PhaseMedians,
    pub burst: PhaseMedians,
    /// VmHWM at the end of the run, MB.
    pub peak_rss_mb: f64,
}

/// Both subjects, their ratios and the targets.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub bot: SubjectMedians,
    pub floor: SubjectMedians,
}

impl Summary {
    /// `alarms` per phase: CPU per alarm is the phase's CPU time over it.
    pub fn from_runs(runs: &[RunResult], alarms: usize) -> Summary {
        Summary {
            bot: SubjectMedians::of(runs, SubjectKind::Bot, alarms),
            floor: SubjectMedians::of(runs, SubjectKind::Floor, alarms),
        }
    }

    pub fn throughput_met(&self) -> bool {
        self.bot.burst.alarms_per_sec >= TARGET_ALARMS_PER_SEC
    }

    pub fn cpu_met(&self) -> bool {
        self.bot.burst.cpu_us_per_alarm <= TARGET_CPU_US_PER_ALARM
    }

    pub fn paced_cpu_met(&self) -> bool {
        self.bot.paced.cpu_us_per_alarm <= TARGET_PACED_CPU_US_PER_ALARM
    }

    pub fn p99_met(&self) -> bool {
        self.bot.paced.p99_ms <= ms(TARGET_P99)
    }
}

impl RunResult {
    /// The targets this one run of the bot missed, each with its figure (empty for the floor).
    pub fn misses(&self, alarms: usize) -> Vec<String> {
        if self.kind != SubjectKind::Bot {
            return Vec::new();
        }
        let mut missed = Vec::new();
        let per_sec = self.burst.alarms_per_sec;
        if per_sec < TARGET_ALARMS_PER_SEC {
            missed.push(format!(
                "burst {per_sec:.0} alarms/s < {TARGET_ALARMS_PER_SEC:.0}"
            ));
        }
        let burst_cpu = cpu_us_per_alarm(self.burst.cpu, alarms);
        if burst_cpu > TARGET_CPU_US_PER_ALARM {
            missed.push(format!(
                "burst CPU {burst_cpu:.0} µs > {TARGET_CPU_US_PER_ALARM:.0}"
            ));
        }
        let paced_cpu = cpu_us_per_alarm(self.paced.cpu, alarms);
        if paced_cpu > TARGET_PACED_CPU_US_PER_ALARM {
            missed.push(format!(
                "paced CPU {paced_cpu:.0} µs > {TARGET_PACED_CPU_US_PER_ALARM:.0}"
            ));
        }
        let p99 = ms(self.paced.p99);
        if p99 > ms(TARGET_P99) {
            missed.push(format!("paced p99 {p99:.1} ms > {:.0}", ms(TARGET_P99)));
        }
        let twice = self.paced.shown_twice + self.burst.shown_twice;
        if twice > 0 {
            missed.push(format!("{twice} alarms shown twice"));
        }
        missed
    }
}

impl SubjectMedians {
    fn of(runs: &[RunResult], kind: SubjectKind, alarms: usize) -> SubjectMedians {
        let mine: Vec<&RunResult> = runs.iter().filter(|r| r.kind == kind).collect();
        let rss: Vec<f64> = mine
            .iter()
            .map(|r| kib_to_mb(r.burst.peak_rss_kib))
            .collect();
        SubjectMedians {
            paced: PhaseMedians::of(mine.iter().map(|r| &r.paced), alarms),
            burst: PhaseMedians::of(mine.iter().map(|r| &r.burst), alarms),
            peak_rss_mb: median(&rss),
        }
    }
}

impl PhaseMedians {
    fn of<'a>(
        phases: impl Iterator<Item = &'a PhaseResult> + Clone,
        alarms: usize,
    ) -> PhaseMedians {
        let med = |figure: &dyn Fn(&PhaseResult) -> f64| {
            median(&phases.clone().map(figure).collect::<Vec<_>>())
        };
        PhaseMedians {
            p50_ms: med(&|p| ms(p.p50)),
            p99_ms: med(&|p| ms(p.p99)),
            max_ms: med(&|p| ms(p.max)),
            receive_p50_ms: med(&|p| ms(p.receive_p50)),
            receive_p99_ms: med(&|p| ms(p.receive_p99)),
            alarms_per_sec: med(&|p| p.alarms_per_sec),
            cpu_us_per_alarm: med(&|p| cpu_us_per_alarm(p.cpu, alarms)),
            posts: med(&|p| p.posts as f64),
            offered_per_sec: med(&|p| p.send.offered_per_sec),
            max_lag_ms: med(&|p| ms(p.send.max_lag)),
            late_sends: med(&|p| p.send.late_sends as f64),
        }
    }
}

/// CPU time over a number of alarms, in microseconds each.
pub fn cpu_us_per_alarm(cpu: Duration, alarms: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / alarms.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn run(kind: SubjectKind, repeat: usize, p99_ms: u64, per_sec: f64, cpu_ms: u64) -> RunResult {
        let phase = PhaseResult {
            p99: Duration::from_millis(p99_ms),
            alarms_per_sec: per_sec,
            cpu: Duration::from_millis(cpu_ms),
            ..PhaseResult::default()
        };
        RunResult {
            kind,
            repeat,
            paced: phase.clone(),
            burst: phase,
            exit: ExitStatus::from_raw(0),
        }
    }

    #[test]
    fn medians_per_subject_decide_the_targets() {
        let runs = [
            run(SubjectKind::Bot, 1, 40, 2_500.0, 3_000),
            run(SubjectKind::Floor, 1, 5, 9_000.0, 500),
            run(SubjectKind::Bot, 2, 70, 1_500.0, 5_000),
            run(SubjectKind::Bot, 3, 45, 2_100.0, 4_400),
        ];
        let summary = Summary::from_runs(&runs, 20_000);
        assert_eq!(summary.bot.paced.p99_ms, 45.0);
        assert_eq!(summary.bot.burst.alarms_per_sec, 2_100.0);
        assert!((summary.bot.burst.cpu_us_per_alarm - 220.0).abs() < 1e-9);
        assert_eq!(summary.floor.burst.alarms_per_sec, 9_000.0);
        assert!(summary.p99_met() && summary.throughput_met());
        assert!(!summary.cpu_met());
        assert!(summary.paced_cpu_met(), "220 µs is within the paced 250 µs");
    }

    #[test]
    fn each_run_says_which_targets_it_missed() {
        let good = run(SubjectKind::Bot, 1, 40, 2_500.0, 3_000);
        assert!(good.misses(20_000).is_empty());
        let slow = run(SubjectKind::Bot, 2, 70, 1_500.0, 6_000);
        let missed = slow.misses(20_000);
        assert_eq!(missed.len(), 4, "{missed:?}");
        assert!(missed[0].starts_with("burst 1500 alarms/s"), "{missed:?}");
        assert!(missed[2].starts_with("paced CPU 300 µs"), "{missed:?}");
        let floor = run(SubjectKind::Floor, 1, 70, 1_500.0, 6_000);
        assert!(floor.misses(20_000).is_empty(), "the floor has no targets");
    }
}

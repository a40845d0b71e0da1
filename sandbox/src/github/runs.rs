//! The fake's workflow runs: each moves queued → in_progress → completed on its own clock (two
//! jobs, a few steps each, the current step advancing), ending with the conclusion it was given.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use time::OffsetDateTime;

/// The jobs and steps every fake deploy run has.
pub(crate) const JOBS: [(&str, &[&str]); 2] = [
    (
        "build",
        &["Set up job", "Check out", "Build image", "Push image"],
    ),
    ("deploy", &["Set up job", "Deploy", "Smoke test"]),
];

/// How a fake run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    Success,
    Failure,
    Cancelled,
}

impl RunOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Cancelled => "cancelled",
        }
    }
}

/// How long a run spends queued and then running (spread evenly over its steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunTimings {
    pub queued: Duration,
    pub running: Duration,
}

impl Default for RunTimings {
    fn default() -> Self {
        Self {
            queued: Duration::from_millis(500),
            running: Duration::from_secs(2),
        }
    }
}

/// Where a run is at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Queued,
    /// Running step number `step` (0-based over all jobs' steps).
    Running {
        step: usize,
    },
    Completed,
}

/// One workflow run, as dispatched.
#[derive(Clone, Debug)]
pub struct FakeRun {
    pub id: u64,
    pub event: String,
    pub display_title: String,
    pub version: String,
    pub environment: String,
    pub request_id: String,
    pub outcome: RunOutcome,
    pub created_at: OffsetDateTime,
    pub(crate) started: Instant,
    pub(crate) timings: RunTimings,
    /// Whether its completion was settled (deployment recorded).
    pub(crate) settled: bool,
}

fn total_steps() -> usize {
    JOBS.iter().map(|(_, steps)| steps.len()).sum()
}

impl FakeRun {
    pub fn phase(&self, now: Instant) -> Phase {
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed < self.timings.queued {
            return Phase::Queued;
        }
        let running = elapsed - self.timings.queued;
        if running >= self.timings.running {
            return Phase::Completed;
        }
        let per_step = self.timings.running.as_secs_f64() / total_steps() as f64;
        let step = (running.as_secs_f64() / per_step) as usize;
        Phase::Running {
            step: step.min(total_steps() - 1),
        }
    }

    /// When it completes, on the wall clock.
    pub fn completed_at(&self) -> OffsetDateTime {
        self.created_at + self.timings.queued + self.timings.running
    }

    pub(crate) fn html_url(&self, repo: &str) -> String {
        format!("https://github.com/{repo}/actions/runs/{}", self.id)
    }

    /// The run as `GET …/actions/runs/{id}` shows it.
    pub(crate) fn to_json(&self, repo: &str, api: &str, now: Instant) -> Value {
        let (status, conclusion) = match self.phase(now) {
            Phase::Queued => ("queued", None),
            Phase::Running { .. } => ("in_progress", None),
            Phase::Completed => ("completed", Some(self.outcome.as_str())),
        };
        json!({
            "id": self.id,
            "name": "Deploy",
            "display_title": self.display_title,
            "event": self.event,
            "status": status,
            "conclusion": conclusion,
            "head_branch": "main",
            "run_attempt": 1,
            "html_url": self.html_url(repo),
            "url": format!("{api}/repos/{repo}/actions/runs/{}", self.id),
            "created_at": stamp(self.created_at),
            "updated_at": stamp(self.created_at),
        })
    }

    /// Its jobs as `GET …/runs/{id}/jobs` shows them: jobs before the current step's job are
    /// done, the current one in progress at its step, later ones queued. A failed or cancelled
    /// run ends in its last job.
    pub(crate) fn jobs_json(&self, repo: &str, now: Instant) -> Value {
        let phase = self.phase(now);
        let mut first_step = 0;
        let mut jobs = Vec::new();
        for (index, (name, steps)) in JOBS.iter().enumerate() {
            let last_job = index == JOBS.len() - 1;
            let step_state = |offset: usize| -> (&str, Option<&str>) {
                let number = first_step + offset;
                match phase {
                    Phase::Queued => ("queued", None),
                    Phase::Running { step } if number < step => ("completed", Some("success")),
                    Phase::Running { step } if number == step => ("in_progress", None),
                    Phase::Running { .. } => ("queued", None),
                    Phase::Completed if last_job && offset == steps.len() - 1 => {
                        ("completed", Some(self.outcome.as_str()))
                    }
                    Phase::Completed => ("completed", Some("success")),
                }
            };
            let step_json: Vec<Value> = (0..steps.len())
                .map(|offset| {
                    let (status, conclusion) = step_state(offset);
                    json!({"name": steps[offset], "status": status, "conclusion": conclusion,
                           "number": offset + 1})
                })
                .collect();
            let (status, conclusion) = match phase {
                Phase::Queued => ("queued", None),
                Phase::Running { step } if step < first_step => ("queued", None),
                Phase::Running { step } if step < first_step + steps.len() => ("in_progress", None),
                Phase::Running { .. } => ("completed", Some("success")),
                Phase::Completed if last_job => ("completed", Some(self.outcome.as_str())),
                Phase::Completed => ("completed", Some("success")),
            };
            let job_id = self.id * 10 + index as u64;
            jobs.push(json!({
                "id": job_id,
                "run_id": self.id,
                "name": name,
                "status": status,
                "conclusion": conclusion,
                "html_url": format!("{}/job/{job_id}", self.html_url(repo)),
                "steps": step_json,
            }));
            first_step += steps.len();
        }
        json!({"total_count": jobs.len(), "jobs": jobs})
    }
}

/// A GitHub timestamp: RFC 3339 in UTC, whole seconds.
pub(crate) fn stamp(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

//! The alarm's own data for the agent: what to fetch (`EvidencePlan`), fetched from CloudWatch within a fixed budget (`gather`), and written as short text sections for the prompt.
//!
//! Analysis never waits on CloudWatch longer than [`EVIDENCE_BUDGET`]: the three reads run at
//! once, each cut off at the budget, and a part that failed or ran out is left out with a line
//! saying so.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

use crate::integrations::cloudwatch::{
    AlarmEvidence, AlarmNow, EvidenceError, HistoryItem, Series, SeriesQuery, SeriesRequest,
};

/// The longest the agent's answer waits for the alarm's data.
pub const EVIDENCE_BUDGET: Duration = Duration::from_secs(2);
/// The window of metric data the agent sees.
pub const EVIDENCE_WINDOW: Duration = Duration::from_secs(3 * 60 * 60);
/// At most this many points per series.
pub const MAX_POINTS: usize = 180;
/// The alarm history items the agent sees.
pub const HISTORY_ITEMS: usize = 10;
/// Child alarms asked about (DescribeAlarms takes 100 names).
pub const MAX_CHILDREN: usize = 100;

/// What to fetch about one alarm: plain data built from the alarm's notification.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidencePlan {
    pub alarm_name: String,
    pub region: String,
    /// The alarm's metric queries (empty for a composite alarm), at `period_secs`.
    pub queries: Vec<SeriesQuery>,
    pub period_secs: u64,
    /// A composite alarm's children, by name.
    pub children: Vec<String>,
}

/// The alarm's data as text sections for the prompt, fetched from `source` within the budget.
pub async fn gather(
    source: &dyn AlarmEvidence,
    plan: &EvidencePlan,
    now: SystemTime,
) -> Vec<String> {
    let series = async {
        if plan.queries.is_empty() {
            return None;
        }
        let request = SeriesRequest {
            region: plan.region.clone(),
            queries: plan.queries.clone(),
            start: now - EVIDENCE_WINDOW,
            end: now,
            max_points: MAX_POINTS,
        };
        Some(bounded("GetMetricData", source.metric_data(&request)).await)
    };
    let children = async {
        if plan.children.is_empty() {
            return None;
        }
        Some(
            bounded(
                "DescribeAlarms",
                source.alarms(&plan.region, &plan.children),
            )
            .await,
        )
    };
    let history = bounded(
        "DescribeAlarmHistory",
        source.history(&plan.region, &plan.alarm_name, HISTORY_ITEMS),
    );
    let (series, children, history) = tokio::join!(series, children, history);
    let mut sections = Vec::new();
    match series {
        Some(Ok(series)) => sections.push(series_section(&series, plan.period_secs)),
        Some(Err(e)) => sections.push(unavailable("Metric data (last 3 hours)", &e)),
        None => {}
    }
    match children {
        Some(Ok(children)) => sections.push(children_section(&plan.children, &children)),
        Some(Err(e)) => sections.push(unavailable("Child alarms", &e)),
        None => {}
    }
    match history {
        Ok(items) => sections.push(history_section(&items)),
        Err(e) => sections.push(unavailable("Alarm history", &e)),
    }
    sections
}

async fn bounded<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, EvidenceError>>,
) -> Result<T, EvidenceError> {
    tokio::time::timeout(EVIDENCE_BUDGET, call)
        .await
        .unwrap_or(Err(EvidenceError::TimedOut {
            operation,
            after: EVIDENCE_BUDGET,
        }))
}

fn unavailable(what: &str, error: &EvidenceError) -> String {
    format!("{what}: not available ({error}); the analysis goes without it.")
}

/// Each series as `HH:MM value` lines (UTC), oldest first, at most [`MAX_POINTS`] (the newest).
pub fn series_section(series: &[Series], period_secs: u64) -> String {
    let mut text =
        format!("Metric data (last 3 hours, UTC, one point per {period_secs} s, `time value`):\n");
    if series.iter().all(|s| s.points.is_empty()) {
        text.push_str("(no datapoints in the last 3 hours)\n");
        return text;
    }
    for one in series {
        let name = if one.label.is_empty() {
            &one.id
        } else {
            &one.label
        };
        let _ = writeln!(text, "{name} [{}]:", one.id);
        let skip = one.points.len().saturating_sub(MAX_POINTS);
        for (at, value) in &one.points[skip..] {
            let _ = writeln!(text, "{} {}", clock(*at), number(*value));
        }
        if !one.complete {
            text.push_str("(CloudWatch had more points than shown)\n");
        }
    }
    text
}

/// The children's states now; a child DescribeAlarms did not find is said so.
pub fn children_section(asked: &[String], found: &[AlarmNow]) -> String {
    let mut text = String::from("Child alarms of this composite alarm, as they are now:\n");
    for name in asked {
        match found.iter().find(|a| &a.name == name) {
            Some(a) => {
                let since = a
                    .since
                    .map(|t| format!(" since {}", stamp(t)))
                    .unwrap_or_default();
                let _ = writeln!(
                    text,
                    "- {name}: {}{since}: {}",
                    a.state,
                    one_line(&a.reason)
                );
            }
            None => {
                let _ = writeln!(text, "- {name}: not found");
            }
        }
    }
    text
}

/// The alarm's last history items, newest first.
pub fn history_section(items: &[HistoryItem]) -> String {
    let mut text = String::from("Alarm history (newest first):\n");
    if items.is_empty() {
        text.push_str("(none)\n");
    }
    for item in items {
        let _ = writeln!(
            text,
            "- {} {}: {}",
            stamp(item.at),
            item.kind,
            one_line(&item.summary)
        );
    }
    text
}

fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        flat.chars().take(299).chain(['…']).collect()
    } else {
        flat
    }
}

fn utc(at: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(at)
}

/// `HH:MM`.
fn clock(at: SystemTime) -> String {
    let t = utc(at);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `YYYY-MM-DD HH:MM UTC`.
fn stamp(at: SystemTime) -> String {
    let t = utc(at);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A value in few characters: integers as such, else up to 4 decimals without trailing zeros.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn series_become_compact_time_value_lines_newest_kept() {
        let points: Vec<(SystemTime, f64)> = (0..200)
            .map(|i| (at(1_765_120_000 + i * 60), i as f64 + 0.5))
            .collect();
        let text = series_section(
            &[Series {
                id: "m1".into(),
                label: "CPUUtilization".into(),
                points,
                complete: true,
            }],
            60,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "CPUUtilization [m1]:");
        assert_eq!(lines.len(), 2 + MAX_POINTS, "at most 180 points");
        assert_eq!(lines[2], "15:26 20.5", "the oldest 20 left out");
        assert_eq!(*lines.last().unwrap(), "18:25 199.5");
        assert_eq!(number(80.0), "80");
        assert_eq!(number(0.123456), "0.1235");
    }

    #[test]
    fn children_and_history_read_as_lists() {
        let children = children_section(
            &["db-cpu".into(), "gone".into()],
            &[AlarmNow {
                name: "db-cpu".into(),
                state: "ALARM".into(),
                reason: "Threshold\nCrossed".into(),
                since: Some(at(1_765_120_000)),
            }],
        );
        assert!(
            children.contains("- db-cpu: ALARM since 2025-12-07 15:06 UTC: Threshold Crossed"),
            "{children}"
        );
        assert!(children.contains("- gone: not found"));
        let history = history_section(&[HistoryItem {
            at: at(1_765_120_000),
            kind: "StateUpdate".into(),
            summary: "Alarm updated from OK to ALARM".into(),
        }]);
        assert!(history
            .ends_with("- 2025-12-07 15:06 UTC StateUpdate: Alarm updated from OK to ALARM\n"));
    }

    /// CloudWatch as a test wants it: children known, metric data that never comes.
    struct Stub;

    #[async_trait::async_trait]
    impl AlarmEvidence for Stub {
        async fn metric_data(&self, _: &SeriesRequest) -> Result<Vec<Series>, EvidenceError> {
            std::future::pending().await
        }
        async fn alarms(
            &self,
            region: &str,
            names: &[String],
        ) -> Result<Vec<AlarmNow>, EvidenceError> {
            assert_eq!(region, "eu-west-1");
            Ok(names
                .iter()
                .filter(|n| n.as_str() == "api-5xx")
                .map(|n| AlarmNow {
                    name: n.clone(),
                    state: "ALARM".into(),
                    reason: "Threshold Crossed".into(),
                    since: None,
                })
                .collect())
        }
        async fn history(
            &self,
            _: &str,
            _: &str,
            max: usize,
        ) -> Result<Vec<HistoryItem>, EvidenceError> {
            assert_eq!(max, HISTORY_ITEMS);
            Err(EvidenceError::AccessDenied {
                action: "cloudwatch:DescribeAlarmHistory",
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_part_is_fetched_within_the_budget_and_a_missing_part_is_said() {
        let plan = EvidencePlan {
            alarm_name: "storefront-degraded".into(),
            region: "eu-west-1".into(),
            queries: vec![SeriesQuery {
                id: "m1".into(),
                label: None,
                return_data: true,
                source: crate::integrations::cloudwatch::SeriesSource::Expression("m2".into()),
                period_secs: 60,
            }],
            period_secs: 60,
            children: vec!["api-5xx".into(), "db cpu".into()],
        };
        let started = tokio::time::Instant::now();
        let sections = gather(&Stub, &plan, at(1_765_120_000)).await;
        assert_eq!(
            started.elapsed(),
            EVIDENCE_BUDGET,
            "the hung read was cut at the budget"
        );
        assert_eq!(sections.len(), 3, "{sections:?}");
        assert!(sections[0].starts_with(
            "Metric data (last 3 hours): not available (GetMetricData did not answer within 2s)"
        ));
        assert!(sections[1].contains("- api-5xx: ALARM: Threshold Crossed\n- db cpu: not found\n"));
        assert!(sections[2]
            .contains("access denied: the bot's role needs cloudwatch:DescribeAlarmHistory"));
    }
}

//! What the agent is told about the alarm whose card roots a thread: its last notification and its
//! recent transitions, as the plain `AlarmContext` the Bedrock integration takes.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{parse_sqs_message, CardKeeper};
use crate::alarms::{Alarm, AlarmCondition, Event, MetricRef, QuerySource};
use crate::conversation::AlarmThread;
use crate::integrations::bedrock::{AlarmContext, AlarmTransition};
use crate::store::cards::{CardRecord, Transition};

/// Transitions the agent is shown, most recent last.
const RECENT_TRANSITIONS: usize = 10;

impl CardKeeper {
    /// The alarm of the card at (`channel`, `root_ts`), for the agent; `None` if no alarm card
    /// is there (a digest, a pipeline card, or a message the bot does not track). A card that
    /// is shown but not yet recorded (a click the instant it appears) is waited for through
    /// the lock of `claimed_key` (a button's value), like a Watching click.
    pub async fn alarm_thread(
        &self,
        channel: &str,
        root_ts: &str,
        claimed_key: Option<&str>,
    ) -> anyhow::Result<Option<AlarmThread>> {
        if let Some(found) = self.read_alarm_thread(channel, root_ts).await? {
            return Ok(Some(found));
        }
        let Some(key) = claimed_key else {
            return Ok(None);
        };
        drop(self.locks.lock(key, channel).await);
        self.read_alarm_thread(channel, root_ts).await
    }

    async fn read_alarm_thread(
        &self,
        channel: &str,
        root_ts: &str,
    ) -> anyhow::Result<Option<AlarmThread>> {
        let found = self.card_with_history(channel, root_ts).await?;
        Ok(found.and_then(|(card, transitions)| alarm_thread(&card, &transitions)))
    }

    /// The card at (`channel`, `root_ts`) and its transitions (oldest first), if a card is there.
    pub(super) async fn card_with_history(
        &self,
        channel: &str,
        root_ts: &str,
    ) -> anyhow::Result<Option<(CardRecord, Vec<Transition>)>> {
        let (channel, root_ts) = (channel.to_owned(), root_ts.to_owned());
        self.store
            .run(move |store| {
                let Some(card) = store.card_at(&channel, &root_ts)? else {
                    return Ok(None);
                };
                let transitions = store.transitions(&card.alarm_key, &card.channel)?;
                Ok(Some((card, transitions)))
            })
            .await
    }
}

/// The agent's view of `card` (its last notification) and its `transitions` (oldest first).
pub fn alarm_thread(card: &CardRecord, transitions: &[Transition]) -> Option<AlarmThread> {
    let n = parse_sqs_message(&card.last_body, &card.last_attributes);
    let Event::Alarm(alarm) = &n.event else {
        return None;
    };
    let mut context = context_of(alarm);
    context.received_at = n.published_at.and_then(rfc3339);
    let skip = transitions.len().saturating_sub(RECENT_TRANSITIONS);
    context.recent_transitions = transitions[skip..]
        .iter()
        .map(|t| AlarmTransition {
            at: rfc3339(OffsetDateTime::from(t.at)).unwrap_or_default(),
            from_state: t.from_state.clone().unwrap_or_else(|| "(new)".to_owned()),
            to_state: t.to_state.clone(),
        })
        .collect();
    Some(AlarmThread {
        key: card.alarm_key.clone(),
        context,
        evidence: super::agent_evidence::evidence_plan(alarm),
    })
}

fn context_of(alarm: &Alarm) -> AlarmContext {
    let evaluation = alarm.condition.evaluation();
    let metric = metric_of(&alarm.condition);
    AlarmContext {
        name: alarm.name.clone(),
        state: alarm.state.to_string(),
        previous_state: alarm.previous_state.map(|s| s.to_string()),
        reason: Some(alarm.reason.clone()),
        metric: metric
            .map(|m| m.name.clone())
            .or_else(|| expression_of(&alarm.condition)),
        namespace: metric.map(|m| m.namespace.clone()),
        threshold: alarm.condition.threshold().map(|t| t.to_string()),
        comparison: evaluation
            .and_then(|e| e.comparison.as_ref())
            .map(|c| c.as_str().to_owned()),
        dimensions: metric
            .map(|m| {
                m.dimensions
                    .iter()
                    .map(|d| (d.name.clone(), d.value.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        account: Some(alarm.account.clone()),
        region: Some(alarm.region.clone()),
        changed_at: alarm.changed_at.and_then(rfc3339),
        received_at: None,
        recent_transitions: vec![],
        data_sections: vec![],
    }
}

/// The metric the alarm watches: its own, or the one query whose data it returns.
fn metric_of(condition: &AlarmCondition) -> Option<&MetricRef> {
    let queries = match condition {
        AlarmCondition::SingleMetric(single) => return Some(&single.metric),
        AlarmCondition::MetricMath(math) => &math.metrics,
        AlarmCondition::AnomalyDetection(anomaly) => &anomaly.metrics,
        AlarmCondition::Composite(_) | AlarmCondition::Unknown => return None,
    };
    queries.iter().find_map(|q| match &q.source {
        QuerySource::Metric(stat) => Some(&stat.metric),
        _ => None,
    })
}

/// A math alarm's expression, or a composite alarm's rule, where there is no single metric.
fn expression_of(condition: &AlarmCondition) -> Option<String> {
    match condition {
        AlarmCondition::MetricMath(math) => math.metrics.iter().find_map(|q| match &q.source {
            QuerySource::Expression(e) if q.return_data => Some(e.clone()),
            _ => None,
        }),
        AlarmCondition::Composite(composite) => Some(format!("composite rule {}", composite.rule)),
        _ => None,
    }
}

fn rfc3339(at: OffsetDateTime) -> Option<String> {
    at.format(&Rfc3339).ok()
}

//! All queues of the fake plus the cross-queue rules: queue lookup by URL or name, the
//! dead-letter redrive, and the per-message history that latency measurements read.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::aws::error::SqsError;
use crate::aws::history::HistoryLog;
use crate::aws::ids;
use crate::aws::model::{AttributeValue, Queue, QueueConfig, StoredMessage};
use crate::aws::record::{Notes, SqsTimelineKind as Kind};
use crate::aws::sns::queue_arn;
use crate::aws::ACCOUNT_ID;

/// Most messages one queue holds; more sends get `OverLimit`.
const MAX_MESSAGES_PER_QUEUE: usize = 100_000;
/// Most queues the fake holds.
const MAX_QUEUES: usize = 1_000;

/// What a send needs besides the queue.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub(crate) body: String,
    pub(crate) attributes: BTreeMap<String, AttributeValue>,
    pub(crate) delay: Option<Duration>,
    pub(crate) trace_header: Option<String>,
}

/// Everything behind the state lock.
#[derive(Debug)]
pub(crate) struct SqsState {
    base_url: String,
    queues: BTreeMap<String, Queue>,
    next_seq: u64,
    pub(crate) history: HistoryLog,
    pub(crate) notes: Notes,
    /// Set when a message became receivable or a visibility deadline moved (long polls re-check).
    pub(crate) woke: bool,
}

/// The queue name in a queue URL (its last path segment), or the argument itself if it is a name.
pub(crate) fn queue_name_of(url_or_name: &str) -> &str {
    url_or_name
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(url_or_name)
}

/// Milliseconds since the Unix epoch, as SQS timestamps are written.
pub(crate) fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl SqsState {
    pub(crate) fn new(base_url: String) -> Self {
        SqsState {
            base_url,
            queues: BTreeMap::new(),
            next_seq: 0,
            history: HistoryLog::default(),
            notes: Notes::default(),
            woke: false,
        }
    }

    pub(crate) fn create_queue(
        &mut self,
        name: &str,
        config: QueueConfig,
    ) -> Result<String, SqsError> {
        let valid_name = !name.is_empty()
            && name.len() <= 80
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(SqsError::invalid_parameter(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ));
        }
        if let Some(existing) = self.queues.get(name) {
            if existing.config != config {
                return Err(SqsError::queue_already_exists(name));
            }
            return Ok(existing.url.clone());
        }
        if self.queues.len() >= MAX_QUEUES {
            return Err(SqsError::over_limit("Too many queues."));
        }
        let url = format!("{}/{ACCOUNT_ID}/{name}", self.base_url);
        let redrive = config.redrive.as_ref().map_or(String::new(), |r| {
            format!(
                ", dead letters to {} after {} receives",
                r.dlq_name(),
                r.max_receive_count
            )
        });
        self.notes.push(
            Kind::Queue,
            format!(
                "created {name} (visibility timeout {}s{redrive})",
                config.visibility_timeout.as_secs()
            ),
        );
        let created = epoch_millis(SystemTime::now()) / 1000;
        let queue = Queue::new(
            name.to_string(),
            url.clone(),
            queue_arn(name),
            config,
            created,
        );
        self.queues.insert(name.to_string(), queue);
        Ok(url)
    }

    /// The queue a URL or name refers to, with hidden messages whose time has come made visible.
    pub(crate) fn queue(&mut self, url_or_name: &str, now: Instant) -> Result<&Queue, SqsError> {
        let name = queue_name_of(url_or_name);
        let queue = self
            .queues
            .get_mut(name)
            .ok_or_else(SqsError::queue_does_not_exist)?;
        queue.settle(now, &mut self.history, &mut self.notes);
        Ok(queue)
    }

    fn queue_mut(&mut self, url_or_name: &str, now: Instant) -> Result<&mut Queue, SqsError> {
        settled(
            &mut self.queues,
            &mut self.history,
            &mut self.notes,
            url_or_name,
            now,
        )
    }

    pub(crate) fn send(
        &mut self,
        url_or_name: &str,
        new: NewMessage,
        now: Instant,
    ) -> Result<StoredMessage, SqsError> {
        self.queue_mut(url_or_name, now)?;
        self.enqueue_new(url_or_name, new, now)
    }

    /// Sends several messages to one queue, settling it once rather than once per message.
    pub(crate) fn send_many(
        &mut self,
        url_or_name: &str,
        batch: Vec<NewMessage>,
        now: Instant,
    ) -> Result<Vec<StoredMessage>, SqsError> {
        self.queue_mut(url_or_name, now)?;
        batch
            .into_iter()
            .map(|new| self.enqueue_new(url_or_name, new, now))
            .collect()
    }

    /// Adds a message to a queue already settled as of `now`.
    fn enqueue_new(
        &mut self,
        url_or_name: &str,
        new: NewMessage,
        now: Instant,
    ) -> Result<StoredMessage, SqsError> {
        let seq = self.next_seq + 1;
        let sent_epoch_ms = epoch_millis(SystemTime::now());
        let queue = self
            .queues
            .get_mut(queue_name_of(url_or_name))
            .ok_or_else(SqsError::queue_does_not_exist)?;
        let size = new.body.len()
            + new
                .attributes
                .iter()
                .map(|(name, value)| {
                    name.len()
                        + value.data_type.len()
                        + value.string.as_ref().map_or(0, String::len)
                        + value.binary.as_ref().map_or(0, Vec::len)
                })
                .sum::<usize>();
        if new.body.is_empty() {
            return Err(SqsError::missing_parameter("MessageBody"));
        }
        if size > queue.config.max_message_size {
            return Err(SqsError::invalid_parameter(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
                queue.config.max_message_size
            )));
        }
        if queue.len() >= MAX_MESSAGES_PER_QUEUE {
            return Err(SqsError::over_limit("The fake queue is full."));
        }
        let delay = new.delay.unwrap_or(queue.config.delay);
        let mut message =
            StoredMessage::new(ids::uuid(), new.body, new.attributes, sent_epoch_ms, now);
        message.trace_header = new.trace_header;
        let visible = queue.enqueue(seq, message.clone(), delay, now);
        let queue_name = queue.name.clone();
        self.next_seq = seq;
        self.woke = true;
        self.history.sent(&message.id, &queue_name, now, visible);
        let delayed = if delay.is_zero() {
            String::new()
        } else {
            format!(", delayed {}s", delay.as_secs())
        };
        self.notes.push(
            Kind::Send,
            format!(
                "{queue_name} <- {} ({} bytes{delayed}) {}",
                message.id,
                message.body.len(),
                preview(&message.body)
            ),
        );
        Ok(message)
    }

    /// Receives up to `max` visible messages; messages past their queue's `maxReceiveCount` are
    /// moved to the dead-letter queue instead of being delivered.
    pub(crate) fn receive(
        &mut self,
        url_or_name: &str,
        max: usize,
        timeout: Option<Duration>,
        now: Instant,
    ) -> Result<Vec<StoredMessage>, SqsError> {
        let now_epoch_ms = epoch_millis(SystemTime::now());
        let name = queue_name_of(url_or_name).to_string();
        let source = self.queue_mut(&name, now)?;
        let timeout = timeout.unwrap_or(source.config.visibility_timeout);
        let redrive = source.config.redrive.clone();
        let redrive =
            redrive.filter(|r| r.dlq_name() != name && self.queues.contains_key(r.dlq_name()));
        let Some(source) = self.queues.get_mut(&name) else {
            return Err(SqsError::queue_does_not_exist());
        };
        let mut delivered = Vec::new();
        let mut dead = Vec::new();
        for seq in source.visible_seqs(usize::MAX) {
            if delivered.len() >= max {
                break;
            }
            let count = source.receive_count(seq).unwrap_or(0);
            if let Some(policy) = &redrive {
                if count >= policy.max_receive_count {
                    dead.extend(source.take(seq));
                    continue;
                }
            }
            delivered.extend(source.deliver(seq, timeout, now, now_epoch_ms, &mut self.history));
        }
        if let Some(policy) = redrive {
            for message in dead {
                self.dead_letter(&name, policy.dlq_name(), message, now);
            }
        }
        Ok(delivered)
    }

    fn dead_letter(&mut self, from: &str, dlq: &str, message: StoredMessage, now: Instant) {
        let Some(target) = self.queues.get_mut(dlq) else {
            return;
        };
        self.next_seq += 1;
        let id = message.id.clone();
        let count = message.receive_count;
        target.enqueue(self.next_seq, message, Duration::ZERO, now);
        self.woke = true;
        self.history.dead_lettered(&id, dlq, now);
        self.notes.push(
            Kind::Redrive,
            format!("{from} {id} moved to {dlq} after {count} receives"),
        );
    }

    pub(crate) fn delete(
        &mut self,
        url_or_name: &str,
        handle: &str,
        now: Instant,
    ) -> Result<Option<String>, SqsError> {
        let name = queue_name_of(url_or_name);
        let queue = self
            .queues
            .get_mut(name)
            .ok_or_else(SqsError::queue_does_not_exist)?;
        queue.delete(handle, now, &mut self.history)
    }

    pub(crate) fn change_visibility(
        &mut self,
        url_or_name: &str,
        handle: &str,
        timeout: Duration,
        now: Instant,
    ) -> Result<String, SqsError> {
        let name = queue_name_of(url_or_name).to_string();
        let queue = settled(
            &mut self.queues,
            &mut self.history,
            &mut self.notes,
            &name,
            now,
        )?;
        let id = queue.change_visibility(handle, timeout, now, &mut self.history)?;
        self.woke = true;
        self.notes.push(
            Kind::Visibility,
            format!(
                "{name} {id} visibility timeout set to {}s",
                timeout.as_secs()
            ),
        );
        Ok(id)
    }

    pub(crate) fn purge(&mut self, url_or_name: &str, now: Instant) -> Result<usize, SqsError> {
        let queue = self.queue_mut(url_or_name, now)?;
        let count = queue.purge();
        let text = format!("{} purged ({count} messages dropped)", queue.name);
        self.notes.push(Kind::Queue, text);
        Ok(count)
    }

    /// The earliest moment a hidden message of the queue becomes visible.
    pub(crate) fn next_visible_at(&self, url_or_name: &str) -> Option<Instant> {
        self.queues
            .get(queue_name_of(url_or_name))
            .and_then(Queue::next_visible_at)
    }

    /// Queue URLs by name.
    pub(crate) fn urls(&self) -> HashMap<String, String> {
        self.queues
            .iter()
            .map(|(name, queue)| (name.clone(), queue.url.clone()))
            .collect()
    }
}

/// The queue a URL or name refers to, settled as of `now` (split borrows of the state's fields).
fn settled<'a>(
    queues: &'a mut BTreeMap<String, Queue>,
    history: &mut HistoryLog,
    notes: &mut Notes,
    url_or_name: &str,
    now: Instant,
) -> Result<&'a mut Queue, SqsError> {
    let queue = queues
        .get_mut(queue_name_of(url_or_name))
        .ok_or_else(SqsError::queue_does_not_exist)?;
    queue.settle(now, history, notes);
    Ok(queue)
}

/// A short, one-line, quoted preview of a body for the timeline.
pub(crate) fn preview(body: &str) -> String {
    let flat: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(60)
        .collect();
    if body.chars().count() > 60 {
        format!("{flat:?}…")
    } else {
        format!("{flat:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::model::RedrivePolicy;

    fn plain(body: &str) -> NewMessage {
        NewMessage {
            body: body.into(),
            attributes: BTreeMap::new(),
            delay: None,
            trace_header: None,
        }
    }

    #[test]
    fn messages_past_max_receive_count_move_to_the_dead_letter_queue() -> anyhow::Result<()> {
        let mut state = SqsState::new("http://127.0.0.1:9".into());
        state.create_queue("dlq", QueueConfig::default())?;
        let config = QueueConfig {
            visibility_timeout: Duration::ZERO,
            redrive: Some(RedrivePolicy {
                dead_letter_target_arn: queue_arn("dlq"),
                max_receive_count: 2,
            }),
            ..QueueConfig::default()
        };
        let url = state.create_queue("alerts", config)?;
        assert!(url.ends_with("/123456789012/alerts"));
        let sent = state.send(&url, plain("boom"), Instant::now())?;
        for expected in 1..=2 {
            let got = state.receive(&url, 10, None, Instant::now())?;
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].receive_count, expected);
        }
        assert!(state.receive(&url, 10, None, Instant::now())?.is_empty());
        let dlq = state.queue("dlq", Instant::now())?;
        assert_eq!(dlq.bodies(), vec!["boom".to_string()]);
        let history = state.history.get(&sent.id).expect("history kept");
        assert_eq!(history.queue, "dlq");
        assert!(history.dead_lettered_at.is_some());
        Ok(())
    }

    #[test]
    fn lookups_accept_urls_and_names_and_reject_unknown_queues() -> anyhow::Result<()> {
        let mut state = SqsState::new("http://127.0.0.1:9".into());
        let url = state.create_queue("alerts", QueueConfig::default())?;
        assert_eq!(state.create_queue("alerts", QueueConfig::default())?, url);
        let different = QueueConfig {
            visibility_timeout: Duration::from_secs(5),
            ..QueueConfig::default()
        };
        assert!(state.create_queue("alerts", different).is_err());
        assert!(state
            .create_queue("bad name", QueueConfig::default())
            .is_err());
        assert_eq!(
            queue_name_of("https://sqs.eu-west-1.amazonaws.com/1/alerts"),
            "alerts"
        );
        assert!(state.queue("alerts", Instant::now()).is_ok());
        let missing = state.send("nope", plain("x"), Instant::now());
        assert_eq!(missing.map(|m| m.id), Err(SqsError::queue_does_not_exist()));
        assert!(state.send("alerts", plain(""), Instant::now()).is_err());
        Ok(())
    }
}

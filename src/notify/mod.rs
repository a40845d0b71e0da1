//! The alarm pipeline's I/O half: the SQS consumer, the card lifecycle in Slack, storm digests and
//! the service wiring. Everything pure (parsing, routing, rendering) lives in `crate::alarms`.

pub mod consumer;
pub mod graphs;
pub mod lifecycle;
pub mod pollers;
pub mod queue;
pub mod queue_depth;
pub mod queue_health;
pub mod receive_pace;
pub mod service;
pub mod sqs;
pub mod storm;

mod key_locks;

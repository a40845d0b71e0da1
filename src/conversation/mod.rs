//! Conversations with the agent in Slack threads: one agent session per thread, one answer at a
//! time per thread, a bounded number at once with a visible queue, and hourly limits.

pub mod admission;
pub mod busy_threads;
pub mod limits;

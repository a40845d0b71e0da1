//! Reporting: an alarm's Slack thread becomes a living Confluence incident report, summarised by
//! the agent; a later report updates the same page.

pub mod document;
pub mod facts;
pub mod prompt;
pub mod publish;
pub mod service;
pub mod summary;
mod time_text;
pub mod timeline;
pub mod title;

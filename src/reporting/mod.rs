//! Reporting: an alarm's Slack thread becomes a living Confluence incident report, summarised by
//! the agent; a later report updates the same page.

pub mod facts;
pub mod prompt;
pub mod summary;
mod time_text;
pub mod timeline;
pub mod title;

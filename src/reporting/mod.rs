//! Reporting: an alarm's Slack thread becomes a living Confluence incident report, summarised by
//! the agent; a later report updates the same page.

pub mod prompt;
mod time_text;

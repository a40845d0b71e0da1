//! Slack cards for parsed notifications: the root card, thread notes, nudges and storm digests.
//!
//! Everything here is pure: it turns a [`Notification`] plus what the lifecycle knows
//! ([`CardState`]) and the route's settings ([`CardOptions`]) into [`Message`] values. All text
//! that came from AWS is neutralised ([`plain_text`]) and mrkdwn-escaped; links and mentions are
//! only ever built by this module. Texts too long for a card are cut visibly ("… full text in
//! thread") and carried whole in [`RenderedCard::overflow`].

mod alarm;
mod builder;
mod condition;
mod console;
mod digest;
mod events;
mod notes;
mod other;
mod text;

#[cfg(test)]
mod tests;

use std::time::Duration;

use time::OffsetDateTime;

use crate::buttons::ActionId;
use crate::slack::message::{Accent, Button, Message};

use super::envelope::content_id;
use super::notification::{Event, Notification};

pub use builder::{MAX_HEADER_CHARS, MAX_OVERFLOW_SECTIONS};
pub use console::console_url;
pub use digest::{digest, digest_card, DigestLine, DigestView, MAX_LINES_SHOWN};
pub use notes::{digest_transition_note, nudge, transition_note, watch_note};
pub use text::{
    format_clock, format_duration, format_time, is_user_group_id, is_user_id, mrkdwn_plain,
    plain_text, FULL_TEXT_IN_THREAD,
};

/// What the lifecycle knows about the card's alarm (from the store).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardState {
    /// Slack user ids of the people who pressed 👀 Watching. Ids that do not look like Slack
    /// user ids are shown as escaped text, never as mentions.
    pub watchers: Vec<String>,
    /// When the current ALARM episode began.
    pub episode_started: Option<OffsetDateTime>,
    /// Set when the alarm went OK: how long it fired.
    pub resolved_after: Option<Duration>,
    pub flapping: bool,
    /// How many times the alarm fired again after it had been resolved.
    pub reopen_count: u32,
    /// The thread's Confluence incident report, once one was made.
    pub report_url: Option<String>,
    /// The Slack file id of the metric graph drawn for the state shown (alarm cards show it as
    /// an image; see `notify::graphs`).
    pub graph: Option<String>,
}

/// Per-route presentation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardOptions {
    /// A user-group id like `S0123ABCD`, mentioned as `<!subteam^ID>` while the card's state is
    /// alerting (alarm in ALARM, pipeline failed). Anything else is shown as escaped `@text`.
    pub mention: Option<String>,
    /// The runbook URL (template already expanded).
    pub runbook_url: Option<String>,
    pub bedrock_enabled: bool,
    pub reporting_enabled: bool,
    /// The version an alarm that fired just after a deploy offers to go back to: an alarm card
    /// in ALARM shows ⏪ Roll back to it.
    pub rollback_to: Option<String>,
    /// Custom actions whose ⚙️ button the card shows (`RouteDecision::actions`).
    pub actions: Vec<String>,
}

/// A card, and the full text of whatever it had to cut.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedCard {
    /// The root card.
    pub message: Message,
    /// Set when anything on the card was cut: the full texts, for a thread reply.
    pub overflow: Option<Message>,
}

/// The card for any notification.
pub fn card(n: &Notification, state: &CardState, opts: &CardOptions) -> RenderedCard {
    match &n.event {
        Event::Alarm(alarm) => alarm::card(n, alarm, state, opts),
        Event::Pipeline(pipeline) => events::pipeline_card(n, pipeline, state, opts),
        Event::ApiCall(call) => events::api_call_card(n, call, opts),
        Event::Custom(custom) => other::custom_card(n, custom, opts),
        Event::Other(other) => other::other_card(n, other, opts),
    }
}

/// The key a card's buttons carry in `value` and the lifecycle stores the card under:
/// - alarm: [`Alarm::key`](super::Alarm::key) (ARN, else `account/region/name`);
/// - pipeline: `SERVICE/account/region/name`, plus `/execution-id` when known (one card per
///   pipeline execution, build or deployment);
/// - CloudTrail: `cloudtrail/EVENT-ID`, else `cloudtrail/MESSAGE-ID`;
/// - custom: `custom/THREAD-ID`, else `custom/ID`, else `custom/MESSAGE-ID`;
/// - anything else: `message/MESSAGE-ID`.
///
/// Keys longer than Slack's 2000-character button value become `sha256:<hex>` of the key.
/// Never trust a key from a click for authorisation.
pub fn card_key(n: &Notification) -> String {
    let key = match &n.event {
        Event::Alarm(alarm) => alarm.key().to_string(),
        Event::Pipeline(p) => {
            let mut key = format!(
                "{}/{}/{}/{}",
                p.service.as_str(),
                p.account,
                p.region,
                p.name
            );
            if let Some(execution) = &p.execution_id {
                key.push('/');
                key.push_str(execution);
            }
            key
        }
        Event::ApiCall(call) => format!(
            "cloudtrail/{}",
            call.event_id.as_deref().unwrap_or(&n.message_id)
        ),
        Event::Custom(custom) => format!(
            "custom/{}",
            custom
                .thread_id
                .as_deref()
                .or(custom.id.as_deref())
                .unwrap_or(&n.message_id)
        ),
        Event::Other(_) => format!("message/{}", n.message_id),
    };
    if key.chars().count() > 2000 {
        content_id(&key)
    } else {
        key
    }
}

/// The card's buttons: 👀 Watching when `watchable`, then the optional ones; ⏪ Roll back only
/// while the card's alarm is `firing` (in ALARM) and a version to go back to is known.
fn buttons(key: &str, watchable: bool, firing: bool, opts: &CardOptions) -> Vec<Button> {
    let mut buttons = Vec::new();
    if watchable {
        buttons.push(ActionId::AlarmWatch.button(key));
    }
    if opts.bedrock_enabled {
        buttons.push(ActionId::AlarmToBedrock.button(key));
    }
    if opts.reporting_enabled {
        buttons.push(ActionId::AlarmReport.button(key));
    }
    if let (true, Some(version)) = (firing, &opts.rollback_to) {
        buttons.push(ActionId::rollback_button(key, version));
    }
    buttons.extend(action_buttons(key, &opts.actions));
    buttons
}

/// ⚙️ <action> for each custom action the card offers (Slack shows at most 25 elements).
fn action_buttons(key: &str, actions: &[String]) -> Vec<Button> {
    actions
        .iter()
        .take(20)
        .map(|name| ActionId::run_action_button(name, key))
        .collect()
}

/// Colour bars.
const RED: Accent = Accent("#d62728");
const GREEN: Accent = Accent("#2ca02c");
const AMBER: Accent = Accent("#e8a33d");
const GREY: Accent = Accent("#9e9e9e");
const BLUE: Accent = Accent("#1f77b4");

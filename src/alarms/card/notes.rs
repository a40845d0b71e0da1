//! Short thread posts about a card: state transitions, watch toggles, and unwatched nudges.

use std::time::Duration;

use crate::alarms::{AlarmState, Event, Notification};
use crate::slack::blocks::MAX_SECTION_CHARS;
use crate::slack::message::{Message, Mrkdwn, Standing};

use super::alarm::{look, MAX_WATCHERS_SHOWN};
use super::builder::{overflow_message, Cut};
use super::events::pipeline_look;
use super::text::{
    esc, fitting_prefix_at_word, format_clock, format_duration, group_mention, mrkdwn_plain,
    one_line, user_mention, watcher_list, width,
};
use super::RenderedCard;

/// Room for the reason in a note; the rest of the section is the state line.
const NOTE_REASON_BUDGET: usize = 2500;

/// The thread post for a state change, e.g. `🔴 *OK → ALARM* at 13:53:39 UTC: reason`, or
/// `✅ *ALARM → OK* at 14:05:44 UTC, resolved after 12m 5s: reason`. `previous` is the state the
/// lifecycle last knew (the payload's own previous state is used when it is `None`). A reason
/// too long for the note is cut, and carried whole in the `overflow` for the thread.
pub fn transition_note(
    n: &Notification,
    previous: Option<AlarmState>,
    state: &super::CardState,
) -> RenderedCard {
    transition(n, previous, state, false)
}

/// The same note in a storm digest's thread, where many alarms share one thread: it names the
/// alarm or pipeline, e.g. `✅ *checkout-db-cpu* ALARM → OK at 14:05:44 UTC`.
pub fn digest_transition_note(
    n: &Notification,
    previous: Option<AlarmState>,
    state: &super::CardState,
) -> RenderedCard {
    transition(n, previous, state, true)
}

fn transition(
    n: &Notification,
    previous: Option<AlarmState>,
    state: &super::CardState,
    named: bool,
) -> RenderedCard {
    let at = n
        .occurred_at()
        .map(|at| format!(" at {}", format_clock(at)))
        .unwrap_or_default();
    let (line, detail, fallback) = match &n.event {
        Event::Alarm(alarm) => {
            let (emoji, _) = look(alarm.state);
            let change = match previous.or(alarm.previous_state) {
                Some(before) if before != alarm.state => format!("{before} → {}", alarm.state),
                _ => alarm.state.to_string(),
            };
            let mut line = if named {
                let name = esc(&one_line(&alarm.name, 150));
                format!("{emoji} *{name}* {change}{at}")
            } else {
                format!("{emoji} *{change}*{at}")
            };
            if alarm.state == AlarmState::Ok {
                if let Some(fired) = state.resolved_after {
                    line.push_str(&format!(", resolved after {}", format_duration(fired)));
                }
            }
            if state.flapping {
                line.push_str(" · 🔁 *Flapping*");
            }
            if alarm.state == AlarmState::Alarm && state.reopen_count > 0 {
                line.push_str(&format!(" · ↩️ *Reopened* {}×", state.reopen_count));
            }
            let fallback = format!("{emoji} {change}: {}", esc(&one_line(&alarm.name, 150)));
            (line, Some(("Reason", alarm.reason.as_str())), fallback)
        }
        Event::Pipeline(p) => {
            let (emoji, _) = pipeline_look(p.outcome());
            let mut line = if named {
                let name = esc(&one_line(&p.name, 150));
                format!("{emoji} *{name}* {}{at}", esc(&one_line(&p.status, 60)))
            } else {
                format!("{emoji} *{}*{at}", esc(&one_line(&p.status, 60)))
            };
            for (label, value) in [("stage", &p.stage), ("action", &p.action)] {
                if let Some(value) = value {
                    line.push_str(&format!(" · {label} {}", esc(&one_line(value, 100))));
                }
            }
            let fallback = format!(
                "{emoji} {} {}",
                esc(&one_line(&p.name, 150)),
                esc(&one_line(&p.status, 60))
            );
            (line, p.summary.as_deref().map(|s| ("Summary", s)), fallback)
        }
        _ => {
            let name = esc(&one_line(&n.name(), 150));
            let line = format!("ℹ️ *{name}*{at}");
            (line, None, format!("ℹ️ {name}"))
        }
    };
    let mut text = line;
    let mut overflow = None;
    if let Some((label, detail)) = detail.filter(|(_, detail)| !detail.trim().is_empty()) {
        let room = MAX_SECTION_CHARS.saturating_sub(width(&text) + 2);
        text.push_str(": ");
        let (shown, cut) = cut_with_count(detail, room.min(NOTE_REASON_BUDGET));
        text.push_str(&shown);
        if cut {
            let full = Cut {
                label: label.to_owned(),
                text: detail.to_owned(),
                code: false,
            };
            overflow = Some(overflow_message(&n.name(), &[full]));
        }
    }
    RenderedCard {
        message: note(text, fallback),
        overflow,
    }
}

/// The thread note when someone toggles 👀 Watching.
pub fn watch_note(user: &str, now_watching: bool, watchers: &[String]) -> Message {
    let who = user_mention(&one_line(user, 40));
    let mut text = if now_watching {
        format!("👀 {who} is watching this.")
    } else {
        format!("🙈 {who} stopped watching.")
    };
    if watchers.is_empty() {
        text.push_str(" Nobody is watching now.");
    } else {
        text.push_str(&format!(
            "\nWatching: {}",
            watcher_list(watchers, MAX_WATCHERS_SHOWN)
        ));
    }
    let fallback = if now_watching {
        format!("👀 {who} is watching")
    } else {
        format!("🙈 {who} stopped watching")
    };
    note(text, fallback)
}

/// The reminder when nobody has pressed Watching: `⏰ @group Nobody has pressed 👀 Watching for 15m.`
pub fn nudge(mention: Option<&str>, unwatched_for: Duration) -> Message {
    let mention = mention
        .filter(|id| !id.trim().is_empty())
        .map(|id| format!("{} ", group_mention(id)))
        .unwrap_or_default();
    let waited = format_duration(unwatched_for);
    let text = format!(
        "⏰ {mention}Nobody has pressed 👀 *Watching* for {waited}. Is anyone looking at this?"
    );
    let fallback = format!("⏰ {mention}Nobody has pressed Watching for {waited}");
    note(text, fallback)
}

/// Outside text escaped within `budget`, cut with a count of what was left out (a note is
/// already in the thread, where the full text follows it); true if it was cut.
fn cut_with_count(raw: &str, budget: usize) -> (String, bool) {
    let plain = mrkdwn_plain(raw);
    let end = fitting_prefix_at_word(&plain, budget.saturating_sub(60));
    if end == plain.len() {
        return (esc(&plain), false);
    }
    let omitted = plain[end..].chars().count();
    let shown = format!(
        "{}… _{omitted} more characters, full text in thread_",
        esc(plain[..end].trim_end())
    );
    (shown, true)
}

fn note(text: String, fallback: String) -> Message {
    debug_assert!(width(&text) <= MAX_SECTION_CHARS);
    Message {
        text: fallback,
        blocks: vec![crate::slack::message::Block::Section {
            text: Mrkdwn::trusted(text),
            fields: vec![],
        }],
        accent: None,
        post_id: None,
        standing: Standing::Plain,
    }
}

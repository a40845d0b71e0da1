//! The storm digest: one card summarising many notifications, updated in place.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::alarms::{AlarmState, NotificationKind};
use crate::slack::blocks::MAX_SECTION_CHARS;
use crate::slack::message::{Accent, Message, Mrkdwn};

use super::alarm::look;
use super::builder::CardBuilder;
use super::text::{esc, format_clock, format_duration, one_line, width};
use super::{RenderedCard, AMBER, GREEN, GREY, RED};

/// Lines shown on the digest card; the full list goes to the thread.
pub const MAX_LINES_SHOWN: usize = 100;
/// Longest name shown on a digest line.
const MAX_NAME_CHARS: usize = 120;

/// One notification in a storm digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLine {
    pub name: String,
    /// The state label: `ALARM`, `OK`, `INSUFFICIENT_DATA`, `FAILED`, …
    pub state: String,
    pub at: Option<OffsetDateTime>,
    pub kind: NotificationKind,
}

/// How bad a state label is, for ordering counts and picking the colour (0 is worst).
fn severity(state: &str) -> u8 {
    match state {
        "ALARM" | "FAILED" | "FAILURE" | "FAULT" | "TIMED_OUT" => 0,
        "INSUFFICIENT_DATA" => 1,
        "OK" | "SUCCEEDED" | "SUCCESS" => 3,
        _ => 2,
    }
}

/// Emoji for a state label of any kind (alarm states, pipeline statuses).
fn state_emoji(state: &str) -> &'static str {
    if let Ok(alarm_state) = state.parse::<AlarmState>() {
        return look(alarm_state).0;
    }
    match state {
        "FAILED" | "FAILURE" | "FAULT" | "TIMED_OUT" => "❌",
        "SUCCEEDED" | "SUCCESS" => "✅",
        "STARTED" | "IN_PROGRESS" | "RESUMED" | "QUEUED" => "🔵",
        _ => "▫️",
    }
}

/// What a digest card shows: every line counted, but only the first lines listed. Built from the
/// store's counts and first lines, so rendering costs the same however long the storm is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestView {
    /// How many lines the digest has.
    pub total: usize,
    /// Lines per state label as recorded; labels are normalised when shown and equal ones added.
    pub counts: Vec<(String, usize)>,
    /// The first lines in the order they arrived; only the first [`MAX_LINES_SHOWN`] are listed.
    pub first: Vec<DigestLine>,
}

impl DigestView {
    /// The view of a complete list of lines.
    pub fn of(lines: &[DigestLine]) -> Self {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for line in lines {
            match counts.iter_mut().find(|(state, _)| *state == line.state) {
                Some((_, count)) => *count += 1,
                None => counts.push((line.state.clone(), 1)),
            }
        }
        Self {
            total: lines.len(),
            counts,
            first: lines.iter().take(MAX_LINES_SHOWN).cloned().collect(),
        }
    }
}

/// The label a state is shown and counted under.
fn label(state: &str) -> String {
    one_line(state.trim(), 40).to_ascii_uppercase()
}

/// The storm digest card: a header with the total, counts by state (worst first), and one line
/// per notification (the first 100 on the card, all of them in the thread when there are more).
pub fn digest(lines: &[DigestLine], window: Duration) -> RenderedCard {
    render(&DigestView::of(lines), window, Some(lines))
}

/// The digest card alone, for the updates while the storm lasts (the full list is posted in the
/// thread only when it ends, by [`digest`]).
pub fn digest_card(view: &DigestView, window: Duration) -> Message {
    render(view, window, None).message
}

/// The card; with `all_lines`, also the full list for the thread when the card cuts anything.
fn render(view: &DigestView, window: Duration, all_lines: Option<&[DigestLine]>) -> RenderedCard {
    let mut counts: BTreeMap<(u8, String), usize> = BTreeMap::new();
    for (state, count) in &view.counts {
        let label = label(state);
        *counts.entry((severity(&label), label)).or_default() += count;
    }
    let total = view.total;
    let plural = if total == 1 { "" } else { "s" };
    let title = format!(
        "Alarm storm: {total} notification{plural} in {}",
        format_duration(window)
    );
    let mut b = CardBuilder::default();
    b.header("🌩️", &title);

    let count_text: Vec<String> = counts
        .iter()
        .map(|((_, label), count)| format!("{} *{}* {count}", state_emoji(label), esc(label)))
        .collect();
    let summary = if count_text.is_empty() {
        "_No notifications._".to_owned()
    } else {
        count_text.join("  ·  ")
    };
    b.section(Mrkdwn::trusted(summary));

    let shown = &view.first[..view.first.len().min(MAX_LINES_SHOWN)];
    let long_name = |line: &DigestLine| line.name.chars().count() > MAX_NAME_CHARS;
    let any_name_cut = all_lines.unwrap_or(shown).iter().any(long_name);
    let mut section = String::new();
    for line in shown {
        let text = digest_line(line, &label(&line.state));
        if !section.is_empty() && width(&section) + 1 + width(&text) > MAX_SECTION_CHARS {
            b.section(Mrkdwn::trusted(std::mem::take(&mut section)));
        }
        if !section.is_empty() {
            section.push('\n');
        }
        section.push_str(&text);
    }
    if !section.is_empty() {
        b.section(Mrkdwn::trusted(section));
    }
    let hidden = total.saturating_sub(shown.len());
    if hidden > 0 || any_name_cut {
        let full: Vec<String> = all_lines
            .unwrap_or_default()
            .iter()
            .map(|line| plain_line(line, &label(&line.state)))
            .collect();
        b.record_cut("All notifications", &full.join("\n"), false);
    }
    if hidden > 0 {
        b.context(vec![Mrkdwn::trusted(format!(
            "… and {hidden} more: the full list goes to the thread when the storm ends."
        ))]);
    }
    b.context(vec![Mrkdwn::trusted(
        "_This digest is updated in place while the storm lasts._",
    )]);

    let worst = counts.keys().next().map(|(severity, _)| *severity);
    let accent: Accent = match worst {
        Some(0) => RED,
        Some(1) => AMBER,
        Some(3) => GREEN,
        _ => GREY,
    };
    let mut fallback = format!("🌩️ {title}");
    let parts: Vec<String> = counts
        .iter()
        .map(|((_, label), count)| format!("{count} {}", esc(label)))
        .collect();
    if !parts.is_empty() {
        fallback.push_str(&format!(" ({})", parts.join(", ")));
    }
    b.finish(&title, fallback, Some(accent))
}

/// `🔴 checkout-db-cpu — ALARM at 08:15:02 UTC`, with the kind for non-alarms.
fn digest_line(line: &DigestLine, label: &str) -> String {
    let mut text = format!(
        "{} {} — {}",
        state_emoji(label),
        esc(&one_line(&line.name, MAX_NAME_CHARS)),
        esc(label)
    );
    if let Some(at) = line.at {
        text.push_str(&format!(" at {}", format_clock(at)));
    }
    if line.kind != NotificationKind::Alarm {
        text.push_str(&format!(" ({})", line.kind));
    }
    text
}

/// The same line without markup, for the thread.
fn plain_line(line: &DigestLine, label: &str) -> String {
    let mut text = format!("{} — {label}", line.name);
    if let Some(at) = line.at {
        text.push_str(&format!(" at {}", format_clock(at)));
    }
    if line.kind != NotificationKind::Alarm {
        text.push_str(&format!(" ({})", line.kind));
    }
    text
}

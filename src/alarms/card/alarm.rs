//! The CloudWatch alarm card: state, reason, condition, where and when, links, watchers, buttons.

use crate::alarms::{Alarm, AlarmState, Notification};
use crate::slack::message::{Accent, Mrkdwn};

use super::builder::CardBuilder;
use super::text::{
    code, esc, format_duration, format_time, group_mention, link, one_line, watcher_list,
};
use super::{buttons, card_key, condition, console_url, CardOptions, CardState, RenderedCard};
use super::{AMBER, GREEN, RED};

const DESCRIPTION_BUDGET: usize = 600;
const REASON_BUDGET: usize = 1500;
const CONDITION_BUDGET: usize = 1500;
/// Watchers named on a card before the rest are only counted.
pub(super) const MAX_WATCHERS_SHOWN: usize = 20;

/// The line on a card for an alarm that `chatops-bot test-alarm` sent.
pub(super) const TEST_ALARM_NOTE: &str =
    "🧪 *Test alarm* sent by `chatops-bot test-alarm`: nothing is wrong and nobody is paged.";

/// Emoji, colour and label of an alarm state.
pub(super) fn look(state: AlarmState) -> (&'static str, Accent) {
    match state {
        AlarmState::Alarm => ("🔴", RED),
        AlarmState::Ok => ("✅", GREEN),
        AlarmState::InsufficientData => ("🟡", AMBER),
    }
}

pub(super) fn card(
    n: &Notification,
    alarm: &Alarm,
    state: &CardState,
    opts: &CardOptions,
) -> RenderedCard {
    let (emoji, accent) = look(alarm.state);
    let mention = match (&opts.mention, alarm.state) {
        (Some(group), AlarmState::Alarm) if !n.is_test() => Some(group_mention(group)),
        _ => None,
    };
    let mut b = CardBuilder::default();
    b.header(emoji, &alarm.name);
    if n.is_test() {
        b.context(vec![Mrkdwn::trusted(TEST_ALARM_NOTE)]);
    }
    let status = status(&mut b, alarm, state, mention.as_deref());
    b.section(status);

    let reason = if alarm.reason.trim().is_empty() {
        "_No reason given._".to_owned()
    } else {
        b.clip("Reason", &alarm.reason, REASON_BUDGET)
    };
    let fields = fields(&mut b, n, alarm, state);
    b.section_with_fields(Mrkdwn::trusted(format!("*Reason*\n{reason}")), fields);

    if let Some(summary) = condition::summary(&alarm.condition) {
        let shown = b.clip("Condition", &summary, CONDITION_BUDGET);
        b.section(Mrkdwn::trusted(format!("*Condition*\n{shown}")));
    }
    b.context(links(
        console_url(n),
        opts.runbook_url.as_deref(),
        "CloudWatch",
    ));
    b.context(watchers_and_report(state));
    if let Some(file_id) = &state.graph {
        let alt = format!(
            "Metric graph of {}: the last 3 hours",
            one_line(&alarm.name, 150)
        );
        b.slack_file_image(file_id, alt);
    }
    b.actions(buttons(
        &card_key(n),
        true,
        alarm.state == AlarmState::Alarm,
        opts,
    ));

    let mut text = String::new();
    if let Some(mention) = &mention {
        text.push_str(mention);
        text.push(' ');
    }
    text.push_str(&format!(
        "{emoji} {} {}{}",
        alarm.state,
        esc(&one_line(&alarm.name, 150)),
        place(n)
    ));
    b.finish(&alarm.name, text, Some(accent))
}

/// `<!subteam^S1> *ALARM* (was OK) · 🔁 Flapping · ↩️ Reopened 2×`, then the description.
fn status(b: &mut CardBuilder, alarm: &Alarm, state: &CardState, mention: Option<&str>) -> Mrkdwn {
    let mut line = String::new();
    if let Some(mention) = mention {
        line.push_str(mention);
        line.push(' ');
    }
    line.push_str(&format!("*{}*", alarm.state));
    match alarm.previous_state {
        Some(previous) if previous != alarm.state => line.push_str(&format!(" (was {previous})")),
        Some(_) => line.push_str(" (unchanged)"),
        None => {}
    }
    if state.flapping {
        line.push_str(" · 🔁 *Flapping*");
    }
    if state.reopen_count > 0 {
        line.push_str(&format!(" · ↩️ *Reopened* {}×", state.reopen_count));
    }
    if let Some(suppressed) = &alarm.actions_suppressed {
        line.push_str(&format!(
            " · 🔕 Actions suppressed ({})",
            esc(&suppressed.by)
        ));
        if let Some(reason) = &suppressed.reason {
            let shown = b.clip("Suppression reason", reason, 300);
            line.push_str(&format!(": {shown}"));
        }
    }
    if let Some(description) = alarm.description.as_deref() {
        let shown = b.clip("Description", description, DESCRIPTION_BUDGET);
        line.push('\n');
        line.push_str(&shown);
    }
    Mrkdwn::trusted(line)
}

fn fields(b: &mut CardBuilder, n: &Notification, alarm: &Alarm, state: &CardState) -> Vec<Mrkdwn> {
    let mut fields = vec![account_field(b, n.account()), region_field(b, n.region())];
    let changed = alarm.changed_at.or(n.published_at);
    fields.push(Mrkdwn::trusted(format!(
        "*Changed*\n{}",
        changed.map_or_else(|| "—".to_owned(), format_time)
    )));
    match (alarm.state, state.episode_started, state.resolved_after) {
        (AlarmState::Ok, _, Some(fired)) => fields.push(Mrkdwn::trusted(format!(
            "*Fired for*\n{}",
            format_duration(fired)
        ))),
        (AlarmState::Alarm, Some(since), _) => fields.push(Mrkdwn::trusted(format!(
            "*Firing since*\n{}",
            format_time(since)
        ))),
        _ => {}
    }
    fields
}

/// `*Account*` field, the id as code.
pub(super) fn account_field(b: &mut CardBuilder, account: Option<&str>) -> Mrkdwn {
    match account {
        Some(account) if account.chars().count() <= 64 => {
            Mrkdwn::trusted(format!("*Account*\n{}", code(account)))
        }
        Some(account) => b.field("Account", account),
        None => Mrkdwn::trusted("*Account*\n—"),
    }
}

/// `*Region*` field: `eu-west-1 · Europe (Ireland)`.
pub(super) fn region_field(b: &mut CardBuilder, region: Option<&str>) -> Mrkdwn {
    match region {
        Some(code) => {
            let mut field = b.field("Region", code);
            if let Some(display) = crate::alarms::region_display_name(code) {
                field.push(" · ");
                field.push_escaped(display);
            }
            field
        }
        None => Mrkdwn::trusted("*Region*\n—"),
    }
}

/// ` in eu-west-1 (123456789012)` for fallback texts, escaped.
pub(super) fn place(n: &Notification) -> String {
    let mut out = String::new();
    if let Some(region) = n.region() {
        out.push_str(&format!(" in {}", esc(&one_line(region, 40))));
    }
    if let Some(account) = n.account() {
        out.push_str(&format!(" ({})", esc(&one_line(account, 40))));
    }
    out
}

/// `🔗 Open in CloudWatch · 📖 Runbook`, when there is anything to link.
pub(super) fn links(console: Option<String>, runbook: Option<&str>, service: &str) -> Vec<Mrkdwn> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(url) = console {
        parts.push(format!("🔗 {}", link(&url, &format!("Open in {service}"))));
    }
    if let Some(url) = runbook.filter(|url| !url.trim().is_empty()) {
        parts.push(format!("📖 {}", link(url, "Runbook")));
    }
    if parts.is_empty() {
        vec![]
    } else {
        vec![Mrkdwn::trusted(parts.join("  ·  "))]
    }
}

/// The watchers line, and the incident report's link once there is one.
pub(super) fn watchers_and_report(state: &CardState) -> Vec<Mrkdwn> {
    let mut line = vec![watchers_line(&state.watchers)];
    if let Some(url) = &state.report_url {
        line.push(Mrkdwn::trusted(format!(
            "📝 {}",
            link(url, "Incident report")
        )));
    }
    line
}

/// `👀 Watching: <@U1>, <@U2>` or a note that nobody is.
pub(super) fn watchers_line(watchers: &[String]) -> Mrkdwn {
    if watchers.is_empty() {
        Mrkdwn::trusted("👀 Nobody is watching yet.")
    } else {
        Mrkdwn::trusted(format!(
            "👀 Watching: {}",
            watcher_list(watchers, MAX_WATCHERS_SHOWN)
        ))
    }
}

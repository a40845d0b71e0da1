//! Cards for AWS Chatbot custom notifications and for anything the parser did not recognise.

use crate::alarms::{CustomNotification, GenericNotification, Notification};
use crate::slack::message::Mrkdwn;

use super::alarm::{account_field, links, place, region_field};
use super::builder::CardBuilder;
use super::text::{esc, format_time, one_line};
use super::{buttons, card_key, CardOptions, RenderedCard};

const DESCRIPTION_BUDGET: usize = 2000;
const LIST_BUDGET: usize = 1200;
const TEXT_BUDGET: usize = 2500;

pub(super) fn custom_card(
    n: &Notification,
    custom: &CustomNotification,
    opts: &CardOptions,
) -> RenderedCard {
    let title = custom
        .title
        .as_deref()
        .or(custom.event_type.as_deref())
        .filter(|title| !title.trim().is_empty())
        .unwrap_or("Notification");
    let mut b = CardBuilder::default();
    b.header("📣", title);

    let description = if custom.description.trim().is_empty() {
        "_No description._".to_owned()
    } else {
        b.clip("Description", &custom.description, DESCRIPTION_BUDGET)
    };
    b.section(Mrkdwn::trusted(description));

    let lists = [
        ("Next steps", &custom.next_steps),
        ("Related resources", &custom.related_resources),
    ];
    for (label, items) in lists {
        if items.is_empty() {
            continue;
        }
        let shown = b.clip(label, &bullets(items.iter()), LIST_BUDGET);
        b.section(Mrkdwn::trusted(format!("*{label}*\n{shown}")));
    }
    if !custom.additional_context.is_empty() {
        let entries = custom
            .additional_context
            .iter()
            .map(|(name, value)| format!("{name}: {value}"));
        let shown = b.clip("Context", &bullets(entries), LIST_BUDGET);
        b.section(Mrkdwn::trusted(format!("*Context*\n{shown}")));
    }
    if !custom.keywords.is_empty() {
        let shown = b.clip("Keywords", &custom.keywords.join(" · "), 1000);
        b.context(vec![Mrkdwn::trusted(format!("🏷️ {shown}"))]);
    }
    b.context(links(None, opts.runbook_url.as_deref(), ""));
    b.actions(buttons(&card_key(n), false, false, opts));

    let summary = custom.summary.as_deref().unwrap_or(title);
    let fallback = format!("📣 {}", esc(&one_line(summary, 200)));
    b.finish(title, fallback, None)
}

pub(super) fn other_card(
    n: &Notification,
    other: &GenericNotification,
    opts: &CardOptions,
) -> RenderedCard {
    let title = other
        .subject
        .as_deref()
        .or(other.detail_type.as_deref())
        .filter(|title| !title.trim().is_empty())
        .unwrap_or("AWS notification");
    let mut b = CardBuilder::default();
    b.header("📨", title);

    let mut text = String::new();
    let about = [
        ("Source", other.source.as_deref()),
        ("Type", other.detail_type.as_deref()),
    ];
    let about: Vec<String> = about
        .into_iter()
        .filter_map(|(label, value)| {
            value.map(|value| format!("*{label}:* {}", b.clip(label, value, 200)))
        })
        .collect();
    if !about.is_empty() {
        text.push_str(&about.join("  ·  "));
        text.push('\n');
    }
    if other.text.trim().is_empty() {
        text.push_str("_Empty message._");
    } else {
        text.push_str(&b.clip_code("Message", &other.text, TEXT_BUDGET));
    }
    b.section(Mrkdwn::trusted(text));

    let mut fields = Vec::new();
    if n.account().is_some() {
        fields.push(account_field(&mut b, n.account()));
    }
    if n.region().is_some() {
        fields.push(region_field(&mut b, n.region()));
    }
    if let Some(at) = n.occurred_at() {
        fields.push(Mrkdwn::trusted(format!("*Time*\n{}", format_time(at))));
    }
    if !fields.is_empty() {
        b.section_with_fields(Mrkdwn::trusted("*Details*"), fields);
    }
    if !other.resources.is_empty() {
        let shown = b.clip("Resources", &bullets(other.resources.iter()), LIST_BUDGET);
        b.section(Mrkdwn::trusted(format!("*Resources*\n{shown}")));
    }
    b.context(links(None, opts.runbook_url.as_deref(), ""));
    b.actions(buttons(&card_key(n), false, false, opts));

    let fallback = format!("📨 {}{}", esc(&one_line(title, 150)), place(n));
    b.finish(title, fallback, None)
}

fn bullets<T: AsRef<str>>(items: impl Iterator<Item = T>) -> String {
    items
        .map(|item| format!("• {}", item.as_ref()))
        .collect::<Vec<_>>()
        .join("\n")
}

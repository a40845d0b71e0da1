//! The report page: seven sections in Confluence storage format, built only through the storage
//! renderer, so text from Slack, the agent or AWS is always inert.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::facts::AlarmFacts;
use super::summary::Summary;
use super::time_text::{utc_minute, utc_second};
use super::timeline::{timeline, ThreadEvent, TimelineEntry};
use crate::integrations::confluence::storage::{Document, Inline, StatusColour, StorageXml};
use crate::slack::markup::Segment;
use crate::slack::thread::ThreadTranscript;
use crate::store::answers::AnswerRecord;

/// Longest text of one message on the timeline; the thread link has the rest.
const LONGEST_MESSAGE: usize = 2_000;

/// Everything a report page is made from.
pub struct ReportInputs<'a> {
    pub transcript: &'a ThreadTranscript,
    pub alarm: Option<&'a AlarmFacts>,
    pub summary: &'a Summary,
    /// The agent's earlier answers in the thread, oldest first.
    pub answers: &'a [AnswerRecord],
    /// Display names by Slack user id (participants, watchers, askers).
    pub names: &'a HashMap<String, String>,
    pub synced_at: OffsetDateTime,
}

/// The page body.
pub fn report_body(inputs: &ReportInputs<'_>) -> StorageXml {
    let mut doc = Document::new();
    summary_section(&mut doc, inputs);
    details_section(&mut doc, inputs.alarm);
    timeline_section(&mut doc, inputs);
    people_section(&mut doc, inputs);
    analyses_section(&mut doc, inputs);
    links_section(&mut doc, inputs);
    doc.paragraph(&[
        Inline::text(format!(
            "Last synced {} from ",
            utc_second(inputs.synced_at)
        )),
        Inline::link(inputs.transcript.thread_link.as_str(), "the Slack thread"),
        Inline::text("."),
    ]);
    doc.finish()
}

fn summary_section(doc: &mut Document, inputs: &ReportInputs<'_>) {
    doc.heading(2, "Summary");
    match inputs.summary {
        Summary::Written { text, left_out } => {
            summary_text(doc, text);
            if *left_out > 0 {
                doc.paragraph(&[Inline::text(format!(
                    "The thread was too long for the agent's input: it read the first message and the newest ones; {left_out} messages in between were left out."
                ))]);
            }
        }
        Summary::Missing(why) => {
            doc.paragraph(&[Inline::strong("No summary: "), Inline::text(why.as_str())]);
        }
    }
}

/// The agent's text: its section names become headings, `- ` lines bullet lists, the rest
/// paragraphs.
fn summary_text(doc: &mut Document, text: &str) {
    let mut bullets: Vec<Vec<Inline>> = Vec::new();
    let flush = |doc: &mut Document, bullets: &mut Vec<Vec<Inline>>| {
        if !bullets.is_empty() {
            doc.bullet_list(bullets);
            bullets.clear();
        }
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
            bullets.push(vec![Inline::text(item)]);
            continue;
        }
        flush(doc, &mut bullets);
        match section_heading(line) {
            Some(heading) => doc.heading(3, heading),
            None => doc.text(line),
        };
    }
    flush(doc, &mut bullets);
}

/// `What happened`, `## Impact:`, `**Root cause**` …: one of the asked-for sections, if the line
/// is only its name.
fn section_heading(line: &str) -> Option<&str> {
    let name = line
        .trim_start_matches('#')
        .trim()
        .trim_matches('*')
        .trim_end_matches(':')
        .trim();
    let known = [
        "what happened",
        "impact",
        "root cause",
        "actions taken",
        "follow-ups",
        "follow ups",
    ];
    known
        .contains(&name.to_lowercase().as_str())
        .then_some(name)
}

fn details_section(doc: &mut Document, alarm: Option<&AlarmFacts>) {
    doc.heading(2, "Alarm details");
    let Some(alarm) = alarm else {
        doc.text("This thread does not belong to an alarm card the bot keeps.");
        return;
    };
    let c = &alarm.thread.context;
    let mut rows: Vec<Vec<Vec<Inline>>> = vec![
        row("Alarm", vec![Inline::text(c.name.as_str())]),
        row("State", vec![state(&c.state)]),
    ];
    let mut add = |label: &str, value: Option<&String>| {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            rows.push(row(label, vec![Inline::text(value.as_str())]));
        }
    };
    add("Previous state", c.previous_state.as_ref());
    add("Reason", c.reason.as_ref());
    add("Metric", c.metric.as_ref());
    add("Namespace", c.namespace.as_ref());
    let threshold = match (&c.comparison, &c.threshold) {
        (Some(comparison), Some(threshold)) => Some(format!("{comparison} {threshold}")),
        (comparison, threshold) => comparison.clone().or(threshold.clone()),
    };
    add("Threshold", threshold.as_ref());
    let dimensions = (!c.dimensions.is_empty()).then(|| {
        c.dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    add("Dimensions", dimensions.as_ref());
    add("Account", c.account.as_ref());
    add("Region", c.region.as_ref());
    add("Changed at", c.changed_at.as_ref());
    doc.table(&["Field", "Value"], &rows);
}

fn row(label: &str, value: Vec<Inline>) -> Vec<Vec<Inline>> {
    vec![vec![Inline::strong(label)], value]
}

/// The state as Confluence's status lozenge.
fn state(state: &str) -> Inline {
    let colour = match state {
        "ALARM" => StatusColour::Red,
        "OK" => StatusColour::Green,
        "INSUFFICIENT_DATA" => StatusColour::Yellow,
        _ => StatusColour::Grey,
    };
    Inline::status(colour, state)
}

fn timeline_section(doc: &mut Document, inputs: &ReportInputs<'_>) {
    doc.heading(2, "Timeline");
    let changes = inputs.alarm.map(|a| a.changes.as_slice()).unwrap_or(&[]);
    let messages: Vec<ThreadEvent> = inputs
        .transcript
        .messages
        .iter()
        .map(|m| ThreadEvent {
            at: m.time,
            author: m.author.clone(),
            text: m.text.clone(),
            permalink: Some(m.permalink.clone()),
        })
        .collect();
    let segments: HashMap<String, &[Segment]> = inputs
        .transcript
        .messages
        .iter()
        .map(|m| (m.permalink.clone(), m.segments.as_slice()))
        .collect();
    let rows: Vec<Vec<Vec<Inline>>> = timeline(changes, &messages)
        .into_iter()
        .map(|entry| match entry {
            TimelineEntry::Change(change) => {
                let mut what = Vec::new();
                if let Some(from) = &change.from {
                    what.extend([state(from), Inline::text(" → ")]);
                }
                what.extend([
                    state(&change.to),
                    Inline::text(format!(" {}", change.reason)),
                ]);
                vec![
                    vec![Inline::text(utc_second(change.at))],
                    vec![Inline::text("CloudWatch")],
                    what,
                ]
            }
            TimelineEntry::Message(message) => {
                let link = message.permalink.as_deref().unwrap_or_default();
                let body = segments
                    .get(link)
                    .map(|s| inlines(s))
                    .unwrap_or_else(|| vec![Inline::text(clip(&message.text))]);
                vec![
                    vec![Inline::link(link, utc_second(message.at))],
                    vec![Inline::text(message.author.as_str())],
                    body,
                ]
            }
        })
        .collect();
    doc.table(&["Time (UTC)", "Who", "What"], &rows);
    if inputs.transcript.cut {
        doc.text(
            "The thread is longer than the bot reads; its newest messages are not on this page.",
        );
    }
}

/// A message's segments as inline pieces, clipped to `LONGEST_MESSAGE` characters of text.
fn inlines(segments: &[Segment]) -> Vec<Inline> {
    let mut left = LONGEST_MESSAGE;
    let mut out = Vec::new();
    for segment in segments {
        if left == 0 {
            out.push(Inline::text(" […]"));
            break;
        }
        let piece = match segment {
            Segment::Text(text) => Inline::text(take(text, &mut left)),
            Segment::Mention(who) => Inline::strong(take(who, &mut left)),
            Segment::Link { url, label } => Inline::link(url.as_str(), take(label, &mut left)),
        };
        out.push(piece);
    }
    out
}

fn take(text: &str, left: &mut usize) -> String {
    let taken: String = text.chars().take(*left).collect();
    *left -= taken.chars().count();
    taken
}

fn clip(text: &str) -> String {
    let mut left = LONGEST_MESSAGE;
    take(text, &mut left)
}

fn name<'a>(names: &'a HashMap<String, String>, id: &'a str) -> &'a str {
    names.get(id).map(String::as_str).unwrap_or(id)
}

fn people_section(doc: &mut Document, inputs: &ReportInputs<'_>) {
    doc.heading(2, "Participants and watchers");
    let participants: Vec<Vec<Inline>> = inputs
        .transcript
        .participants
        .iter()
        .map(|p| {
            let said = if p.messages == 1 {
                "message"
            } else {
                "messages"
            };
            vec![Inline::text(format!("{} — {} {said}", p.name, p.messages))]
        })
        .collect();
    if participants.is_empty() {
        doc.text("Nobody but bots wrote in the thread.");
    } else {
        doc.bullet_list(&participants);
    }
    let watchers: Vec<String> = inputs
        .alarm
        .map(|a| {
            a.watchers
                .iter()
                .map(|w| name(inputs.names, w).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let watching = if watchers.is_empty() {
        "Nobody clicked Watching.".to_owned()
    } else {
        watchers.join(", ")
    };
    doc.paragraph(&[Inline::strong("Watching: "), Inline::text(watching)]);
}

fn analyses_section(doc: &mut Document, inputs: &ReportInputs<'_>) {
    doc.heading(2, "The agent's analyses");
    if inputs.answers.is_empty() {
        doc.text("Nobody asked the agent in this thread.");
        return;
    }
    for answer in inputs.answers {
        let asked = OffsetDateTime::from(answer.asked_at);
        doc.heading(
            3,
            &format!(
                "{} asked at {}",
                name(inputs.names, &answer.user),
                utc_minute(asked)
            ),
        );
        doc.paragraph(&[
            Inline::strong("Question: "),
            Inline::text(answer.question.as_str()),
        ]);
        match &answer.error {
            Some(error) => {
                doc.paragraph(&[Inline::strong("No answer: "), Inline::text(error.as_str())]);
            }
            None => summary_text(doc, &answer.answer),
        }
    }
}

fn links_section(doc: &mut Document, inputs: &ReportInputs<'_>) {
    doc.heading(2, "Links");
    let mut links = vec![vec![Inline::link(
        inputs.transcript.thread_link.as_str(),
        "The Slack thread",
    )]];
    if let Some(console) = inputs.alarm.and_then(|a| a.console_url.as_deref()) {
        links.push(vec![Inline::link(console, "The alarm in the AWS console")]);
    }
    doc.bullet_list(&links);
}

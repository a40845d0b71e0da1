//! Cards for CodePipeline/CodeBuild/CodeDeploy events and for API calls seen by CloudTrail.

use crate::alarms::{ApiCallEvent, Notification, PipelineEvent, PipelineOutcome, PipelineService};
use crate::slack::message::{Accent, Mrkdwn};

use super::alarm::{account_field, links, place, region_field, watchers_and_report};
use super::builder::CardBuilder;
use super::console::is_aws_console_link;
use super::text::{code, esc, format_time, group_mention, link, one_line};
use super::{buttons, card_key, console_url, CardOptions, CardState, RenderedCard};
use super::{AMBER, BLUE, GREEN, GREY, RED};

const SUMMARY_BUDGET: usize = 1500;
const LIST_BUDGET: usize = 1500;

/// Emoji and colour of a pipeline outcome.
pub(super) fn pipeline_look(outcome: PipelineOutcome) -> (&'static str, Accent) {
    match outcome {
        PipelineOutcome::Failed => ("❌", RED),
        PipelineOutcome::Succeeded => ("✅", GREEN),
        PipelineOutcome::Started | PipelineOutcome::InProgress => ("🔵", BLUE),
        PipelineOutcome::Stopped => ("⏹️", GREY),
        PipelineOutcome::Superseded => ("⏭️", GREY),
        PipelineOutcome::Other => ("ℹ️", GREY),
    }
}

pub(super) fn pipeline_card(
    n: &Notification,
    p: &PipelineEvent,
    state: &CardState,
    opts: &CardOptions,
) -> RenderedCard {
    let (emoji, accent) = pipeline_look(p.outcome());
    let mention = match (&opts.mention, p.outcome()) {
        (Some(group), PipelineOutcome::Failed) => Some(group_mention(group)),
        _ => None,
    };
    let mut b = CardBuilder::default();
    b.header(emoji, &p.name);

    let mut text = String::new();
    if let Some(mention) = &mention {
        text.push_str(mention);
        text.push(' ');
    }
    text.push_str(&format!(
        "*{}* {}: {}",
        p.service.as_str(),
        code(&p.name),
        b.clip("Status", &p.status, 100)
    ));
    let mut step: Vec<String> = Vec::new();
    if let Some(stage) = &p.stage {
        step.push(format!("*Stage:* {}", b.clip("Stage", stage, 200)));
    }
    if let Some(action) = &p.action {
        let mut shown = format!("*Action:* {}", b.clip("Action", action, 200));
        if let Some(provider) = &p.action_provider {
            shown.push_str(&format!(" ({})", b.clip("Action provider", provider, 100)));
        }
        step.push(shown);
    }
    if let Some(phase) = &p.phase {
        step.push(format!("*Phase:* {}", b.clip("Phase", phase, 100)));
    }
    if !step.is_empty() {
        text.push('\n');
        text.push_str(&step.join("  ·  "));
    }
    if let Some(summary) = &p.summary {
        text.push('\n');
        text.push_str(&b.clip("Summary", summary, SUMMARY_BUDGET));
    }
    if let Some(error) = &p.error_code {
        text.push_str(&format!("\n*Error:* {}", code(&one_line(error, 100))));
    }
    let mut fields = vec![
        account_field(&mut b, n.account()),
        region_field(&mut b, n.region()),
    ];
    fields.push(Mrkdwn::trusted(format!(
        "*Time*\n{}",
        n.occurred_at().map_or_else(|| "—".to_owned(), format_time)
    )));
    let execution_label = match p.service {
        PipelineService::CodePipeline => "Execution",
        PipelineService::CodeBuild => "Build",
        PipelineService::CodeDeploy => "Deployment",
    };
    let execution = p.execution_id.as_ref().map(|id| {
        id.rsplit_once(":build/")
            .map_or(id.as_str(), |(_, build)| build)
            .to_owned()
    });
    let optional = [
        (execution_label, &execution),
        ("Deployment group", &p.deployment_group),
        ("Started by", &p.initiator),
        ("Source version", &p.source_version),
    ];
    for (label, value) in optional {
        if let Some(value) = value {
            fields.push(b.field(label, value));
        }
    }
    b.section_with_fields(Mrkdwn::trusted(text), fields);

    if !p.failed_actions.is_empty() || p.failed_stage.is_some() {
        let mut lines = Vec::new();
        if let Some(stage) = &p.failed_stage {
            lines.push(format!("Failed stage: {stage}"));
        }
        for failed in &p.failed_actions {
            match &failed.info {
                Some(info) => lines.push(format!("• {}: {info}", failed.action)),
                None => lines.push(format!("• {}", failed.action)),
            }
        }
        let shown = b.clip("Failures", &lines.join("\n"), LIST_BUDGET);
        b.section(Mrkdwn::trusted(format!("*What failed*\n{shown}")));
    }

    let mut link_line = links(
        console_url(n),
        opts.runbook_url.as_deref(),
        p.service.as_str(),
    );
    if let Some(url) = p.link.as_deref() {
        let details = if is_aws_console_link(url) {
            format!("📄 {}", link(url, "Details"))
        } else {
            format!("📄 Details: {}", code(&one_line(url, 300)))
        };
        link_line.push(Mrkdwn::trusted(details));
    }
    b.context(link_line);
    b.context(watchers_and_report(state));
    b.actions(buttons(&card_key(n), true, false, opts));

    let mut fallback = mention.map(|m| format!("{m} ")).unwrap_or_default();
    fallback.push_str(&format!(
        "{emoji} {} {} {}{}",
        p.service.as_str(),
        esc(&one_line(&p.name, 150)),
        esc(&one_line(&p.status, 40)),
        place(n)
    ));
    b.finish(&p.name, fallback, Some(accent))
}

pub(super) fn api_call_card(
    n: &Notification,
    call: &ApiCallEvent,
    opts: &CardOptions,
) -> RenderedCard {
    let failed = call.error_code.is_some();
    let (emoji, accent) = if failed {
        ("⛔", AMBER)
    } else {
        ("🔐", BLUE)
    };
    let who = call.identity.display_name();
    let mut b = CardBuilder::default();
    b.header(
        emoji,
        &format!("{} · {}", call.event_name, call.event_source),
    );

    let mut text = format!(
        "*{}* ({}) called *{}* on {}",
        b.clip("Caller", &who, 300),
        esc(&one_line(&call.identity.identity_type, 60)),
        b.clip("API", &call.event_name, 200),
        code(&one_line(&call.event_source, 100))
    );
    if let Some(target) = target(call) {
        text.push_str(&format!(": {}", b.clip("Target", &target, 600)));
    }
    if let Some(error) = &call.error_code {
        text.push_str(&format!("\n⛔ *{}*", esc(&one_line(error, 100))));
        if let Some(message) = &call.error_message {
            text.push_str(&format!(": {}", b.clip("Error message", message, 1000)));
        }
    }
    let mut fields = vec![
        account_field(&mut b, n.account()),
        region_field(&mut b, n.region()),
        Mrkdwn::trusted(format!(
            "*Time*\n{}",
            n.occurred_at().map_or_else(|| "—".to_owned(), format_time)
        )),
    ];
    let optional = [
        ("Source IP", call.source_ip.as_deref()),
        ("Caller ARN", call.identity.arn.as_deref()),
        ("Invoked by", call.identity.invoked_by.as_deref()),
        ("User agent", call.user_agent.as_deref()),
    ];
    for (label, value) in optional {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            fields.push(b.field(label, value));
        }
    }
    if let Some(read_only) = call.read_only {
        let value = if read_only { "yes" } else { "no" };
        fields.push(Mrkdwn::trusted(format!("*Read-only*\n{value}")));
    }
    b.section_with_fields(Mrkdwn::trusted(text), fields);

    let mut details: Vec<String> = call
        .request
        .iter()
        .map(|(name, value)| format!("• {name} = {value}"))
        .collect();
    details.extend(
        call.resources
            .iter()
            .map(|resource| format!("• {resource}")),
    );
    if !details.is_empty() {
        let shown = b.clip("Request and resources", &details.join("\n"), LIST_BUDGET);
        b.section(Mrkdwn::trusted(format!("*Request*\n{shown}")));
    }
    b.context(links(
        console_url(n),
        opts.runbook_url.as_deref(),
        "CloudTrail",
    ));
    b.actions(buttons(&card_key(n), false, false, opts));

    let mut fallback = format!(
        "{emoji} {} called {}",
        esc(&one_line(&who, 100)),
        esc(&one_line(&call.event_name, 100))
    );
    if let Some(error) = &call.error_code {
        fallback.push_str(&format!(" ({})", esc(&one_line(error, 60))));
    }
    fallback.push_str(&place(n));
    b.finish(&call.event_name, fallback, Some(accent))
}

/// What the call acted on: `bucket/key` for S3, else the first resource.
fn target(call: &ApiCallEvent) -> Option<String> {
    match (call.bucket(), call.object_key()) {
        (Some(bucket), Some(key)) => Some(format!("{bucket}/{key}")),
        (Some(bucket), None) => Some(bucket.to_owned()),
        _ => call.resources.first().cloned(),
    }
}

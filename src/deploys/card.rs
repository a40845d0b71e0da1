//! What a deploy request looks like in Slack: the thread's root message (updated in place as the
//! request moves on) and the approval card. Pure: a request and what is known about it in,
//! a `Message` out.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use url::Url;

use crate::slack::message::{Accent, Block, Button, ImageSource, Message, Mrkdwn};
use crate::slack::time_text::{format_clock, format_duration};
use crate::store::deploys::{Approval, DeployAction, DeployRequest, DeployState};

/// The workflow's current job and step, while it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub job: Option<String>,
    pub step: Option<String>,
}

/// Everything the root message shows.
pub struct RootView<'a> {
    pub request: &'a DeployRequest,
    pub approvals: &'a [Approval],
    pub progress: Option<&'a Progress>,
    /// The configured GIF for the request's state (`deploy.gifs`), if any.
    pub gif: Option<&'a Url>,
}

const GREY: Accent = Accent("#9e9e9e");
const BLUE: Accent = Accent("#1f77b4");
const GREEN: Accent = Accent("#2ca02c");
const RED: Accent = Accent("#d62728");
const AMBER: Accent = Accent("#ffbf00");

/// `🚀 Deploy v1.2.3 to prod` or `⏪ Roll back prod to v1.2.2`.
pub fn title(request: &DeployRequest) -> String {
    match request.action {
        DeployAction::Deploy => format!("🚀 Deploy {} to {}", request.version, request.environment),
        DeployAction::Rollback => format!(
            "⏪ Roll back {} to {}",
            request.environment, request.version
        ),
    }
}

/// The request's state in a few words, for the root message and the status command.
pub fn state_text(
    request: &DeployRequest,
    approvals: usize,
    progress: Option<&Progress>,
) -> Mrkdwn {
    let mut text = match request.state {
        DeployState::PendingApproval => Mrkdwn::trusted(format!(
            ":hourglass_flowing_sand: Waiting for approval ({approvals} of {})",
            request.approvals_needed
        )),
        DeployState::Approved => {
            Mrkdwn::trusted(":white_check_mark: Approved; starting the workflow")
        }
        DeployState::Dispatched => {
            Mrkdwn::trusted(":outbox_tray: Sent to GitHub; waiting for the run to start")
        }
        DeployState::Running => Mrkdwn::trusted(":arrows_counterclockwise: Running"),
        DeployState::Succeeded => Mrkdwn::trusted(format!(
            ":tada: Deployed {} to {}",
            request.effective_version(),
            request.environment
        )),
        DeployState::Failed => Mrkdwn::trusted(":x: The workflow failed"),
        DeployState::Cancelled => Mrkdwn::trusted(":no_entry_sign: The workflow was cancelled"),
        DeployState::Rejected => Mrkdwn::trusted(":no_entry: Rejected"),
        DeployState::Expired => Mrkdwn::trusted(":alarm_clock: Expired without enough approvals"),
        DeployState::RunNotFound => Mrkdwn::trusted(
            ":grey_question: Sent, but its workflow run was not found (see the thread)",
        ),
        DeployState::DispatchFailed => {
            Mrkdwn::trusted(":warning: GitHub refused to start the workflow (see the thread)")
        }
    };
    if let (DeployState::Running, Some(progress)) = (request.state, progress) {
        let at: Vec<&str> = [progress.job.as_deref(), progress.step.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !at.is_empty() {
            text.push(": ");
            text.push_escaped(&at.join(" › "));
        }
    }
    if request.state == DeployState::Rejected {
        text.push(&decided(request));
    }
    text
}

/// ` by <@U…> at 14:05:02 UTC`, from the request's decision; empty when unknown.
fn decided(request: &DeployRequest) -> String {
    let mut out = String::new();
    if let Some(by) = &request.decided_by {
        out.push_str(&format!(" by <@{by}>"));
    }
    if let Some(at) = request.decided_at {
        out.push_str(&format!(" at {}", clock(at)));
    }
    out
}

fn accent(state: DeployState) -> Accent {
    match state {
        DeployState::PendingApproval => AMBER,
        DeployState::Approved | DeployState::Dispatched | DeployState::Running => BLUE,
        DeployState::Succeeded => GREEN,
        DeployState::Failed | DeployState::DispatchFailed | DeployState::RunNotFound => RED,
        DeployState::Cancelled | DeployState::Rejected | DeployState::Expired => GREY,
    }
}

fn clock(at: SystemTime) -> String {
    format_clock(OffsetDateTime::from(at))
}

/// `<@U1> (14:05:02 UTC), <@U2> (14:06:10 UTC)`.
fn approvers_text(approvals: &[Approval]) -> String {
    approvals
        .iter()
        .map(|a| format!("<@{}> ({})", a.user, clock(a.at)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The thread's root message: what was asked, by whom, where it stands, the run's link.
pub fn root_message(view: &RootView<'_>) -> Message {
    let request = view.request;
    let state = state_text(request, view.approvals.len(), view.progress);
    let mut fields = vec![
        Mrkdwn::trusted(format!("*Requested by*\n<@{}>", request.requested_by)),
        Mrkdwn::trusted(format!("*State*\n{}", state.as_str())),
    ];
    if !view.approvals.is_empty() {
        fields.push(Mrkdwn::trusted(format!(
            "*Approved by*\n{}",
            approvers_text(view.approvals)
        )));
    }
    if let Some(url) = &request.run_url {
        match crate::slack::message::link_to(url, "the workflow run") {
            Some(link) => fields.push(Mrkdwn::trusted(format!("*GitHub*\n{link}"))),
            None => fields.push(Mrkdwn::trusted("*GitHub*\n(the run's link was unusable)")),
        }
    }
    let mut blocks = vec![
        Block::Header(title(request)),
        Block::Section {
            text: Mrkdwn::trusted(format!("{} · `{}`", state.as_str(), request.environment)),
            fields,
        },
    ];
    if let Some(gif) = view.gif {
        blocks.push(Block::Image {
            source: ImageSource::Url(gif.clone()),
            alt: state_words(request.state).to_owned(),
        });
    }
    blocks.push(Block::Context(vec![Mrkdwn::trusted(format!(
        "Request `{}` · everything about it happens in this thread",
        request.request_id
    ))]));
    Message {
        text: format!("{}: {}", title(request), state_words(request.state)),
        blocks,
        accent: Some(accent(request.state)),
        post_id: None,
        standing: Default::default(),
    }
}

/// The state as plain words (notifications, alt text).
fn state_words(state: DeployState) -> &'static str {
    match state {
        DeployState::PendingApproval => "waiting for approval",
        DeployState::Approved => "approved",
        DeployState::Dispatched => "sent to GitHub",
        DeployState::Running => "running",
        DeployState::Succeeded => "succeeded",
        DeployState::Failed => "failed",
        DeployState::Cancelled => "cancelled",
        DeployState::Rejected => "rejected",
        DeployState::Expired => "expired",
        DeployState::RunNotFound => "run not found",
        DeployState::DispatchFailed => "refused by GitHub",
    }
}

/// Everything the approval card shows.
pub struct ApprovalView<'a> {
    pub request: &'a DeployRequest,
    pub approvals: &'a [Approval],
    /// The environment's approvers as Slack mentions (`<@U…>`, `<!subteam^S…>`).
    pub approvers: &'a [String],
    /// Alarms in ALARM on the environment's linked routes (one approval more while any fire).
    pub firing_alarms: &'a [String],
    pub approval_timeout: Duration,
    /// ✅ Approve and ✖ Reject, shown only while the request waits.
    pub buttons: Vec<Button>,
}

/// The approval card in the request's thread; once decided (or expired) it says how, and its
/// buttons are gone.
pub fn approval_message(view: &ApprovalView<'_>) -> Message {
    let request = view.request;
    let waiting = request.state == DeployState::PendingApproval;
    let mut text = Mrkdwn::trusted(format!(
        "*Approval needed:* {} of {} from {}",
        view.approvals.len(),
        request.approvals_needed,
        if view.approvers.is_empty() {
            "the approvers".to_owned()
        } else {
            view.approvers.join(", ")
        }
    ));
    if !view.firing_alarms.is_empty() {
        text.push(&format!(
            "\n:rotating_light: One approval more than usual: {} alarm(s) firing on `{}`: ",
            view.firing_alarms.len(),
            request.environment
        ));
        let names: Vec<String> = view.firing_alarms.iter().take(10).cloned().collect();
        text.push_escaped(&names.join(", "));
    }
    let mut blocks = vec![Block::Section {
        text,
        fields: vec![],
    }];
    let outcome = match request.state {
        DeployState::PendingApproval => {
            let expires = clock(request.expires_at);
            let mut line = format!(
                "Expires at {expires} ({} after the request)",
                format_duration(view.approval_timeout)
            );
            if !view.approvals.is_empty() {
                line = format!(
                    "Approved so far: {} · {line}",
                    approvers_text(view.approvals)
                );
            }
            line
        }
        DeployState::Rejected => format!(":no_entry: Rejected{}", decided(request)),
        DeployState::Expired => format!(
            ":alarm_clock: Expired at {} with {} of {} approvals",
            clock(request.expires_at),
            view.approvals.len(),
            request.approvals_needed
        ),
        _ => format!(
            ":white_check_mark: Approved by {}",
            approvers_text(view.approvals)
        ),
    };
    blocks.push(Block::Context(vec![Mrkdwn::trusted(outcome)]));
    if waiting && !view.buttons.is_empty() {
        blocks.push(Block::Actions(view.buttons.clone()));
    }
    Message {
        text: format!(
            "Approval for {}: {}",
            title(request),
            state_words(request.state)
        ),
        blocks,
        accent: Some(accent(request.state)),
        post_id: None,
        standing: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::blocks::to_json;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn request(state: DeployState) -> DeployRequest {
        DeployRequest {
            request_id: "6f1c2a9e-3b7d-4c1e-9a55-0d2f8e6b1c47".into(),
            environment: "prod".into(),
            action: DeployAction::Deploy,
            version: "v1.4.2".into(),
            deployed_version: None,
            requested_by: "U0ALICE123".into(),
            channel: "C0DEPLOYS1".into(),
            thread_ts: Some("1765029909.000100".into()),
            approval_ts: None,
            approvals_needed: 2,
            state,
            run_id: None,
            run_url: None,
            created_at: at(1_765_029_909),
            expires_at: at(1_765_029_909 + 1800),
            updated_at: at(1_765_029_909),
            decided_by: None,
            decided_at: None,
        }
    }

    fn shown(message: &Message) -> String {
        to_json(message).to_string()
    }

    #[test]
    fn the_root_message_follows_the_request() {
        let approvals = [Approval {
            user: "U0BOB12345".into(),
            at: at(1_765_029_969),
        }];
        let waiting = request(DeployState::PendingApproval);
        let text = shown(&root_message(&RootView {
            request: &waiting,
            approvals: &approvals,
            progress: None,
            gif: None,
        }));
        assert!(text.contains("🚀 Deploy v1.4.2 to prod"), "{text}");
        assert!(text.contains("Waiting for approval (1 of 2)"), "{text}");
        assert!(text.contains("<@U0BOB12345> (14:06:09 UTC)"), "{text}");
        assert!(text.contains("#ffbf00"));

        let mut running = request(DeployState::Running);
        running.run_url = Some("https://github.com/acme/app/actions/runs/42".into());
        let progress = Progress {
            job: Some("deploy".into()),
            step: Some("Migrate <!channel> db".into()),
        };
        let gif = Url::parse("https://media.example/deploying.gif").unwrap();
        let text = shown(&root_message(&RootView {
            request: &running,
            approvals: &[],
            progress: Some(&progress),
            gif: Some(&gif),
        }));
        assert!(
            text.contains("Running: deploy › Migrate &lt;!channel&gt; db"),
            "step names are escaped: {text}"
        );
        assert!(text.contains("<https://github.com/acme/app/actions/runs/42|the workflow run>"));
        assert!(
            text.contains("\"image_url\":\"https://media.example/deploying.gif\""),
            "{text}"
        );

        let mut done = request(DeployState::Succeeded);
        done.version = "latest".into();
        done.deployed_version = Some("v1.4.3".into());
        let text = shown(&root_message(&RootView {
            request: &done,
            approvals: &[],
            progress: None,
            gif: None,
        }));
        assert!(
            text.contains("Deployed v1.4.3 to prod"),
            "what latest became: {text}"
        );
        assert!(text.contains("#2ca02c"));
    }

    #[test]
    fn a_rollback_says_where_it_goes_back_to() {
        let mut rollback = request(DeployState::Approved);
        rollback.action = DeployAction::Rollback;
        rollback.version = "v1.4.1".into();
        assert_eq!(title(&rollback), "⏪ Roll back prod to v1.4.1");
    }

    #[test]
    fn the_approval_card_shows_its_buttons_only_while_it_waits() {
        let button = Button {
            label: "✅ Approve".into(),
            action_id: "deploy.approve".into(),
            value: None,
            style: None,
        };
        let firing = ["checkout-5xx <!here>".to_owned()];
        let approvers = [
            "<@U0BOB12345>".to_owned(),
            "<!subteam^S0OPS12345>".to_owned(),
        ];
        let waiting = request(DeployState::PendingApproval);
        let view = |request| ApprovalView {
            request,
            approvals: &[],
            approvers: &approvers,
            firing_alarms: &firing,
            approval_timeout: Duration::from_secs(1800),
            buttons: vec![button.clone()],
        };
        let text = shown(&approval_message(&view(&waiting)));
        assert!(
            text.contains("0 of 2 from <@U0BOB12345>, <!subteam^S0OPS12345>"),
            "{text}"
        );
        assert!(
            text.contains("One approval more than usual: 1 alarm(s) firing"),
            "{text}"
        );
        assert!(
            text.contains("checkout-5xx &lt;!here&gt;"),
            "alarm names are escaped: {text}"
        );
        assert!(
            text.contains("Expires at 14:35:09 UTC (30m after the request)"),
            "{text}"
        );
        assert!(text.contains("deploy.approve"));

        let mut rejected = request(DeployState::Rejected);
        rejected.decided_by = Some("U0CAROL123".into());
        rejected.decided_at = Some(at(1_765_030_000));
        let text = shown(&approval_message(&view(&rejected)));
        assert!(
            text.contains("Rejected by <@U0CAROL123> at 14:06:40 UTC"),
            "{text}"
        );
        assert!(!text.contains("deploy.approve"), "no buttons once decided");

        let expired = request(DeployState::Expired);
        let text = shown(&approval_message(&view(&expired)));
        assert!(
            text.contains("Expired at 14:35:09 UTC with 0 of 2 approvals"),
            "{text}"
        );
        assert!(!text.contains("deploy.approve"));
    }
}

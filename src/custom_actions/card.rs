//! What an action request shows in Slack: the approval card (the exact argv, inert, who asked,
//! the approvals, the dry run), and the result. Pure.

use std::time::SystemTime;

use super::preview::Verdict;
use crate::buttons::ActionId;
use crate::slack::message::{Accent, Block, Message, Mrkdwn};
use crate::store::actions::{ActionRequest, ActionState};

const GREEN: Accent = Accent("#2ca02c");
const RED: Accent = Accent("#d62728");
const AMBER: Accent = Accent("#e8a33d");
const GREY: Accent = Accent("#9e9e9e");

/// The argv as one line, each element quoted where a reader needs it (display only: nothing
/// is ever run through a shell).
pub fn argv_line(args: &[String]) -> String {
    let mut line = String::from("aws");
    for arg in args {
        line.push(' ');
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=@+%^*[]{}".contains(c));
        if plain {
            line.push_str(arg);
        } else {
            line.push('\'');
            line.push_str(&arg.replace('\'', r"'\''"));
            line.push('\'');
        }
    }
    line
}

/// Text inside a code block: escaped, and no fence can be closed early.
pub fn code_block(text: &str) -> Mrkdwn {
    let mut block = Mrkdwn::trusted("```\n");
    block.push_escaped(&text.replace("```", "`\u{200b}``"));
    block.push("\n```");
    block
}

/// Everything the approval card shows.
pub struct CardView<'a> {
    pub request: &'a ActionRequest,
    pub description: &'a str,
    pub approvers: &'a [String],
    /// Approver mentions (`<@U…>`, `<!subteam^S…>`).
    pub approver_mentions: &'a [String],
    pub dry_run: Option<&'a Verdict>,
}

pub fn approval_card(view: &CardView<'_>) -> Message {
    let request = view.request;
    let mut head = Mrkdwn::trusted(format!(":gear: *Action `{}`*: ", request.action));
    head.push_escaped(view.description);
    head.push(&format!(
        "\nAsked by <@{}> · runs in `{}`",
        request.requested_by, request.region
    ));
    let mut blocks = vec![
        Block::Section {
            text: head,
            fields: vec![],
        },
        Block::Section {
            text: code_block(&argv_line(&request.args)),
            fields: vec![],
        },
    ];
    if let Some(verdict) = view.dry_run {
        let (icon, text) = match verdict {
            Verdict::WouldSucceed(t) => (":white_check_mark:", t),
            Verdict::WouldFail(t) => (":no_entry:", t),
            Verdict::Unknown(t) => (":grey_question:", t),
        };
        let mut line = Mrkdwn::trusted(format!("{icon} *Dry run:* "));
        line.push_escaped(text);
        blocks.push(Block::Context(vec![line]));
    }
    let status = status_line(view);
    blocks.push(Block::Context(vec![Mrkdwn::trusted(status.clone())]));
    if request.state == ActionState::Pending {
        blocks.push(Block::Actions(vec![
            ActionId::ActionApprove.button(&request.request_id),
            ActionId::ActionReject.button(&request.request_id),
        ]));
    }
    Message {
        text: format!("Action {}: {}", request.action, state_words(request.state)),
        blocks,
        accent: Some(accent(request.state)),
        post_id: None,
        standing: Default::default(),
    }
}

fn status_line(view: &CardView<'_>) -> String {
    let request = view.request;
    let approved_by = if view.approvers.is_empty() {
        "nobody yet".to_owned()
    } else {
        view.approvers
            .iter()
            .map(|u| format!("<@{u}>"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match request.state {
        ActionState::Pending => format!(
            "*Approval needed:* {} of {} from {} · approved by {approved_by} · expires at {}",
            view.approvers.len(),
            request.approvals_needed,
            if view.approver_mentions.is_empty() {
                "the approvers".to_owned()
            } else {
                view.approver_mentions.join(", ")
            },
            clock(request.expires_at)
        ),
        _ if request.approvals_needed == 0 => {
            format!("No approval needed · {}", state_words(request.state))
        }
        ActionState::Rejected => format!(
            ":no_entry: Rejected by <@{}>",
            request.decided_by.as_deref().unwrap_or("?")
        ),
        ActionState::Expired => format!(
            ":alarm_clock: Expired at {} with {} of {} approvals",
            clock(request.expires_at),
            view.approvers.len(),
            request.approvals_needed
        ),
        state => format!(
            ":white_check_mark: Approved by {approved_by} · {}",
            state_words(state)
        ),
    }
}

pub fn state_words(state: ActionState) -> &'static str {
    match state {
        ActionState::Pending => "waiting for approval",
        ActionState::Running => "running",
        ActionState::Finished => "finished",
        ActionState::Failed => "could not run",
        ActionState::Rejected => "rejected",
        ActionState::Expired => "expired",
        ActionState::Interrupted => "interrupted by a restart (not run again)",
    }
}

fn accent(state: ActionState) -> Accent {
    match state {
        ActionState::Pending | ActionState::Running => AMBER,
        ActionState::Finished => GREEN,
        ActionState::Failed | ActionState::Interrupted => RED,
        ActionState::Rejected | ActionState::Expired => GREY,
    }
}

fn clock(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    format!("{:02}:{:02} UTC", at.hour(), at.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argv_is_shown_exactly_and_inert() {
        let args = [
            "ec2",
            "describe-tags",
            "--filters",
            "Name=key,Values=a b",
            "it's",
        ]
        .map(str::to_owned);
        assert_eq!(
            argv_line(&args),
            r"aws ec2 describe-tags --filters 'Name=key,Values=a b' 'it'\''s'"
        );
        let block = code_block("<!channel> ```x");
        assert!(block.as_str().contains("&lt;!channel&gt;"), "{block}");
        assert_eq!(block.as_str().matches("```").count(), 2, "{block}");
    }
}

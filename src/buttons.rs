//! Button identities: the `action_id`s the bot issues on its own messages, and their buttons.

use std::fmt;
use std::str::FromStr;

use crate::slack::message::{Button, ButtonStyle};

/// Every `action_id` the bot puts on a button. Round-trips through `Display`/`FromStr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionId {
    /// 👀 Watching: toggle the clicking user in the card's watchers.
    AlarmWatch,
    /// 🤖 To Bedrock Agent: AI analysis in the thread.
    AlarmToBedrock,
    /// 📝 Reporting: summarise the thread into Confluence.
    AlarmReport,
    /// ⏪ Roll back to <version>: on the card of an alarm that fired just after a deploy.
    AlarmRollback,
    /// ✅ Approve, on a deploy request's approval card.
    DeployApprove,
    /// ✖ Reject, on a deploy request's approval card.
    DeployReject,
    /// ⚙️ <action>: a custom action's button on an alarm card; its `action_id` is
    /// `action.run.<name>` (unique on the card), see [`ActionId::run_action_button`].
    ActionRun,
    /// ✅ Approve, on a custom action request's approval card.
    ActionApprove,
    /// ✖ Reject, on a custom action request's approval card.
    ActionReject,
}

/// How a custom action's button `action_id` starts; its name follows.
pub const RUN_ACTION_PREFIX: &str = "action.run.";

impl ActionId {
    pub const ALL: [ActionId; 9] = [
        ActionId::AlarmWatch,
        ActionId::AlarmToBedrock,
        ActionId::AlarmReport,
        ActionId::AlarmRollback,
        ActionId::DeployApprove,
        ActionId::DeployReject,
        ActionId::ActionRun,
        ActionId::ActionApprove,
        ActionId::ActionReject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionId::AlarmWatch => "alarm.watch",
            ActionId::AlarmToBedrock => "alarm.bedrock",
            ActionId::AlarmReport => "alarm.report",
            ActionId::AlarmRollback => "alarm.rollback",
            ActionId::DeployApprove => "deploy.approve",
            ActionId::DeployReject => "deploy.reject",
            ActionId::ActionRun => "action.run",
            ActionId::ActionApprove => "action.approve",
            ActionId::ActionReject => "action.reject",
        }
    }

    /// The button for this action, carrying `value` (an alarm's key or a request id; ≤ 2000
    /// chars, Slack's value limit). The value is only a hint: handlers find what was clicked from
    /// the message the button sits on.
    pub fn button(self, value: &str) -> Button {
        let (label, style) = match self {
            ActionId::AlarmWatch => ("👀 Watching", Some(ButtonStyle::Primary)),
            ActionId::AlarmToBedrock => ("🤖 To Bedrock Agent", None),
            ActionId::AlarmReport => ("📝 Reporting", None),
            ActionId::AlarmRollback => ("⏪ Roll back", Some(ButtonStyle::Danger)),
            ActionId::DeployApprove => ("✅ Approve", Some(ButtonStyle::Primary)),
            ActionId::DeployReject => ("✖ Reject", Some(ButtonStyle::Danger)),
            ActionId::ActionRun => ("⚙️ Run", None),
            ActionId::ActionApprove => ("✅ Approve", Some(ButtonStyle::Primary)),
            ActionId::ActionReject => ("✖ Reject", Some(ButtonStyle::Danger)),
        };
        Button {
            label: label.to_owned(),
            action_id: self.as_str().to_owned(),
            value: Some(value.chars().take(2000).collect()),
            style,
        }
    }

    /// ⏪ Roll back to `version` on the card of `alarm`.
    pub fn rollback_button(alarm: &str, version: &str) -> Button {
        let mut button = ActionId::AlarmRollback.button(alarm);
        button.label = format!(
            "⏪ Roll back to {}",
            crate::slack::blocks::truncate(version, 40)
        );
        button
    }
}

impl ActionId {
    /// ⚙️ `name` on the card of `alarm`: `action_id` `action.run.<name>`, so several actions'
    /// buttons on one card stay distinct.
    pub fn run_action_button(name: &str, alarm: &str) -> Button {
        let mut button = ActionId::ActionRun.button(alarm);
        button.label = format!("⚙️ {}", crate::slack::blocks::truncate(name, 60));
        button.action_id = format!("{RUN_ACTION_PREFIX}{name}");
        button
    }

    /// The action name a run button's `action_id` carries.
    pub fn action_name(action_id: &str) -> Option<&str> {
        action_id.strip_prefix(RUN_ACTION_PREFIX)
    }
}

/// ✅ Approve and ✖ Reject for the approval card of `request_id`.
pub fn approval_buttons(request_id: &str) -> Vec<Button> {
    vec![
        ActionId::DeployApprove.button(request_id),
        ActionId::DeployReject.button(request_id),
    ]
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `action_id` the bot did not issue (or no longer knows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAction(pub String);

impl FromStr for ActionId {
    type Err = UnknownAction;
    fn from_str(action_id: &str) -> Result<Self, Self::Err> {
        if ActionId::action_name(action_id).is_some_and(|name| !name.is_empty()) {
            return Ok(ActionId::ActionRun);
        }
        ActionId::ALL
            .into_iter()
            .find(|a| a.as_str() == action_id)
            .ok_or_else(|| UnknownAction(action_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_id_round_trips() {
        for id in ActionId::ALL {
            assert_eq!(id.to_string().parse::<ActionId>(), Ok(id));
            let button = id.button("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:HighCPU");
            assert_eq!(button.action_id.parse::<ActionId>(), Ok(id));
        }
        let run = ActionId::run_action_button("scale-web", "arn:x");
        assert_eq!(run.action_id, "action.run.scale-web");
        assert_eq!(run.action_id.parse::<ActionId>(), Ok(ActionId::ActionRun));
        assert_eq!(ActionId::action_name(&run.action_id), Some("scale-web"));
        assert_eq!(
            "alarm.nope".parse::<ActionId>(),
            Err(UnknownAction("alarm.nope".into()))
        );
    }
}

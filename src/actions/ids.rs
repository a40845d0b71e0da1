//! Button identities: `action_id` strings the bot issues, and the alarm reference carried in `value`.

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
}

impl ActionId {
    pub const ALL: [ActionId; 3] = [
        ActionId::AlarmWatch,
        ActionId::AlarmToBedrock,
        ActionId::AlarmReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionId::AlarmWatch => "alarm.watch",
            ActionId::AlarmToBedrock => "alarm.bedrock",
            ActionId::AlarmReport => "alarm.report",
        }
    }

    /// The button for this action on the card of `alarm` (its key; ≤ 2000 chars, Slack's value limit).
    pub fn button(self, alarm: &str) -> Button {
        let (label, style) = match self {
            ActionId::AlarmWatch => ("👀 Watching", Some(ButtonStyle::Primary)),
            ActionId::AlarmToBedrock => ("🤖 To Bedrock Agent", None),
            ActionId::AlarmReport => ("📝 Reporting", None),
        };
        Button {
            label: label.to_owned(),
            action_id: self.as_str().to_owned(),
            value: Some(alarm.chars().take(2000).collect()),
            style,
        }
    }
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
        assert_eq!(
            "alarm.nope".parse::<ActionId>(),
            Err(UnknownAction("alarm.nope".into()))
        );
    }
}

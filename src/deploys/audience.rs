//! Who is in the user groups an environment names (Slack's `usergroups.users.list`), and how
//! requesters and approvers are shown in messages.

use std::collections::HashSet;
use std::sync::Arc;

use super::policy::Audience;
use super::service::DeployError;
use crate::slack::messenger::Messenger;

/// Looks up user-group members through Slack (the messenger caches them briefly).
pub struct Directory {
    slack: Arc<dyn Messenger>,
}

impl Directory {
    pub fn new(slack: Arc<dyn Messenger>) -> Self {
        Self { slack }
    }

    /// Every member of `groups`; no call when there are none.
    pub async fn members(&self, groups: &[String]) -> Result<HashSet<String>, DeployError> {
        let mut members = HashSet::new();
        for group in groups {
            let users = self.slack.group_members(group).await?;
            members.extend(users.into_iter().map(|u| u.0));
        }
        Ok(members)
    }
}

/// `<@U…>`, `<!subteam^S…>`, `<#C…>`: the audience as Slack shows it.
pub fn mentions(audience: &Audience) -> Vec<String> {
    let users = audience.users.iter().map(|u| format!("<@{u}>"));
    let groups = audience.groups.iter().map(|g| format!("<!subteam^{g}>"));
    let channels = audience.channels.iter().map(|c| format!("<#{c}>"));
    users.chain(groups).chain(channels).collect()
}

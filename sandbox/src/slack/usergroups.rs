//! The fake's user groups (`usergroups.users.list`): tests name a group's members, and Slack's
//! answers for a missing argument or a group it does not know.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::slack::messages::str_param;
use crate::slack::state::Shared;
use crate::slack::timeline::lock;
use crate::slack::FakeSlack;

/// Members (user ids, in order) by user-group id (`S…`), as tests set them up.
pub(crate) type GroupDirectory = HashMap<String, Vec<String>>;

impl FakeSlack {
    /// `usergroups.users.list` of `id` answers with `members` from now on (replacing any earlier
    /// members). A group never set up is `no_such_subteam`.
    pub fn set_user_group(&self, id: &str, members: &[&str]) {
        let members = members.iter().map(|m| (*m).to_owned()).collect();
        lock(&self.shared.user_groups).insert(id.to_owned(), members);
    }
}

/// `usergroups.users.list`: `{"ok":true,"users":[…]}` for a group set up by a test;
/// `invalid_arguments` without a `usergroup`, `no_such_subteam` for any other group
/// (https://docs.slack.dev/reference/methods/usergroups.users.list).
pub(crate) fn users_list(
    shared: &Shared,
    params: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let group = str_param(params, "usergroup")
        .filter(|group| !group.is_empty())
        .ok_or("invalid_arguments")?;
    let groups = lock(&shared.user_groups);
    let members = groups.get(&group).ok_or("no_such_subteam")?;
    Ok(json!({"ok": true, "users": members}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::FakeSlackOptions;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[tokio::test]
    async fn a_group_answers_its_members_and_nothing_else_is_found() {
        let slack = FakeSlack::start(FakeSlackOptions::default()).await.unwrap();
        slack.set_user_group("S0DEPLOYERS", &["U0ANN", "U0BOB"]);
        let shared = &slack.shared;
        assert_eq!(
            users_list(shared, &params(json!({"usergroup": "S0DEPLOYERS"}))),
            Ok(json!({"ok": true, "users": ["U0ANN", "U0BOB"]}))
        );
        assert_eq!(
            users_list(shared, &params(json!({"usergroup": "S0NOBODY"}))),
            Err("no_such_subteam")
        );
        assert_eq!(
            users_list(shared, &params(json!({}))),
            Err("invalid_arguments")
        );
        assert_eq!(
            users_list(shared, &params(json!({"usergroup": ""}))),
            Err("invalid_arguments")
        );
        slack.set_user_group("S0DEPLOYERS", &[]);
        assert_eq!(
            users_list(shared, &params(json!({"usergroup": "S0DEPLOYERS"}))),
            Ok(json!({"ok": true, "users": []})),
            "set again, the group has the new members"
        );
        slack.shutdown().await;
    }
}

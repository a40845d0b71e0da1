//! `usergroups.users.list` on `SlackMessenger`: who is in a user group (deploy requesters and
//! approvers may name groups), kept for a minute so a burst of clicks costs one call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{SlackApiError, SlackMessenger};
use crate::slack::interaction::UserId;

/// How long a group's members are reused before Slack is asked again.
pub const GROUP_MEMBERS_TTL: Duration = Duration::from_secs(60);
/// Groups whose members are kept at once; past this the cache starts again empty.
const GROUP_CACHE_CAPACITY: usize = 200;

/// The part of `usergroups.users.list`'s answer the bot reads.
#[derive(serde::Deserialize)]
struct GroupUsers {
    #[serde(default)]
    users: Vec<String>,
}

/// Members by group id, each with when it was read.
#[derive(Default)]
pub(super) struct GroupCache {
    entries: Mutex<HashMap<String, (Instant, Vec<UserId>)>>,
}

impl GroupCache {
    fn get(&self, group: &str, now: Instant) -> Option<Vec<UserId>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(group)
            .filter(|(read, _)| now.duration_since(*read) < GROUP_MEMBERS_TTL)
            .map(|(_, users)| users.clone())
    }

    fn put(&self, group: &str, users: Vec<UserId>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= GROUP_CACHE_CAPACITY && !entries.contains_key(group) {
            entries.retain(|_, (read, _)| now.duration_since(*read) < GROUP_MEMBERS_TTL);
            if entries.len() >= GROUP_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(group.to_owned(), (now, users));
    }
}

impl SlackMessenger {
    pub(super) async fn group_members_call(
        &self,
        group: &str,
    ) -> Result<Vec<UserId>, SlackApiError> {
        if let Some(users) = self.groups.get(group, Instant::now()) {
            return Ok(users);
        }
        let params = vec![("usergroup", Some(group))];
        let users = self
            .call("usergroups.users.list", None, || async {
                self.session()
                    .http_session_api
                    .http_get::<GroupUsers, _, _>("usergroups.users.list", &params, None)
                    .await
                    .map(|answer| answer.users)
            })
            .await?;
        let users: Vec<UserId> = users.into_iter().map(UserId).collect();
        self.groups.put(group, users.clone(), Instant::now());
        Ok(users)
    }
}

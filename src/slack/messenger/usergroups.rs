//! `usergroups.users.list` on `SlackMessenger`: who is in a user group (deploy requesters and
//! approvers may name groups), kept for a minute so a burst of clicks costs one call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// One group's turn to ask Slack: lookups of a group that missed the cache together wait for
/// the first one's answer instead of each making a call.
type LookupTurn = Arc<tokio::sync::Mutex<()>>;

/// Members by group id, each with when it was read.
#[derive(Default)]
pub(super) struct GroupCache {
    entries: Mutex<HashMap<String, (Instant, Vec<UserId>)>>,
    /// The groups being looked up now; an entry goes when its last waiter is done.
    lookups: Mutex<HashMap<String, LookupTurn>>,
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

    /// The turn every lookup of `group` running now shares.
    fn turn(&self, group: &str) -> LookupTurn {
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        lookups.entry(group.to_owned()).or_default().clone()
    }

    /// Done with `turn`: forgotten once no other lookup holds it (clones are only taken under
    /// the same lock, so the count cannot grow meanwhile).
    fn finish(&self, group: &str, turn: LookupTurn) {
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        // Two holders left: the map and `turn`.
        if Arc::strong_count(&turn) <= 2 {
            lookups.remove(group);
        }
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
        let turn = self.groups.turn(group);
        let members = {
            let _asking = turn.lock().await;
            match self.groups.get(group, Instant::now()) {
                Some(users) => Ok(users),
                None => self.ask_group_members(group).await,
            }
        };
        self.groups.finish(group, turn);
        members
    }

    /// One `usergroups.users.list` call through `call`; its answer is cached.
    async fn ask_group_members(&self, group: &str) -> Result<Vec<UserId>, SlackApiError> {
        let params = vec![("usergroup", Some(group))];
        let users = self
            .call("usergroups.users.list", None, || async {
                self.session(&self.token())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn users(ids: &[&str]) -> Vec<UserId> {
        ids.iter().map(|id| UserId((*id).to_owned())).collect()
    }

    #[test]
    fn members_are_reused_for_the_ttl_and_not_after() {
        let cache = GroupCache::default();
        let read = Instant::now();
        cache.put("S0OPS", users(&["U0ANN", "U0BOB"]), read);
        let almost = read + GROUP_MEMBERS_TTL - Duration::from_millis(1);
        assert_eq!(cache.get("S0OPS", almost), Some(users(&["U0ANN", "U0BOB"])));
        assert_eq!(cache.get("S0OPS", read + GROUP_MEMBERS_TTL), None);
        assert_eq!(cache.get("S0OTHER", read), None, "only the group read");
    }

    #[test]
    fn a_full_cache_drops_expired_groups_first_and_everything_when_none_expired() {
        let cache = GroupCache::default();
        let start = Instant::now();
        let later = start + GROUP_MEMBERS_TTL;
        cache.put("S0OLD", users(&["U0OLD"]), start);
        for i in 1..GROUP_CACHE_CAPACITY {
            cache.put(&format!("S0NEW{i}"), users(&["U0NEW"]), later);
        }
        cache.put("S0ONE", users(&["U0ONE"]), later);
        assert_eq!(cache.get("S0NEW1", later), Some(users(&["U0NEW"])), "kept");
        assert_eq!(cache.get("S0ONE", later), Some(users(&["U0ONE"])));
        cache.put("S0TWO", users(&["U0TWO"]), later);
        assert_eq!(
            cache.get("S0NEW1", later),
            None,
            "full of live groups: emptied"
        );
        assert_eq!(cache.get("S0TWO", later), Some(users(&["U0TWO"])));
    }

    #[test]
    fn a_lookup_turn_is_shared_while_held_and_forgotten_after() {
        let cache = GroupCache::default();
        let first = cache.turn("S0OPS");
        let second = cache.turn("S0OPS");
        assert!(Arc::ptr_eq(&first, &second), "one turn per group");
        assert!(!Arc::ptr_eq(&first, &cache.turn("S0DEV")));
        cache.finish("S0OPS", first);
        assert!(
            cache.lookups.lock().unwrap().contains_key("S0OPS"),
            "still held"
        );
        cache.finish("S0OPS", second);
        assert!(!cache.lookups.lock().unwrap().contains_key("S0OPS"));
    }
}

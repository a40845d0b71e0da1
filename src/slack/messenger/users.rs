//! `users.info` on `SlackMessenger`: a user id becomes a readable name, cached (capped) for the
//! process's life.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::{SlackApiError, SlackMessenger};
use crate::slack::interaction::UserId;

/// Users whose names are kept; past this the oldest entry goes first.
pub const USER_NAME_CACHE_CAPACITY: usize = 5_000;

/// Slack's answers for a user it will not show: named by the id instead.
const NOT_FOUND_CODES: [&str; 2] = ["user_not_found", "user_not_visible"];

/// A user's readable name, and whether finding it cost a Slack call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameLookup {
    /// `profile.display_name`, else `real_name`, else `name`; the id when Slack has none.
    pub name: String,
    /// True when this answer came from a `users.info` call (false: from the cache).
    pub called_slack: bool,
}

/// The part of `users.info`'s answer the bot reads.
#[derive(serde::Deserialize)]
struct UserInfo {
    user: UserRecord,
}

#[derive(serde::Deserialize)]
struct UserRecord {
    name: Option<String>,
    real_name: Option<String>,
    profile: Option<Profile>,
}

#[derive(serde::Deserialize)]
struct Profile {
    display_name: Option<String>,
    real_name: Option<String>,
}

impl UserRecord {
    fn best_name(self) -> Option<String> {
        let profile = self.profile.unwrap_or(Profile {
            display_name: None,
            real_name: None,
        });
        [
            profile.display_name,
            self.real_name,
            profile.real_name,
            self.name,
        ]
        .into_iter()
        .flatten()
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
    }
}

/// Names by user id, at most `capacity` of them; the first one in is the first one out.
pub(super) struct UserNameCache {
    capacity: usize,
    entries: Mutex<Names>,
}

#[derive(Default)]
struct Names {
    by_id: HashMap<String, String>,
    order: VecDeque<String>,
}

impl UserNameCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::default(),
        }
    }

    fn get(&self, id: &str) -> Option<String> {
        let names = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        names.by_id.get(id).cloned()
    }

    fn put(&self, id: &str, name: &str) {
        let mut names = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if names.by_id.insert(id.to_owned(), name.to_owned()).is_none() {
            names.order.push_back(id.to_owned());
        }
        while names.order.len() > self.capacity {
            if let Some(oldest) = names.order.pop_front() {
                names.by_id.remove(&oldest);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .len()
    }
}

impl SlackMessenger {
    pub(super) async fn user_name_call(&self, user: &UserId) -> Result<NameLookup, SlackApiError> {
        if let Some(name) = self.user_names.get(&user.0) {
            return Ok(NameLookup {
                name,
                called_slack: false,
            });
        }
        let params = vec![("user", Some(user.0.as_str()))];
        let answer = self
            .call("users.info", None, || async {
                self.session(&self.token())
                    .http_session_api
                    .http_get::<UserInfo, _, _>("users.info", &params, None)
                    .await
                    .map(|info| info.user.best_name())
            })
            .await;
        let name = match answer {
            Ok(name) => name.unwrap_or_else(|| user.0.clone()),
            Err(SlackApiError::Rejected { code, .. })
                if NOT_FOUND_CODES.contains(&code.as_str()) =>
            {
                user.0.clone()
            }
            Err(e) => return Err(e),
        };
        self.user_names.put(&user.0, &name);
        Ok(NameLookup {
            name,
            called_slack: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_at_most_its_capacity_oldest_out_first() {
        let cache = UserNameCache::new(2);
        cache.put("U1", "ann");
        cache.put("U2", "bob");
        cache.put("U1", "ann again");
        assert_eq!(cache.get("U1").as_deref(), Some("ann again"));
        cache.put("U3", "cy");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("U1"), None, "the first in is the first out");
        assert_eq!(cache.get("U3").as_deref(), Some("cy"));
    }

    #[test]
    fn the_display_name_wins_then_the_real_name_then_the_handle() {
        let record = |display: Option<&str>, real: Option<&str>, name: Option<&str>| UserRecord {
            name: name.map(str::to_owned),
            real_name: real.map(str::to_owned),
            profile: Some(Profile {
                display_name: display.map(str::to_owned),
                real_name: None,
            }),
        };
        assert_eq!(
            record(Some("Ann"), Some("Ann Lee"), Some("ann")).best_name(),
            Some("Ann".into())
        );
        assert_eq!(
            record(Some(" "), Some("Ann Lee"), Some("ann")).best_name(),
            Some("Ann Lee".into())
        );
        assert_eq!(
            record(None, None, Some("ann")).best_name(),
            Some("ann".into())
        );
        assert_eq!(record(None, None, None).best_name(), None);
    }
}

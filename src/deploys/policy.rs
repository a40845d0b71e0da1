//! Who may ask for a deploy and whose approval counts: pure rules over ids, with user-group
//! membership looked up beforehand by the caller.

use std::collections::HashSet;

/// The people and places an environment's `requesters` or `approvers` name: user ids (`U…`,
/// `W…`), user-group ids (`S…`) and, for requesters, channel ids (`C…`, `G…`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audience {
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub channels: Vec<String>,
}

impl Audience {
    /// Sorts ids by their shape; anything else is ignored (config validation refuses it).
    pub fn from_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut audience = Audience::default();
        for id in ids {
            match id.chars().next() {
                Some('U' | 'W') => audience.users.push(id.to_owned()),
                Some('S') => audience.groups.push(id.to_owned()),
                Some('C' | 'G') => audience.channels.push(id.to_owned()),
                _ => {}
            }
        }
        audience
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty() && self.channels.is_empty()
    }

    /// Whether `user`, writing in `channel`, is named: directly, through a group (`members`
    /// holds the members of `groups`, as Slack listed them), or through the channel.
    fn names(&self, user: &str, channel: Option<&str>, members: &HashSet<String>) -> bool {
        self.users.iter().any(|u| u == user)
            || (!self.groups.is_empty() && members.contains(user))
            || channel.is_some_and(|c| self.channels.iter().any(|allowed| allowed == c))
    }
}

/// May `user` ask for a deploy of this environment from `channel`? An empty list lets anyone.
pub fn may_request(
    requesters: &Audience,
    user: &str,
    channel: &str,
    group_members: &HashSet<String>,
) -> bool {
    requesters.is_empty() || requesters.names(user, Some(channel), group_members)
}

/// How many approvals a request needs: the environment's own, plus one for a deploy while
/// alarms linked to the environment are firing (a rollback is never held up by them).
pub fn approvals_needed(base: u32, is_rollback: bool, firing_alarms: usize) -> u32 {
    if !is_rollback && firing_alarms > 0 {
        base + 1
    } else {
        base
    }
}

/// What one ✅ Approve click does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalVerdict {
    /// The click counts: `have` distinct approvals of `need` now.
    Counted { have: u32, need: u32 },
    /// This person has already approved; nothing changes.
    AlreadyCounted,
    /// The click does not count, for this reason (shown to the clicker only, and audited).
    Refused(Refusal),
}

/// Why an approval click does not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not among the environment's approvers.
    NotAnApprover,
    /// The requester, and `deploy.allow_self_approval` is off.
    OwnRequest,
}

impl Refusal {
    pub fn human_message(self, environment: &str) -> String {
        match self {
            Refusal::NotAnApprover => {
                format!("Only the approvers of {environment} can approve this request; your click was not counted.")
            }
            Refusal::OwnRequest => {
                "You asked for this deploy, so your approval does not count (deploy.allow_self_approval is off).".to_owned()
            }
        }
    }
}

/// The rules one approval is judged by.
pub struct ApprovalRules<'a> {
    pub approvers: &'a Audience,
    /// Members of the approvers' user groups.
    pub group_members: &'a HashSet<String>,
    pub requester: &'a str,
    pub allow_self_approval: bool,
    pub need: u32,
}

/// Judges `user`'s approval given the distinct approvers counted so far (`counted`).
pub fn judge_approval(
    rules: &ApprovalRules<'_>,
    user: &str,
    counted: &[String],
) -> ApprovalVerdict {
    if !rules.approvers.names(user, None, rules.group_members) {
        return ApprovalVerdict::Refused(Refusal::NotAnApprover);
    }
    if user == rules.requester && !rules.allow_self_approval {
        return ApprovalVerdict::Refused(Refusal::OwnRequest);
    }
    if counted.iter().any(|c| c == user) {
        return ApprovalVerdict::AlreadyCounted;
    }
    ApprovalVerdict::Counted {
        have: counted.len() as u32 + 1,
        need: rules.need,
    }
}

/// May `user` reject? The same people who may approve (the requester may always withdraw).
pub fn may_reject(rules: &ApprovalRules<'_>, user: &str) -> bool {
    user == rules.requester || rules.approvers.names(user, None, rules.group_members)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ids_are_sorted_by_shape() {
        let a = Audience::from_ids(["U1", "W2", "S3", "C4", "G5", "x"]);
        assert_eq!(a.users, ["U1", "W2"]);
        assert_eq!(a.groups, ["S3"]);
        assert_eq!(a.channels, ["C4", "G5"]);
    }

    #[test]
    fn requesters_by_user_group_or_channel_and_empty_means_anyone() {
        let none = HashSet::new();
        assert!(may_request(&Audience::default(), "U9", "C9", &none));
        let a = Audience::from_ids(["U1", "S1", "C1"]);
        assert!(may_request(&a, "U1", "C9", &none));
        assert!(
            may_request(&a, "U2", "C9", &set(&["U2"])),
            "through the group"
        );
        assert!(may_request(&a, "U3", "C1", &none), "through the channel");
        assert!(!may_request(&a, "U3", "C9", &set(&["U2"])));
    }

    #[test]
    fn firing_alarms_add_one_approval_to_deploys_not_rollbacks() {
        assert_eq!(approvals_needed(1, false, 0), 1);
        assert_eq!(approvals_needed(1, false, 3), 2);
        assert_eq!(approvals_needed(0, false, 1), 1);
        assert_eq!(approvals_needed(1, true, 3), 1);
    }

    #[test]
    fn approvals_count_approvers_once_and_never_the_requester_by_default() {
        let approvers = Audience::from_ids(["U1", "U2", "S1"]);
        let members = set(&["U5"]);
        let mut rules = ApprovalRules {
            approvers: &approvers,
            group_members: &members,
            requester: "U2",
            allow_self_approval: false,
            need: 2,
        };
        assert_eq!(
            judge_approval(&rules, "U1", &[]),
            ApprovalVerdict::Counted { have: 1, need: 2 }
        );
        assert_eq!(
            judge_approval(&rules, "U1", &["U1".into()]),
            ApprovalVerdict::AlreadyCounted
        );
        assert_eq!(
            judge_approval(&rules, "U5", &["U1".into()]),
            ApprovalVerdict::Counted { have: 2, need: 2 },
            "a member of the approvers' group"
        );
        assert_eq!(
            judge_approval(&rules, "U2", &[]),
            ApprovalVerdict::Refused(Refusal::OwnRequest)
        );
        assert_eq!(
            judge_approval(&rules, "U7", &[]),
            ApprovalVerdict::Refused(Refusal::NotAnApprover)
        );
        rules.allow_self_approval = true;
        assert_eq!(
            judge_approval(&rules, "U2", &[]),
            ApprovalVerdict::Counted { have: 1, need: 2 }
        );
        assert!(may_reject(&rules, "U2") && may_reject(&rules, "U5"));
        assert!(!may_reject(&rules, "U7"));
    }
}

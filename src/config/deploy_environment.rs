//! One `[deploy.environments.<name>]`: who may ask for a deploy there, who approves it, and the
//! alarm routes whose firing alarms make it need one approval more.

use super::table::{within, Table};

/// Longest environment name.
pub const MAX_ENVIRONMENT_NAME_CHARS: usize = 32;
/// Most approvals one environment may ask for.
pub const MAX_APPROVALS: u8 = 10;

/// Someone (or somewhere) named in `requesters` or `approvers`, checked by the shape of its id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SlackPrincipal {
    /// A user id, `U…` or `W…` (Enterprise Grid).
    User(String),
    /// A user-group id, `S…`.
    UserGroup(String),
    /// A channel id, `C…` or `G…`: anyone asking from there.
    Channel(String),
}

impl SlackPrincipal {
    /// The id as Slack writes it.
    pub fn id(&self) -> &str {
        match self {
            Self::User(id) | Self::UserGroup(id) | Self::Channel(id) => id,
        }
    }

    /// Reads an id by its first letter: `U`/`W` user, `S` user group, `C`/`G` channel; the rest
    /// upper-case letters and digits, 9 to 20 characters in all.
    pub fn parse(id: &str) -> Option<Self> {
        let well_formed = (9..=20).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !well_formed {
            return None;
        }
        match id.as_bytes()[0] {
            b'U' | b'W' => Some(Self::User(id.to_owned())),
            b'S' => Some(Self::UserGroup(id.to_owned())),
            b'C' | b'G' => Some(Self::Channel(id.to_owned())),
            _ => None,
        }
    }
}

/// `[deploy.environments.<name>]`, once read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// `requesters`: users, user groups and channels that may ask for a deploy here. Empty means
    /// anyone, in any channel the bot is in.
    pub requesters: Vec<SlackPrincipal>,
    /// `approvers`: users and user groups whose clicks count as approvals (never a channel).
    pub approvers: Vec<SlackPrincipal>,
    /// `approvals`: how many distinct approvers must approve, 0..=10. Defaults to 1 with
    /// approvers and to 0 without.
    pub approvals: u8,
    /// `alarm_routes`: names of `[[alarms.route]]` entries linked to this environment. While an
    /// alarm on one of them is in ALARM, a deploy needs one approval more (rollbacks do not).
    pub alarm_routes: Vec<String>,
}

impl EnvironmentConfig {
    /// The approver users, without the user groups.
    pub fn approver_users(&self) -> impl Iterator<Item = &str> {
        self.approvers.iter().filter_map(|approver| match approver {
            SlackPrincipal::User(id) => Some(id.as_str()),
            SlackPrincipal::UserGroup(_) | SlackPrincipal::Channel(_) => None,
        })
    }

    /// Whether any approver is a user group (whose size the config cannot know).
    pub fn has_approver_group(&self) -> bool {
        self.approvers
            .iter()
            .any(|approver| matches!(approver, SlackPrincipal::UserGroup(_)))
    }

    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let requesters = table
            .string_list("requesters", check_requester)
            .or(Vec::new());
        let approvers = table
            .string_list("approvers", check_approver)
            .or(Vec::new());
        let approvals = table.integer("approvals", within(0..=i64::from(MAX_APPROVALS)));
        let alarm_routes = table
            .string_list("alarm_routes", check_route_name)
            .or(Vec::new());
        let approvers = approvers.and_then(|approvers| without_repeats(table, approvers));
        let approvals = match (approvals.optional(), &approvers) {
            (Some(Some(approvals)), _) => Some(approvals),
            (Some(None), Some(approvers)) => Some(u8::from(!approvers.is_empty())),
            (Some(None), None) | (None, _) => None,
        };
        let approvals_possible = match (&approvers, approvals) {
            (Some(approvers), Some(approvals)) => check_approvals(table, approvers, approvals),
            _ => true,
        };
        let environment = Self {
            requesters: requesters?,
            approvers: approvers?,
            approvals: approvals?,
            alarm_routes: alarm_routes?,
        };
        approvals_possible.then_some(environment)
    }
}

/// Reports asking for more approvals than `approvers` can give.
pub(crate) fn check_approvals(
    table: &mut Table,
    approvers: &[SlackPrincipal],
    approvals: u8,
) -> bool {
    let asked = usize::from(approvals);
    if asked == 0 {
        return true;
    }
    if approvers.is_empty() {
        let message = format!(
            "{asked} approval{} asked but no approvers are listed: add approvers, or set \
             approvals = 0",
            plural(asked)
        );
        table.report("approvals", message);
        return false;
    }
    let users = approvers
        .iter()
        .filter(|approver| matches!(approver, SlackPrincipal::User(_)))
        .count();
    let has_group = approvers
        .iter()
        .any(|approver| matches!(approver, SlackPrincipal::UserGroup(_)));
    if !has_group && asked > users {
        let message = format!(
            "{asked} approval{} asked but only {users} approver{}",
            plural(asked),
            plural(users)
        );
        table.report("approvals", message);
        return false;
    }
    true
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// Whether `name` may name an environment: `[a-z0-9][a-z0-9_-]{0,31}`.
pub fn is_environment_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    first_ok
        && name.len() <= MAX_ENVIRONMENT_NAME_CHARS
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn without_repeats(
    table: &mut Table,
    approvers: Vec<SlackPrincipal>,
) -> Option<Vec<SlackPrincipal>> {
    let mut valid = true;
    for (index, approver) in approvers.iter().enumerate() {
        if let Some(first) = approvers[..index].iter().position(|seen| seen == approver) {
            let message = format!(
                "{:?} is already listed as approvers[{first}]",
                approver.id()
            );
            table.report(&format!("approvers[{index}]"), message);
            valid = false;
        }
    }
    valid.then_some(approvers)
}

fn check_requester(id: String) -> Result<SlackPrincipal, String> {
    SlackPrincipal::parse(&id).ok_or_else(|| {
        format!(
            "must be a user id (\"U0123ABCD\"), a user-group id (\"S0123ABCD\") or a channel id \
             (\"C0123ABCD\"), got {id:?}"
        )
    })
}

pub(crate) fn check_approver(id: String) -> Result<SlackPrincipal, String> {
    match SlackPrincipal::parse(&id) {
        Some(principal @ (SlackPrincipal::User(_) | SlackPrincipal::UserGroup(_))) => Ok(principal),
        Some(SlackPrincipal::Channel(_)) | None => Err(format!(
            "must be a user id (\"U0123ABCD\") or a user-group id (\"S0123ABCD\"), got {id:?}"
        )),
    }
}

fn check_route_name(name: String) -> Result<String, String> {
    if name.trim().is_empty() {
        Err("must name an [[alarms.route]] (its name), got an empty string".to_owned())
    } else {
        Ok(name)
    }
}

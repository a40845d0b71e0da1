//! One `[[alarms.route]]`: where matching notifications go, and its `[alarms.route.match]`.

use std::collections::BTreeMap;

use super::vocabulary::{compile_glob, looks_like_region_code, NotificationKind};

use super::runbook::RunbookTemplate;
use super::table::Table;

/// Most channels one route may post to.
pub const MAX_ROUTE_CHANNELS: usize = 5;
const CHANNEL_NAME_MAX_CHARS: usize = 80;

/// `[[alarms.route]]`: notifications matching `criteria` go to `channels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteConfig {
    /// `name`, for logs and problems; defaults to `route #N` (N as in `alarms.route[N]`).
    pub name: String,
    /// `channels`: 1..=5 channel ids (`C…`/`G…`) or `#names`, without repeats.
    pub channels: Vec<String>,
    /// `mention`: a user-group id (`S…`) mentioned when an alarm goes into ALARM.
    pub mention: Option<String>,
    /// `runbook`: URL template linked from the card.
    pub runbook: Option<RunbookTemplate>,
    /// `[alarms.route.match]`: every given criterion must hold.
    pub criteria: RouteMatch,
}

/// `[alarms.route.match]`. An empty match matches every notification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteMatch {
    /// `name`: a glob (`*`, `?`, `[a-z]`, `{a,b}`) on `Notification::name()`, case-sensitive;
    /// `*` also matches `/`.
    pub name: Option<String>,
    /// `account`: a 12-digit account id, equal to `Notification::account()`.
    pub account: Option<String>,
    /// `region`: a region code, equal to `Notification::region()`.
    pub region: Option<String>,
    /// `kind`: equal to `Notification::kind()`.
    pub kind: Option<NotificationKind>,
    /// `state`: equal to `Notification::state_label()`, ignoring ASCII case.
    pub state: Option<String>,
    /// `attributes`: message attributes that must be present with exactly these values.
    pub attributes: BTreeMap<String, String>,
}

impl RouteConfig {
    /// The name a route gets when the file gives none.
    pub fn default_name(index: usize) -> String {
        format!("route #{index}")
    }

    pub(crate) fn read(table: &mut Table, index: usize) -> Option<Self> {
        let name = table
            .string("name", check_route_name)
            .or(Self::default_name(index));
        let channels = table.string_list("channels", check_channel);
        let channels = match channels.optional() {
            Some(None) => {
                table.report(
                    "channels",
                    "is required: the channels (1 to 5) that matching notifications go to",
                );
                None
            }
            Some(Some(channels)) => check_channel_list(table, channels),
            None => None,
        };
        let mention = table.string("mention", check_user_group).optional();
        let runbook = table
            .string("runbook", |text| RunbookTemplate::parse(&text))
            .optional();
        let criteria = table.section("match", RouteMatch::read);
        Some(Self {
            name: name?,
            channels: channels?,
            mention: mention?,
            runbook: runbook?,
            criteria: criteria?,
        })
    }
}

impl RouteMatch {
    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let name = table.string("name", check_name_glob).optional();
        let account = table.string("account", check_account).optional();
        let region = table.string("region", check_region).optional();
        let kind = table.string("kind", parse_kind).optional();
        let state = table.string("state", check_state).optional();
        let attributes = table
            .string_map("attributes", check_attribute_value)
            .or(BTreeMap::new());
        Some(Self {
            name: name?,
            account: account?,
            region: region?,
            kind: kind?,
            state: state?,
            attributes: attributes?,
        })
    }
}

fn check_channel_list(table: &mut Table, channels: Vec<String>) -> Option<Vec<String>> {
    if channels.is_empty() || channels.len() > MAX_ROUTE_CHANNELS {
        let message = format!(
            "must list 1 to {MAX_ROUTE_CHANNELS} channels, got {}",
            channels.len()
        );
        table.report("channels", message);
        return None;
    }
    let mut valid = true;
    for (index, channel) in channels.iter().enumerate() {
        if let Some(first) = channels[..index].iter().position(|seen| seen == channel) {
            let message = format!("{channel:?} is already listed as channels[{first}]");
            table.report(&format!("channels[{index}]"), message);
            valid = false;
        }
    }
    valid.then_some(channels)
}

fn check_route_name(name: String) -> Result<String, String> {
    if name.trim().is_empty() {
        Err("must not be blank".to_owned())
    } else {
        Ok(name)
    }
}

/// Check: a Slack channel id (`C…` or `G…`, upper-case letters and digits, at least 9 long) or
/// a `#name` (lower-case letters, digits, `-` and `_`, at most 80 characters).
pub(crate) fn check_channel(channel: String) -> Result<String, String> {
    let valid = match channel.strip_prefix('#') {
        Some(name) => is_channel_name(name),
        None => is_channel_id(&channel),
    };
    if valid {
        Ok(channel)
    } else {
        Err(format!(
            "must be a channel id such as \"C0123ABCD\" or a name such as \"#alerts\", got {channel:?}"
        ))
    }
}

fn is_channel_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('C' | 'G'))
        && id.len() >= 9
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn is_channel_name(name: &str) -> bool {
    let allowed = |c: char| c == '-' || c == '_' || (c.is_alphanumeric() && !c.is_uppercase());
    let length = name.chars().count();
    (1..=CHANNEL_NAME_MAX_CHARS).contains(&length) && name.chars().all(allowed)
}

fn check_user_group(id: String) -> Result<String, String> {
    let mut chars = id.chars();
    let valid = chars.next() == Some('S')
        && id.len() >= 2
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if valid {
        Ok(id)
    } else {
        Err(format!(
            "must be a user-group id such as \"S0123ABCD\" (not a @handle), got {id:?}"
        ))
    }
}

/// Check: a non-empty glob that compiles.
fn check_name_glob(pattern: String) -> Result<String, String> {
    if pattern.is_empty() {
        return Err("must not be empty; leave it out to match every name".to_owned());
    }
    compile_glob(&pattern)
        .map(|_| pattern.clone())
        .map_err(|error| glob_problem(&pattern, &error))
}

/// The message for a glob that does not compile.
pub(crate) fn glob_problem(pattern: &str, error: &globset::Error) -> String {
    format!("not a valid glob ({}): {pattern:?}", error.kind())
}

fn check_account(account: String) -> Result<String, String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(account)
    } else {
        Err(format!(
            "must be a 12-digit AWS account id (a string, to keep leading zeros), got {account:?}"
        ))
    }
}

fn check_region(region: String) -> Result<String, String> {
    if looks_like_region_code(&region) {
        Ok(region)
    } else {
        Err(format!(
            "must be a region code such as \"eu-west-1\", got {region:?}"
        ))
    }
}

fn parse_kind(kind: String) -> Result<NotificationKind, String> {
    kind.parse().map_err(|_| {
        let known: Vec<&str> = NotificationKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind {kind:?} ({})", known.join(", "))
    })
}

fn check_state(state: String) -> Result<String, String> {
    if state.is_empty() || state.chars().any(char::is_whitespace) {
        Err(format!(
            "must be a state such as \"ALARM\" or \"FAILED\", without spaces, got {state:?}"
        ))
    } else {
        Ok(state)
    }
}

fn check_attribute_value(value: String) -> Result<String, String> {
    Ok(value)
}

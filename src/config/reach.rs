//! Routes that can never match: a glob that does not compile, criteria that contradict each
//! other, or an earlier route that matches everything the route would.
//!
//! Sound, not complete: a route is only reported when no notification can ever reach it. Each
//! criterion is checked on its own ("every name the later route admits, the earlier one admits
//! too", and so on for account, region, kind, state and attributes), which proves shadowing but
//! misses shadowing that needs several criteria together.

use globset::GlobMatcher;

use super::vocabulary::{alarm_state_name, compile_glob, NotificationKind};
use super::{AlarmsConfig, ConfigProblem, RouteConfig, RouteMatch};

/// Characters with a meaning in a glob; a pattern without any matches only itself.
const GLOB_SPECIAL: [char; 7] = ['*', '?', '[', ']', '{', '}', '\\'];
/// What globset compiles a glob into when it matches every name (its `*` crosses `/` and
/// newlines).
const MATCHES_EVERYTHING: &str = "(?-u)^.*$";

/// One problem per route of `config` that can never match, keyed `alarms.route[N]` (or
/// `alarms.route[N].match.name` for a glob that does not compile).
pub fn unreachable_routes(config: &AlarmsConfig) -> Vec<ConfigProblem> {
    unreachable_routes_among(config.routes.iter().enumerate())
}

/// As [`unreachable_routes`], over routes given with their index in the file (the config loader
/// passes only the routes that were otherwise valid).
pub(crate) fn unreachable_routes_among<'r>(
    routes: impl IntoIterator<Item = (usize, &'r RouteConfig)>,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let mut reachable: Vec<Candidate<'r>> = Vec::new();
    for (index, config) in routes {
        let key = format!("alarms.route[{index}]");
        let glob = match config
            .criteria
            .name
            .as_deref()
            .map(compile_glob)
            .transpose()
        {
            Ok(glob) => glob,
            Err(error) => {
                let pattern = config.criteria.name.as_deref().unwrap_or_default();
                let message = super::glob_problem(pattern, &error);
                problems.push(ConfigProblem::new(format!("{key}.match.name"), message));
                continue;
            }
        };
        let route = Candidate {
            index,
            config,
            glob,
        };
        if let Some(reason) = contradiction(&config.criteria) {
            problems.push(ConfigProblem::new(
                key,
                format!("can never match: {reason}"),
            ));
            continue;
        }
        if let Some(earlier) = reachable.iter().find(|earlier| earlier.covers(&route)) {
            let message = format!(
                "can never match: alarms.route[{}] ({:?}) comes first and matches everything \
                 this route would",
                earlier.index, earlier.config.name
            );
            problems.push(ConfigProblem::new(key, message));
            continue;
        }
        reachable.push(route);
    }
    problems
}

/// A route that compiled, with its place in the file.
struct Candidate<'r> {
    index: usize,
    config: &'r RouteConfig,
    glob: Option<GlobMatcher>,
}

impl Candidate<'_> {
    /// True when every notification `later` matches, `self` matches too.
    fn covers(&self, later: &Candidate<'_>) -> bool {
        let (mine, theirs) = (&self.config.criteria, &later.config.criteria);
        self.covers_names(theirs.name.as_deref())
            && covers_equal(mine.account.as_deref(), theirs.account.as_deref())
            && covers_equal(mine.region.as_deref(), theirs.region.as_deref())
            && covers_equal(mine.kind, theirs.kind)
            && match (&mine.state, &theirs.state) {
                (None, _) => true,
                (Some(mine), Some(theirs)) => mine.eq_ignore_ascii_case(theirs),
                (Some(_), None) => false,
            }
            && mine
                .attributes
                .iter()
                .all(|(name, value)| theirs.attributes.get(name) == Some(value))
    }

    /// True when every name `later` (a glob, or `None` for any name) admits, `self` admits too.
    fn covers_names(&self, later: Option<&str>) -> bool {
        let Some(glob) = &self.glob else {
            return true;
        };
        if glob.glob().regex() == MATCHES_EVERYTHING {
            return true;
        }
        let Some(later) = later else {
            return false;
        };
        let mine = glob.glob().glob();
        if mine == later || (!later.contains(GLOB_SPECIAL) && glob.is_match(later)) {
            return true;
        }
        // "payments-*" admits every name of "payments-api-*": all of those start with its prefix.
        match mine.strip_suffix('*') {
            Some(prefix) if !prefix.contains(GLOB_SPECIAL) => {
                literal_prefix(later).starts_with(prefix)
            }
            _ => false,
        }
    }
}

/// The part of a glob before its first special character: every name it matches starts so.
fn literal_prefix(pattern: &str) -> &str {
    let end = pattern.find(GLOB_SPECIAL).unwrap_or(pattern.len());
    &pattern[..end]
}

/// An earlier criterion covers a later one when it is absent or requires the same value.
fn covers_equal<T: PartialEq>(mine: Option<T>, theirs: Option<T>) -> bool {
    match (mine, theirs) {
        (None, _) => true,
        (Some(mine), Some(theirs)) => mine == theirs,
        (Some(_), None) => false,
    }
}

/// Why `criteria` can never all hold at once, judged by what `Notification::state_label()`
/// gives per kind: an alarm's state is one of the three alarm states; a pipeline event's status
/// is a CodePipeline/CodeBuild/CodeDeploy status, none of which is an alarm state; custom and
/// other notifications have no state at all. (CloudTrail states are error codes: anything goes.)
fn contradiction(criteria: &RouteMatch) -> Option<String> {
    let (kind, state) = (criteria.kind?, criteria.state.as_deref()?);
    let alarm_state = alarm_state_name(state);
    match kind {
        NotificationKind::Alarm if alarm_state.is_none() => Some(format!(
            "kind \"alarm\" has state ALARM, OK or INSUFFICIENT_DATA, never {state:?}"
        )),
        NotificationKind::Pipeline => alarm_state.map(|alarm_state| {
            format!(
                "kind \"pipeline\" has CodePipeline, CodeBuild or CodeDeploy statuses such as \
                 FAILED or SUCCEEDED, never the alarm state {}",
                alarm_state
            )
        }),
        NotificationKind::Custom | NotificationKind::Other => Some(format!(
            "kind {:?} has no state, so state {state:?} never holds",
            kind.as_str()
        )),
        NotificationKind::Alarm | NotificationKind::CloudTrail => None,
    }
}

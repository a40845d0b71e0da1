//! The `[alarms]` section: the SQS queue, thread and storm timing, and the `[[alarms.route]]`s.

use std::time::Duration;

use url::Url;

use super::reach::unreachable_routes_among;
use super::route::{check_channel, RouteConfig};
use super::table::{any_duration, nonzero, show_duration, within, Table};

/// Shortest visibility timeout: the heartbeat needs room to extend it while a message is handled.
pub const MIN_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQS's own upper limit for a visibility timeout (12 hours).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// SQS's longest long poll (WaitTimeSeconds 20), the default `receive_wait`.
pub const MAX_RECEIVE_WAIT: Duration = Duration::from_secs(20);

const DEFAULT_UNWATCHED_NUDGE: Duration = Duration::from_secs(15 * 60);

/// `[alarms]`: the alarm pipeline. It is off unless `queue_url` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmsConfig {
    /// `alarms.queue_url`: the SQS queue to long-poll. `None` turns the pipeline off.
    pub queue_url: Option<Url>,
    /// `alarms.topic_arn`: the SNS topic the alarms publish to, which the queue is subscribed
    /// to. Only `chatops-bot test-alarm` uses it: it publishes a test alarm there.
    pub topic_arn: Option<String>,
    /// `alarms.default_channel`: where notifications no route matches go. Required with
    /// `queue_url`.
    pub default_channel: Option<String>,
    /// `alarms.reopen_window`: an ALARM within this long of the OK reopens the same thread.
    pub reopen_window: Duration,
    /// `alarms.unwatched_nudge`: nudge when nobody has reacted this long; `None` (`"0s"`) is off.
    pub unwatched_nudge: Option<Duration>,
    /// `alarms.storm_threshold`: more alarms than this in one channel within `storm_window`
    /// are posted as a digest. 0..=1000; 0 turns storm control off.
    pub storm_threshold: usize,
    /// `alarms.storm_window`.
    pub storm_window: Duration,
    /// `alarms.storm_max_duration`: a digest takes new lines for at most this long; the next
    /// notification of a longer storm starts a new digest. At least `storm_window`.
    pub storm_max_duration: Duration,
    /// `alarms.pollers`: concurrent SQS receive loops, 1..=16.
    pub pollers: usize,
    /// `alarms.max_in_flight`: most messages received and not yet finished, 10..=5000. Pollers
    /// keep receiving while earlier batches wait (for a paced channel, say) up to this many.
    pub max_in_flight: usize,
    /// `alarms.receive_linger`: longest pause after a partial batch before the next receive,
    /// 0s..=1s (see `notify::receive_pace`).
    pub receive_linger: Duration,
    /// `alarms.visibility_timeout`: whole seconds, 10s..=12h.
    pub visibility_timeout: Duration,
    /// `alarms.receive_wait`: how long one long poll waits for messages, whole seconds, 1s..=20s.
    /// A stop lets running long polls return, so this also bounds the shutdown.
    pub receive_wait: Duration,
    /// `[[alarms.route]]`, in file order: the first match wins.
    pub routes: Vec<RouteConfig>,
    /// `alarms.graphs`: a metric alarm's card gets its metric graph (CloudWatch
    /// GetMetricWidgetImage) after it is shown. On by default; an AccessDenied answer turns it
    /// off until restart (see `notify::graphs`).
    pub graphs: bool,
    /// `alarms.graph_period`: the graph's period; `None`: the alarm's own period.
    pub graph_period: Option<Duration>,
    /// `alarms.graph_timeout`: the longest CloudWatch may take to draw one graph, 1s..=60s.
    pub graph_timeout: Duration,
    /// `alarms.agent_data`: with `[bedrock]` set, the agent's prompt about an alarm carries its
    /// recent datapoints, child alarms and history from CloudWatch (fetched within 2 s).
    pub agent_data: bool,
}

impl Default for AlarmsConfig {
    fn default() -> Self {
        Self {
            queue_url: None,
            topic_arn: None,
            default_channel: None,
            reopen_window: Duration::from_secs(60 * 60),
            unwatched_nudge: Some(DEFAULT_UNWATCHED_NUDGE),
            storm_threshold: 10,
            storm_window: Duration::from_secs(60),
            storm_max_duration: Duration::from_secs(30 * 60),
            pollers: 4,
            max_in_flight: 200,
            receive_linger: Duration::from_millis(10),
            visibility_timeout: Duration::from_secs(60),
            receive_wait: MAX_RECEIVE_WAIT,
            routes: Vec::new(),
            graphs: true,
            graph_period: None,
            graph_timeout: Duration::from_secs(20),
            agent_data: true,
        }
    }
}

impl AlarmsConfig {
    /// True when the pipeline runs, i.e. `queue_url` is set.
    pub fn enabled(&self) -> bool {
        self.queue_url.is_some()
    }

    pub(crate) fn read(table: &mut Table) -> Option<Self> {
        let defaults = Self::default();
        let queue_url = table.string("queue_url", parse_queue_url).optional();
        let topic_arn = table.string("topic_arn", check_topic_arn).optional();
        let default_channel = table.string("default_channel", check_channel).optional();
        if let Some((Some(_), None)) = queue_url.as_ref().zip(default_channel.as_ref()) {
            table.report(
                "default_channel",
                "is required when alarms.queue_url is set: the channel for notifications \
                 that no [[alarms.route]] matches",
            );
        }
        let reopen_window = table
            .duration("reopen_window", any_duration)
            .or(defaults.reopen_window);
        let unwatched_nudge = table
            .duration("unwatched_nudge", any_duration)
            .or(DEFAULT_UNWATCHED_NUDGE)
            .map(|nudge| Some(nudge).filter(|nudge| !nudge.is_zero()));
        let storm_threshold = table
            .integer("storm_threshold", within(0..=1000))
            .or(defaults.storm_threshold);
        let storm_window = table
            .duration("storm_window", nonzero)
            .or(defaults.storm_window);
        let storm_max_duration = table
            .duration("storm_max_duration", nonzero)
            .or(defaults.storm_max_duration);
        let storm_max_duration = match (storm_window, storm_max_duration) {
            (Some(window), Some(max)) if max < window => {
                let message = format!(
                    "must be at least alarms.storm_window ({}), got {}",
                    show_duration(window),
                    show_duration(max)
                );
                table.report("storm_max_duration", message);
                None
            }
            (_, max) => max,
        };
        let pollers = table
            .integer("pollers", within(1..=16))
            .or(defaults.pollers);
        let max_in_flight = table
            .integer("max_in_flight", within(10..=5000))
            .or(defaults.max_in_flight);
        let receive_linger = table
            .duration("receive_linger", check_receive_linger)
            .or(defaults.receive_linger);
        let visibility_timeout = table
            .duration("visibility_timeout", check_visibility_timeout)
            .or(defaults.visibility_timeout);
        let receive_wait = table
            .duration("receive_wait", check_receive_wait)
            .or(defaults.receive_wait);
        let routes = read_routes(table);
        let graphs = table.boolean("graphs").or(defaults.graphs);
        let agent_data = table.boolean("agent_data").or(defaults.agent_data);
        let graph_period = table
            .duration("graph_period", check_graph_period)
            .optional();
        let graph_timeout = table
            .duration("graph_timeout", within_duration(1..=60))
            .or(defaults.graph_timeout);
        Some(Self {
            queue_url: queue_url?,
            topic_arn: topic_arn?,
            default_channel: default_channel?,
            reopen_window: reopen_window?,
            unwatched_nudge: unwatched_nudge?,
            storm_threshold: storm_threshold?,
            storm_window: storm_window?,
            storm_max_duration: storm_max_duration?,
            pollers: pollers?,
            max_in_flight: max_in_flight?,
            receive_linger: receive_linger?,
            visibility_timeout: visibility_timeout?,
            receive_wait: receive_wait?,
            routes: routes?,
            graphs: graphs?,
            agent_data: agent_data?,
            graph_period: graph_period?,
            graph_timeout: graph_timeout?,
        })
    }
}

/// Reads every route; checks names are unique and that each valid route can match at all.
fn read_routes(table: &mut Table) -> Option<Vec<RouteConfig>> {
    let routes = table.tables("route", RouteConfig::read).or(Vec::new())?;
    let valid: Vec<(usize, &RouteConfig)> = routes
        .iter()
        .enumerate()
        .filter_map(|(index, route)| Some((index, route.as_ref()?)))
        .collect();
    let mut names_valid = true;
    for (position, (index, route)) in valid.iter().enumerate() {
        let earlier = valid[..position]
            .iter()
            .find(|(_, other)| other.name == route.name);
        if let Some((first, _)) = earlier {
            let message = format!(
                "{:?} is already the name of alarms.route[{first}]",
                route.name
            );
            table.report(&format!("route[{index}].name"), message);
            names_valid = false;
        }
    }
    table.report_all(unreachable_routes_among(valid.iter().copied()));
    let routes: Option<Vec<RouteConfig>> = routes.into_iter().collect();
    routes.filter(|_| names_valid)
}

fn parse_queue_url(raw: String) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("not a URL ({error}): {raw:?}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("must be an http or https URL, got {raw:?}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("must not have a query or fragment, got {raw:?}"));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|segments| segments.filter(|segment| !segment.is_empty()).collect())
        .unwrap_or_default();
    let shape = "https://sqs.<region>.amazonaws.com/<account id>/<queue name>";
    let is_aws = url.host_str().is_some_and(|host| {
        host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")
    });
    let well_formed = match segments.as_slice() {
        [account, _queue] if is_aws => {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
        }
        [.., _queue] => !is_aws,
        [] => false,
    };
    if well_formed {
        Ok(url)
    } else {
        Err(format!("must be a queue URL such as {shape}, got {raw:?}"))
    }
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<topic name>`.
fn check_topic_arn(raw: String) -> Result<String, String> {
    let shape = "arn:aws:sns:<region>:<account id>:<topic name>";
    let parts: Vec<&str> = raw.split(':').collect();
    let well_formed = match parts.as_slice() {
        ["arn", partition, "sns", region, account, name] => {
            partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && is_topic_name(name)
        }
        _ => false,
    };
    if well_formed {
        Ok(raw)
    } else {
        Err(format!(
            "must be an SNS topic ARN such as {shape}, got {raw:?}"
        ))
    }
}

/// 1 to 256 ASCII letters, digits, `-` and `_`, with `.fifo` allowed at the end.
fn is_topic_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    (1..=256).contains(&name.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_receive_wait(wait: Duration) -> Result<Duration, String> {
    if !(Duration::from_secs(1)..=MAX_RECEIVE_WAIT).contains(&wait) || wait.subsec_nanos() != 0 {
        return Err(format!(
            "must be whole seconds from 1s to 20s (SQS's WaitTimeSeconds), got {}",
            show_duration(wait)
        ));
    }
    Ok(wait)
}

fn check_receive_linger(linger: Duration) -> Result<Duration, String> {
    if linger > Duration::from_secs(1) {
        return Err(format!(
            "must be from 0s to 1s (it delays alarms by up to this long), got {}",
            show_duration(linger)
        ));
    }
    Ok(linger)
}

fn check_visibility_timeout(timeout: Duration) -> Result<Duration, String> {
    let range = MIN_VISIBILITY_TIMEOUT..=MAX_VISIBILITY_TIMEOUT;
    if !range.contains(&timeout) {
        return Err(format!(
            "must be between 10s and 12h (the heartbeat needs room to extend it), got {}",
            show_duration(timeout)
        ));
    }
    if timeout.subsec_nanos() != 0 {
        return Err(format!(
            "must be whole seconds (SQS counts in seconds), got {}",
            show_duration(timeout)
        ));
    }
    Ok(timeout)
}

/// A period CloudWatch graphs: 1, 5, 10, 30 or 60 seconds, or a multiple of 60 up to a day.
fn check_graph_period(period: Duration) -> Result<Duration, String> {
    let secs = period.as_secs();
    let valid = period.subsec_nanos() == 0
        && (matches!(secs, 1 | 5 | 10 | 30) || (secs % 60 == 0 && (60..=86_400).contains(&secs)));
    if valid {
        Ok(period)
    } else {
        Err(format!(
            "must be 1s, 5s, 10s, 30s or a whole number of minutes up to 1 day (a CloudWatch \
             period), got {}",
            show_duration(period)
        ))
    }
}

/// A duration from `secs.start()` to `secs.end()` seconds.
fn within_duration(
    secs: std::ops::RangeInclusive<u64>,
) -> impl Fn(Duration) -> Result<Duration, String> {
    move |duration| {
        let range = Duration::from_secs(*secs.start())..=Duration::from_secs(*secs.end());
        if range.contains(&duration) {
            Ok(duration)
        } else {
            Err(format!(
                "must be from {}s to {}s, got {}",
                secs.start(),
                secs.end(),
                show_duration(duration)
            ))
        }
    }
}

//! `chatops-bot check --live`: every configured integration probed at the same time, each under
//! its own timeout, reported as one ✓/⚠/✗ row per probe with the fix for each ✗.
//!
//! The systems' own modules speak the protocols and answer with typed outcomes
//! (`slack::preflight`, `notify::queue_health`, `integrations::*`); this module runs them side by
//! side and says what each outcome means for the operator. Nothing here changes anything: the
//! Socket Mode connection is closed right after `hello`, and the Bedrock agent is asked a question
//! only with `--invoke`, because an invocation costs money.

mod aws;
mod aws_commands;
mod graphs;
mod secrets;
mod sites;
mod slack;
mod table;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::future::join_all;

use crate::config::Config;

pub use table::render;

/// How a probe went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// ✓ It works.
    Ok,
    /// ⚠ It works, but something deserves a look; does not fail the check.
    Warn,
    /// ✗ It does not work; fails the check.
    Fail,
    /// – Not probed: the section is absent, or the probe needs a flag.
    Skipped,
}

impl Status {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Ok => "✓",
            Self::Warn => "⚠",
            Self::Fail => "✗",
            Self::Skipped => "–",
        }
    }
}

/// One row of the report: what was probed, how it went, and for a ✗ (or a ⚠) what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    pub what: String,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl ProbeResult {
    pub fn ok(what: &str, detail: impl Into<String>) -> Self {
        Self::new(what, Status::Ok, detail.into(), None)
    }

    pub fn warn(what: &str, detail: impl Into<String>, fix: Option<String>) -> Self {
        Self::new(what, Status::Warn, detail.into(), fix)
    }

    pub fn fail(what: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(what, Status::Fail, detail.into(), Some(fix.into()))
    }

    pub fn skipped(what: &str, detail: impl Into<String>) -> Self {
        Self::new(what, Status::Skipped, detail.into(), None)
    }

    /// The row of a section that is absent from the configuration.
    pub fn not_configured(what: &str, section: &str) -> Self {
        Self::skipped(what, format!("not configured ({section} is absent)"))
    }

    fn new(what: &str, status: Status, detail: String, fix: Option<String>) -> Self {
        Self {
            what: what.to_owned(),
            status,
            detail,
            fix,
        }
    }
}

/// How the probes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Ask the Bedrock agent one word (a real, billed invocation).
    pub invoke: bool,
    /// The longest one probe may take; a probe still running then is a ✗.
    pub timeout: Duration,
}

/// The default `--timeout`: generous for a slow network, short enough to wait for.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for Options {
    fn default() -> Self {
        Self {
            invoke: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Whether any row failed (the check's exit status).
pub fn failed(results: &[ProbeResult]) -> bool {
    results.iter().any(|row| row.status == Status::Fail)
}

type Probe<'a> = Pin<Box<dyn Future<Output = Vec<ProbeResult>> + Send + 'a>>;

/// Runs every probe at once and returns their rows in a fixed order (Slack, SQS, secrets,
/// Bedrock, Confluence, GitHub, AWS commands), whatever order they finished in.
pub async fn run(config: &Config, options: &Options) -> Vec<ProbeResult> {
    let limit = options.timeout;
    // A real invocation may think for a while; it has the agent's own limit.
    let invoke_limit = config
        .bedrock
        .as_ref()
        .map_or(limit, |bedrock| limit.max(bedrock.timeout));
    let probes: Vec<Probe<'_>> = vec![
        boxed(bounded(
            slack::TOKEN,
            limit,
            slack::HINT,
            slack::token(config, limit),
        )),
        boxed(bounded(
            slack::SOCKET,
            limit,
            slack::HINT,
            slack::socket(config, limit),
        )),
        boxed(bounded(aws::QUEUE, limit, aws::HINT, aws::queue(config))),
        boxed(bounded(
            graphs::GRAPHS,
            limit,
            aws::HINT,
            graphs::graphs(config, limit),
        )),
        boxed(async { secrets::probe(config) }),
        boxed(bounded(
            aws::ALIAS,
            limit,
            aws::HINT,
            aws::alias(config, limit),
        )),
        boxed(bounded(
            aws::INVOKE,
            invoke_limit,
            aws::HINT,
            aws::invoke(config, options.invoke),
        )),
        boxed(bounded(
            sites::CONFLUENCE,
            limit,
            sites::HINT,
            sites::confluence(config),
        )),
        boxed(bounded(
            sites::GITHUB,
            limit,
            sites::HINT,
            sites::github(config),
        )),
        boxed(bounded(
            aws_commands::ROLE,
            limit,
            aws::HINT,
            aws_commands::probe(config, limit),
        )),
    ];
    join_all(probes).await.into_iter().flatten().collect()
}

fn boxed<'a>(probe: impl Future<Output = Vec<ProbeResult>> + Send + 'a) -> Probe<'a> {
    Box::pin(probe)
}

/// Runs `probe`, or gives one ✗ row for `what` when it is still running after `limit`.
async fn bounded(
    what: &'static str,
    limit: Duration,
    hint: &'static str,
    probe: impl Future<Output = Vec<ProbeResult>>,
) -> Vec<ProbeResult> {
    match tokio::time::timeout(limit, probe).await {
        Ok(rows) => rows,
        Err(_) => vec![ProbeResult::fail(
            what,
            format!("no answer within {}", show_duration(limit)),
            format!("{hint}; `--timeout` waits longer"),
        )],
    }
}

/// `850 ms`, `3 s`, `1.5 s`.
pub(crate) fn show_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis % 1000 == 0 {
        format!("{} s", millis / 1000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

//! Deploys through GitHub Actions: requests, approvals, tracking and the audit trail.
//!
//! `command` is the pure half at the edge: slash-command text becomes a typed [`DeployCommand`]
//! whose [`Version`] and [`EnvName`] can only be built by validation, so no unchecked Slack text
//! reaches GitHub. `policy` decides who may ask and whose approval counts; `card` renders a
//! request's root message and approval card. `service` (with `approvals`, `runner`, `thread`,
//! `status`, `rollback`) is the flow: [`Deploys`] records a request, opens its thread, counts
//! approvals, dispatches, follows the run and audits every step. Requests, approvals and the
//! audit trail are kept by `store::deploys`; `alarm_links` is what deploys ask of the alarms.

pub mod alarm_links;
pub mod approvals;
mod audience;
pub mod card;
pub mod command;
mod outcome;
pub mod policy;
mod rollback;
mod runner;
pub mod service;
pub mod status;
pub mod suspect;
mod thread;

pub use approvals::ClickOutcome;
pub use command::{
    help_text, parse_deploy, parse_rollback, parse_status, usage, CommandError, CommandProblem,
    DeployCommand, EnvName, Version, DEFAULT_AUDIT_ENTRIES, MAX_AUDIT_ENTRIES, MAX_COMMAND_CHARS,
    MAX_VERSION_CHARS,
};
pub use service::{Ask, DeployError, Deploys};

//! Custom actions (`[[actions]]`): AWS CLI commands with `{variables}`, asked for with `@bot run`,
//! a slash command or a button on an alarm card; each value checked, the exact argv and a dry
//! run shown on an approval card, approvals counted like deploys', run once, the result posted.
//!
//! `guard` checks every action against the AWS CLI guardrails (`integrations::aws_cli`) once,
//! the `Catalog`; `values` fills a template (pure); `iam` and `preview` make and read the dry
//! run (pure); `card` and `output` are what Slack shows (pure); `service` and `approvals` are the
//! flow, over `store::actions` and the `aws_cli::AwsCli` runner.

mod approvals;
pub mod card;
pub mod guard;
pub mod iam;
pub mod output;
pub mod preview;
pub mod service;
mod sweep;
pub mod values;
pub mod wiring;

pub use guard::{Action, Catalog};
pub use service::{ActionError, Ask, CustomActions, Settings};
pub use sweep::sweep_loop;
pub use values::{AlarmValues, ValueRefusal};

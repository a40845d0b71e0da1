//! `CustomActions`: a request becomes its approval card (argv, dry run) in a thread, approvals
//! are counted like deploys', and an approved request runs once through the AWS CLI runner.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::{info, warn};

use super::card::{approval_card, CardView};
use super::guard::{command_problem, Action, Catalog};
use super::output;
use super::preview::{self, DryRun, Verdict};
use super::values::{self, AlarmValues};
use crate::aws_commands::AwsCommands;
use crate::config::SlackPrincipal;
use crate::integrations::aws_cli::{AwsCli, CliError, CliOutput, CliRun};
use crate::slack::interaction::{ChannelId, MessageTs};
use crate::slack::message::{Message, Mrkdwn};
use crate::slack::messenger::{Messenger, SlackApiError};
use crate::store::actions::{ActionRequest, ActionState, ActionStore};
use crate::store::aws_runs::{AwsRunOutcome, AwsRunRecord};
use crate::store::Blocking;

/// Reads a dry run's output.
type ReadVerdict = Box<dyn Fn(&CliOutput) -> Verdict + Send>;

/// What `CustomActions` needs besides the actions.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The role the CLI assumes, for `iam simulate-principal-policy`.
    pub role_arn: Option<String>,
    /// Where actions run when neither the action nor the alarm names a region (`aws.region`).
    pub default_region: Option<String>,
}

/// Why a request or a click did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Refused, with the reason for the person who asked (plain text).
    #[error("{0}")]
    Refused(String),
    #[error("Slack failed: {0}")]
    Slack(#[from] SlackApiError),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// One request, as asked.
pub struct Ask<'a> {
    pub name: &'a str,
    pub typed: Vec<String>,
    pub user: &'a str,
    pub channel: &'a ChannelId,
    /// The thread to work in (a card's, a mention's); `None` opens one in the channel.
    pub thread: Option<MessageTs>,
    pub alarm: Option<AlarmValues>,
}

pub struct CustomActions {
    pub(super) catalog: Catalog,
    /// The runner and the audit trail `@bot aws` uses too.
    pub(super) aws: Arc<AwsCommands>,
    pub(super) cli: Arc<dyn AwsCli>,
    pub(super) store: Blocking<dyn ActionStore>,
    pub(super) slack: Arc<dyn Messenger>,
    pub(super) settings: Settings,
}

impl CustomActions {
    pub fn new(
        catalog: Catalog,
        aws: Arc<AwsCommands>,
        store: Blocking<dyn ActionStore>,
        slack: Arc<dyn Messenger>,
        settings: Settings,
    ) -> Self {
        Self {
            catalog,
            cli: aws.cli().clone(),
            aws,
            store,
            slack,
            settings,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Checks every value, records the request and opens its card; with no approval needed it
    /// runs at once. Returns what the asker is told.
    pub async fn request(&self, ask: Ask<'_>) -> Result<String, ActionError> {
        let Some(action) = self.catalog.get(ask.name) else {
            return Err(ActionError::Refused(format!(
                "There is no action named {:?}; `run` alone lists them.",
                ask.name
            )));
        };
        let filled = match values::fill(action, ask.alarm.as_ref(), &ask.typed) {
            Ok(filled) => filled,
            Err(e) => {
                let typed = std::iter::once(ask.name.to_owned()).chain(ask.typed.iter().cloned());
                self.refused(&ask, typed.collect(), "bad_value", &e.to_string())
                    .await;
                return Err(ActionError::Refused(format!("Nothing was run: {e}.")));
            }
        };
        let command = match command_problem(&filled) {
            Ok(command) => command,
            Err(problem) => {
                self.refused(&ask, filled, problem.kind(), &problem.to_string())
                    .await;
                return Err(ActionError::Refused(format!("Nothing was run: {problem}.")));
            }
        };
        let args = command.argv();
        let region = command
            .region()
            .map(str::to_owned)
            .or_else(|| action.config.region.clone())
            .or_else(|| ask.alarm.as_ref().and_then(|a| a.region.clone()))
            .or_else(|| self.settings.default_region.clone())
            .ok_or_else(|| {
                ActionError::Refused(
                    "Nothing was run: no region (set the action's region or aws.region).".into(),
                )
            })?;
        let thread = match ask.thread {
            Some(thread) => thread,
            None => {
                let mut text = Mrkdwn::trusted(format!(
                    ":gear: <@{}> asked to run `{}`: ",
                    ask.user, action.config.name
                ));
                text.push_escaped(&action.config.description);
                self.slack
                    .post(ask.channel, None, &Message::markdown(text))
                    .await?
            }
        };
        let now = SystemTime::now();
        let state = if action.approvals == 0 {
            ActionState::Running
        } else {
            ActionState::Pending
        };
        let request = ActionRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            action: action.config.name.clone(),
            args,
            region,
            requested_by: ask.user.to_owned(),
            channel: ask.channel.0.clone(),
            thread_ts: thread.0.clone(),
            card_ts: None,
            approvals_needed: action.approvals,
            state,
            created_at: now,
            expires_at: now + action.config.approval_timeout,
            decided_by: None,
            exit_code: None,
        };
        let record = request.clone();
        self.store
            .run(move |s| s.create_action_request(&record))
            .await?;
        info!(action = %request.action, request = %request.request_id, user = ask.user, args = ?request.args, approvals = action.approvals, "Action requested.");
        let dry_run = if action.approvals > 0 {
            Some(self.dry_run(&request).await)
        } else {
            None
        };
        let card = self.card(&request, action, &[], dry_run.as_ref());
        let card_ts = self.slack.post(ask.channel, Some(&thread), &card).await?;
        let (id, ts) = (request.request_id.clone(), card_ts.0.clone());
        self.store.run(move |s| s.set_action_card(&id, &ts)).await?;
        let mut request = request;
        request.card_ts = Some(card_ts.0);
        if action.approvals == 0 {
            self.execute(request, dry_run).await?;
            return Ok(format!(
                "`{}` ran; its result is in the thread.",
                action.config.name
            ));
        }
        Ok(format!(
            "`{}` waits for {} approval(s) in the thread.",
            action.config.name, action.approvals
        ))
    }

    /// Audits a refusal (one row, one log line) with the action's name.
    async fn refused(&self, ask: &Ask<'_>, argv: Vec<String>, kind: &str, reason: &str) {
        info!(
            action = ask.name,
            user = ask.user,
            reason,
            "Action refused before it ran."
        );
        self.aws
            .record(AwsRunRecord {
                at: SystemTime::now(),
                user: ask.user.to_owned(),
                channel: ask.channel.0.clone(),
                argv: argv
                    .into_iter()
                    .map(|a| a.chars().take(200).collect())
                    .collect(),
                region: None,
                action: Some(ask.name.to_owned()),
                outcome: AwsRunOutcome::Refused {
                    kind: kind.to_owned(),
                    reason: reason.to_owned(),
                },
            })
            .await;
    }

    /// Runs `run` for `request` and audits it (the action's name on the row).
    async fn run_audited(
        &self,
        request: &ActionRequest,
        run: &CliRun,
    ) -> Result<CliOutput, CliError> {
        let started = std::time::Instant::now();
        let outcome = self.cli.run(run).await;
        let audited = match &outcome {
            Ok(output) => AwsRunOutcome::Exited {
                exit_code: output.exit_code,
                duration: output.duration,
            },
            Err(e) => AwsRunOutcome::Failed {
                kind: e.kind().to_owned(),
                duration: started.elapsed(),
            },
        };
        self.aws
            .record(AwsRunRecord {
                at: SystemTime::now(),
                user: request.requested_by.clone(),
                channel: request.channel.clone(),
                argv: run.args.clone(),
                region: Some(run.region.clone()),
                action: Some(request.action.clone()),
                outcome: audited,
            })
            .await;
        outcome
    }

    /// The dry run's verdict for `request`; a failure to run it is a verdict too.
    async fn dry_run(&self, request: &ActionRequest) -> Verdict {
        let (args, read): (Vec<String>, ReadVerdict) =
            match preview::plan(&request.args, self.settings.role_arn.as_deref()) {
                DryRun::Ec2(args) => (args, Box::new(preview::read_ec2)),
                DryRun::Simulate { args, action } => (
                    args,
                    Box::new(move |o| preview::read_simulation(o, &action)),
                ),
                DryRun::Unavailable(reason) => return Verdict::Unknown(reason),
            };
        let run = CliRun {
            args,
            region: request.region.clone(),
            user: request.requested_by.clone(),
        };
        match self.run_audited(request, &run).await {
            Ok(output) => read(&output),
            Err(e) => Verdict::Unknown(format!("the dry run could not run: {e}")),
        }
    }

    /// The approval card of `request` as it stands.
    pub(super) fn card(
        &self,
        request: &ActionRequest,
        action: &Action,
        approvers: &[String],
        dry_run: Option<&Verdict>,
    ) -> Message {
        let mentions: Vec<String> = action
            .config
            .approvers
            .iter()
            .map(|p| match p {
                SlackPrincipal::UserGroup(id) => format!("<!subteam^{id}>"),
                other => format!("<@{}>", other.id()),
            })
            .collect();
        approval_card(&CardView {
            request,
            description: &action.config.description,
            approvers,
            approver_mentions: &mentions,
            dry_run,
        })
    }

    /// Runs a request already moved to `Running` (by this caller alone), posts the result in
    /// its thread and records how it ended.
    pub(super) async fn execute(
        &self,
        mut request: ActionRequest,
        dry_run: Option<Verdict>,
    ) -> Result<(), ActionError> {
        let run = CliRun {
            args: request.args.clone(),
            region: request.region.clone(),
            user: request.requested_by.clone(),
        };
        let outcome = self.run_audited(&request, &run).await;
        let (state, exit_code) = match &outcome {
            Ok(output) => (ActionState::Finished, output.exit_code),
            Err(_) => (ActionState::Failed, None),
        };
        match &outcome {
            Ok(o) => {
                info!(action = %request.action, request = %request.request_id, exit_code = ?o.exit_code, duration = ?o.duration, "Action ran.")
            }
            Err(e) => {
                warn!(action = %request.action, request = %request.request_id, error = %e, "Action could not run.")
            }
        }
        let id = request.request_id.clone();
        let at = SystemTime::now();
        self.store
            .run(move |s| {
                s.action_transition(&id, ActionState::Running, state, None, exit_code, at)
            })
            .await?;
        request.state = state;
        request.exit_code = exit_code;
        let channel = ChannelId(request.channel.clone());
        let thread = MessageTs(request.thread_ts.clone());
        output::post_result(&*self.slack, &channel, &thread, &request, &outcome).await?;
        self.refresh_card(&request, dry_run.as_ref()).await;
        Ok(())
    }

    /// Redraws the request's card (its state, approvals, buttons gone once decided).
    pub(super) async fn refresh_card(&self, request: &ActionRequest, dry_run: Option<&Verdict>) {
        let (Some(card_ts), Some(action)) = (&request.card_ts, self.catalog.get(&request.action))
        else {
            return;
        };
        let id = request.request_id.clone();
        let approvers = match self.store.run(move |s| s.action_approvers(&id)).await {
            Ok(approvers) => approvers,
            Err(e) => {
                warn!(request = %request.request_id, error = format!("{e:#}"), "Failed to read an action's approvals; its card is not redrawn.");
                return;
            }
        };
        let card = self.card(request, action, &approvers, dry_run);
        let (channel, ts) = (
            ChannelId(request.channel.clone()),
            MessageTs(card_ts.clone()),
        );
        if let Err(e) = self.slack.update(&channel, &ts, &card).await {
            warn!(request = %request.request_id, error = %e, "Failed to redraw an action's approval card.");
        }
    }
}

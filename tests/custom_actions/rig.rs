//! The custom actions tests' rig: the bot in-process with the alarm pipeline (fake SQS), the
//! fake Slack, the fake STS and a fake `aws` executable (a script that records each argv and
//! answers dry runs, policy simulations and runs); helpers to ask, click and read threads.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use chatops_bot::store::aws_runs::{AwsRunLog, AwsRunRecord};
use chatops_bot::store::SqliteStore;
use chatops_sandbox::slack::{envelopes, StoredMessage, Target};
use chatops_sandbox::sts::FakeSts;

use crate::support::alarm_sandbox::{shown, AlarmSandbox, CHANNEL};
use crate::support::eventually;

pub const SECOND: Duration = Duration::from_secs(1);
pub const ALICE: &str = "U0ALICE001";
pub const BOB: &str = "U0BOB00001";
pub const CAROL: &str = "U0CAROL001";
pub const MALLORY: &str = "U0MALLORY1";
const ROLE: &str = "arn:aws:iam::123456789012:role/chatops-actions";

/// The fake `aws`: one line per run (its argv, space-joined) in `RECORDS/runs`, then an answer.
const FAKE_AWS: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "RECORDS/runs"
case "$*" in
  *--dry-run*)
    echo "An error occurred (DryRunOperation) when calling the RebootInstances operation: Request would have succeeded, but DryRun flag is set." >&2
    exit 254 ;;
esac
case "$1 $2" in
  "iam simulate-principal-policy")
    printf '{"EvaluationResults": [{"EvalActionName": "autoscaling:SetDesiredCapacity", "EvalDecision": "allowed"}]}\n' ;;
  "ec2 describe-images")
    head -c 5000 /dev/zero | tr '\0' 'x'; echo ;;
  "autoscaling describe-auto-scaling-groups")
    printf '{"AutoScalingGroups": [{"AutoScalingGroupName": "web-asg <!channel>", "DesiredCapacity": 2}]}\n' ;;
  *)
    printf '{"Done": true}\n' ;;
esac
"#;

/// Three actions: `reboot-instance` (a button on `web-*` alarm cards, the alarm's
/// `InstanceId`, one approval by Bob), `scale-web` (`@bot run scale-web <count>`, a slash
/// command, one approval by Bob or Carol) and `list-groups` (read-only: no approval).
pub fn actions_toml() -> String {
    format!(
        r#"
[[actions]]
name = "reboot-instance"
description = "Reboot the alarm's instance"
command = ["aws", "ec2", "reboot-instances", "--instance-ids", "{{alarm.dimensions.InstanceId}}"]
approvers = ["{BOB}"]
[actions.match]
name = "web-*"

[[actions]]
name = "scale-web"
description = "Set the web group's desired capacity"
command = ["aws", "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "web-asg", "--desired-capacity", "{{args.count}}"]
args = ["count"]
approvers = ["{BOB}", "{CAROL}"]
slash = true
[actions.variables.count]
pattern = "[1-9]|1[0-9]|20"

[[actions]]
name = "list-groups"
description = "List the auto scaling groups"
command = ["aws", "autoscaling", "describe-auto-scaling-groups"]

[[actions]]
name = "images"
description = "List the images (a long answer)"
command = ["aws", "ec2", "describe-images"]
"#
    )
}

pub struct Rig {
    pub alarms: AlarmSandbox,
    pub sts: FakeSts,
    records: PathBuf,
    _scripts: tempfile::TempDir,
}

impl Rig {
    pub async fn start() -> Rig {
        Self::start_in(tempfile::tempdir().unwrap()).await
    }

    /// Starts the bot on a store in `dir` (`bot.db`), which a test may have written first.
    pub async fn start_in(dir: tempfile::TempDir) -> Rig {
        let sts = FakeSts::start().await.unwrap();
        let scripts = tempfile::tempdir().unwrap();
        let records = scripts.path().join("records");
        std::fs::create_dir(&records).unwrap();
        let script = scripts.path().join("aws");
        let text = FAKE_AWS.replace("RECORDS", &records.display().to_string());
        std::fs::write(&script, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let extra = format!(
            r#"
[aws.endpoints]
sts = "{sts}"

[aws_commands]
role_arn = "{ROLE}"
cli = "{cli}"
timeout = "5s"
{actions}"#,
            sts = sts.endpoint_url(),
            cli = script.display(),
            actions = actions_toml(),
        );
        let alarms = AlarmSandbox::start_in(dir, &extra, &[]).await;
        Rig {
            alarms,
            sts,
            records,
            _scripts: scripts,
        }
    }

    /// Restarts the bot on the same store and fakes.
    pub async fn restart(self) -> Rig {
        let Rig {
            alarms,
            sts,
            records,
            _scripts,
        } = self;
        Rig {
            alarms: alarms.restart().await,
            sts,
            records,
            _scripts,
        }
    }

    /// Every argv the fake `aws` ran, in order.
    pub fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(self.records.join("runs"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Mentions the bot in `CHANNEL` with `text`.
    pub async fn mention(&self, text: &str, user: &str) {
        let mention = envelopes::app_mention(CHANNEL, user, &format!("<@U0BOT> {text}"));
        self.alarms.slack.send(Target::Any, mention).await.unwrap();
    }

    /// Types `/platform-<command> <text>` as `user` in `CHANNEL`.
    pub async fn slash(&self, command: &str, text: &str, user: &str) {
        let envelope =
            envelopes::slash_command(&format!("/platform-{command}"), text, CHANNEL, user);
        self.alarms.slack.send(Target::Any, envelope).await.unwrap();
    }

    /// Clicks `action_id` as `user` on the message `ts`.
    pub async fn click(&self, ts: &str, action_id: &str, user: &str) {
        let envelope = envelopes::block_actions(CHANNEL, user, ts, action_id, "ignored");
        self.alarms.slack.send(Target::Any, envelope).await.unwrap();
    }

    /// Every message the bot posted in `CHANNEL`, threads included.
    pub fn messages(&self) -> Vec<StoredMessage> {
        self.alarms.slack.messages(CHANNEL)
    }

    /// Waits for a message showing every one of `texts`; returns it.
    pub async fn shows(&self, texts: &[&str]) -> StoredMessage {
        let find = || {
            self.messages()
                .into_iter()
                .find(|m| texts.iter().all(|t| shown(m).contains(t)))
        };
        eventually(15 * SECOND, &format!("a message showing {texts:?}"), || {
            find().is_some()
        })
        .await;
        find().unwrap()
    }

    /// Whatever only one user was told: ephemeral posts and `response_url` answers.
    pub fn answers(&self) -> Vec<String> {
        let slack = &self.alarms.slack;
        let mut answers: Vec<String> = slack
            .calls_to("hooks")
            .into_iter()
            .map(|c| c.params.to_string())
            .collect();
        answers.extend(
            slack
                .calls_to("chat.postEphemeral")
                .into_iter()
                .map(|c| c.params.to_string()),
        );
        answers
    }

    /// Waits for an answer to one user containing `text`.
    pub async fn answered(&self, text: &str) -> String {
        eventually(10 * SECOND, &format!("an answer with {text:?}"), || {
            self.answers().iter().any(|a| a.contains(text))
        })
        .await;
        self.answers()
            .into_iter()
            .find(|a| a.contains(text))
            .unwrap()
    }

    /// The audit trail, newest first.
    pub async fn audit(&self) -> Vec<AwsRunRecord> {
        let path = self.alarms.bot.dir.path().join("bot.db");
        chatops_bot::store::unblock(move || SqliteStore::open(&path)?.recent_aws_runs(100))
            .await
            .unwrap()
    }
}

/// The `action_id`s of a message's buttons (in its blocks or its attachments' blocks).
pub fn buttons(m: &StoredMessage) -> Vec<String> {
    fn walk(value: &serde_json::Value, ids: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(id) = map.get("action_id").and_then(|v| v.as_str()) {
                    ids.push(id.to_owned());
                }
                map.values().for_each(|v| walk(v, ids));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, ids)),
            _ => {}
        }
    }
    let mut ids = Vec::new();
    for part in [&m.blocks, &m.attachments].into_iter().flatten() {
        walk(part, &mut ids);
    }
    ids
}

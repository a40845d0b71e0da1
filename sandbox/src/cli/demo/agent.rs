//! The demo's agent part: 🤖 To Bedrock Agent on the card, the answer streamed into its thread,
//! and a follow-up question answered in the same agent session.

use std::time::Duration;

use anyhow::Context;

use super::{indent, Transcript, ALARM_ARN, ALERTS, WAIT};
use crate::bedrock::{AgentScript, FakeBedrock};
use crate::slack::{envelopes, Target};

/// The fake agent's first answer, streamed in pieces as a real agent with
/// `streamFinalResponse` would.
const ANALYSIS: &str = "## Likely causes\n\n\
    1. **The 13:50 deploy** of `checkout-api`: 5xx started three minutes after it.\n\
    2. A slow payment provider: timeouts surface as 502/504 at the load balancer.\n\n\
    ## Check first\n\n\
    - Target group health and `TargetResponseTime` for the checkout targets.\n\
    - The deploy's error logs: `aws logs tail /ecs/checkout-api --since 20m`.\n\n\
    ## Mitigate\n\n\
    Roll back the 13:50 deploy if its targets are the ones failing.";

const FOLLOW_UP: &str = "Yes, most likely: the errors come only from targets of the new task \
    definition. Rolling back should clear them within two minutes.";

/// `[bedrock]` for the demo's bot, pointed at the fake, for `backend`: the model by default
/// (it needs nothing but a model id); the other two are one line away.
pub(super) fn config(agent: &FakeBedrock, backend: &str) -> String {
    let keys = match backend {
        "agent" => "agent_id = \"DEMOAGENT1\"\nagent_alias_id = \"TSTALIASID\"\n",
        "agentcore" => {
            "backend = \"agentcore\"\nagent_runtime_arn = \
             \"arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/demo_agent-AbC123\"\n"
        }
        _ => "backend = \"model\"\nmodel_id = \"eu.anthropic.claude-3-5-haiku-20241022-v1:0\"\n",
    };
    format!(
        "\n[bedrock]\n{keys}endpoint_url = \"{}\"\n",
        agent.endpoint_url()
    )
}

pub(super) async fn scenario(
    t: &mut Transcript<'_>,
    agent: &FakeBedrock,
    root: &str,
) -> anyhow::Result<()> {
    let fake = t.fake;
    agent.push_script(AgentScript::answer_in_pieces(
        ANALYSIS,
        12,
        Duration::from_millis(250),
    ));
    t.say("carol", "presses 🤖 To Bedrock Agent");
    fake.send(
        Target::Any,
        envelopes::block_actions(ALERTS, "U0CAROL", root, "alarm.bedrock", ALARM_ARN),
    )
    .await?;
    let start = fake
        .wait_for_call("chat.startStream", |c| c.ok(), WAIT)
        .await?;
    let stream_ts = start.response["ts"].as_str().unwrap_or_default().to_owned();
    t.say(
        "bot",
        &format!(
            "opens a stream in the card's thread at once:\n{}",
            indent(start.param_str("markdown_text").unwrap_or_default())
        ),
    );
    let done = |c: &crate::slack::ApiCall| {
        c.ok()
            && c.param_str("ts") == Some(stream_ts.as_str())
            && c.params.to_string().contains("Roll back the 13:50 deploy")
    };
    fake.wait_for_call("chat.update", done, WAIT).await?;
    let appends = fake.calls_to("chat.appendStream").len();
    t.say(
        "bot",
        &format!(
            "streamed the agent's answer as it was written ({appends} appends for 12 pieces), then \
             stopped the stream and showed the final text:\n{}",
            indent(&final_text(t, root))
        ),
    );

    agent.push_script(AgentScript::answer_in_pieces(
        FOLLOW_UP,
        4,
        Duration::from_millis(100),
    ));
    t.say(
        "carol",
        "@ChatOps Bot was it the deploy?   (in the card's thread)",
    );
    fake.send(
        Target::Any,
        envelopes::app_mention_in_thread(ALERTS, "U0CAROL", "<@U0BOT> was it the deploy?", root),
    )
    .await?;
    fake.wait_for_call(
        "chat.update",
        |c| {
            c.ok()
                && c.params
                    .to_string()
                    .contains("Rolling back should clear them")
        },
        WAIT,
    )
    .await?;
    let asked = agent.invocations();
    let same = asked.len() == 2 && asked[0].session_id == asked[1].session_id;
    anyhow::ensure!(
        same,
        "the follow-up did not continue the session: {asked:?}"
    );
    // A model keeps no session: the bot sends the thread's earlier turn along.
    let history = match asked[1].messages.len() {
        0 => String::new(),
        n => format!(", {} earlier message(s) sent along", n - 1),
    };
    t.say(
        "bot",
        &format!(
            "answers in the same session ({}{history}):\n{}",
            asked[1].session_id,
            indent(&final_text(t, root))
        ),
    );
    Ok(())
}

/// The last reply in the thread as a user sees it.
fn final_text(t: &Transcript<'_>, root: &str) -> String {
    t.fake
        .thread_texts(ALERTS, root)
        .last()
        .cloned()
        .context("no reply in the thread")
        .unwrap_or_else(|e| e.to_string())
}

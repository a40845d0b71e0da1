//! 🤖 To Bedrock Agent and `@bot <question>`, end to end: the real bot in-process against the fake
//! Slack (Socket Mode, Web API, streams), the fake SQS (the alarm card) and the fake Bedrock,
//! which the real SDK clients drive. Every scenario runs against each backend
//! (`each_backend!`): an agent, an AgentCore runtime (streamed and whole) and a model.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use chatops_bot::integrations::bedrock::SessionId;
use chatops_bot::store::answers::{AnswerLog, AnswerRecord};
use chatops_bot::store::{unblock, SqliteStore};
use chatops_sandbox::bedrock::{AgentScript, FakeBedrock, StreamStep};
use chatops_sandbox::slack::{envelopes, Target};
use support::alarm_sandbox::{AlarmSandbox, CHANNEL};
use support::backends::BackendKind;
use support::*;

const SECOND: Duration = Duration::from_secs(1);
const FIRED: &str = "2026-11-23T13:53:39.351+0000";
const ARN_PREFIX: &str = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:";

struct Rig {
    s: AlarmSandbox,
    agent: FakeBedrock,
    /// Cards posted so far.
    cards: usize,
    /// Answers awaited so far, by thread.
    answers: HashMap<String, usize>,
}

impl Rig {
    /// The bot with alarm cards and `[bedrock]` (plus `bedrock_toml`) on a fresh fake agent.
    async fn start(kind: BackendKind, bedrock_toml: &str) -> Rig {
        let agent = FakeBedrock::start().await.unwrap();
        kind.prepare(&agent);
        let extra = format!(
            "unwatched_nudge = \"0s\"\n\n[bedrock]\n{}endpoint_url = \"{}\"\n{bedrock_toml}",
            kind.toml(),
            agent.endpoint_url()
        );
        let s = AlarmSandbox::start(&extra, &[]).await;
        Rig {
            s,
            agent,
            cards: 0,
            answers: HashMap::new(),
        }
    }

    /// Publishes a firing alarm and returns its card's ts.
    async fn card(&mut self, name: &str) -> String {
        let card = self.s.publish_firing(name, FIRED).await;
        let ts = card.response["ts"].as_str().unwrap().to_owned();
        // Recorded too (a mention has no button value to wait on the card with).
        self.cards += 1;
        self.s
            .sqs
            .wait_for_deleted(&self.s.queue, self.cards, 10 * SECOND)
            .await
            .unwrap();
        assert!(
            card.params.to_string().contains("alarm.bedrock"),
            "the card shows the 🤖 button when [bedrock] is set"
        );
        ts
    }

    async fn click(&self, root: &str, user: &str, name: &str) {
        let value = format!("{ARN_PREFIX}{name}");
        self.s
            .slack
            .send(
                Target::Any,
                envelopes::block_actions(CHANNEL, user, root, "alarm.bedrock", &value),
            )
            .await
            .unwrap();
    }

    async fn mention_in_thread(&self, root: &str, user: &str, text: &str) {
        let text = format!("<@U0BOT> {text}");
        self.s
            .slack
            .send(
                Target::Any,
                envelopes::app_mention_in_thread(CHANNEL, user, &text, root),
            )
            .await
            .unwrap();
    }

    /// The thread's bot replies once its next answer is over: recorded in the bot's store,
    /// which happens after the final text is shown.
    async fn answered(&mut self, root: &str) -> Vec<String> {
        let want = {
            let seen = self.answers.entry(root.to_owned()).or_default();
            *seen += 1;
            *seen
        };
        for _ in 0..200 {
            if self.records(root).await.len() >= want {
                return self.s.slack.thread_texts(CHANNEL, root);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no answer {want} recorded in thread {root} within 20 s");
    }

    /// The answers the bot recorded for the thread.
    async fn records(&self, root: &str) -> Vec<AnswerRecord> {
        let path = self.s.bot.dir.path().join("bot.db");
        let root = root.to_owned();
        unblock(move || SqliteStore::open(&path)?.answers_in_thread(CHANNEL, &root))
            .await
            .unwrap()
    }

    /// Ephemeral answers to clicks (through their response_url).
    fn click_answers(&self) -> Vec<String> {
        self.s
            .slack
            .calls_to("hooks")
            .into_iter()
            .filter(|c| c.param_str("response_type") == Some("ephemeral"))
            .map(|c| c.params.to_string())
            .collect()
    }
}

const ANSWER: &str = "## Likely causes\n\n1. A **deploy** at 13:50.\n2. A slow dependency.\n\n\
    ```\naws cloudwatch get-metric-data …\n```\n\nSee [the runbook](https://wiki.example.com/cpu).";

each_backend!(
    a_click_shows_a_placeholder_then_streams_the_answer_into_the_card_thread,
    streaming
);
async fn a_click_shows_a_placeholder_then_streams_the_answer_into_the_card_thread(
    kind: BackendKind,
) {
    let mut rig = Rig::start(kind, "").await;
    rig.agent.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("## Likely causes\n\n1. A **deploy** at 13:50.\n"),
        StreamStep::WaitForRelease,
        StreamStep::chunk(&ANSWER["## Likely causes\n\n1. A **deploy** at 13:50.\n".len()..]),
    ]));
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;

    let start = rig
        .s
        .slack
        .wait_for_call("chat.startStream", |_| true, 5 * SECOND)
        .await
        .unwrap();
    let opened = start.params.to_string();
    assert!(
        opened.contains("Analyzing") && opened.contains("HighCPU"),
        "{opened}"
    );
    assert!(
        opened.contains("U0ALICE"),
        "the asker is the stream's recipient: {opened}"
    );
    // The first part is shown while the agent is still writing.
    rig.s
        .slack
        .wait_for_call(
            "chat.appendStream",
            |c| c.params.to_string().contains("deploy"),
            5 * SECOND,
        )
        .await
        .unwrap();
    rig.agent.release();
    let texts = rig.answered(&root).await;
    let last = texts.last().unwrap();
    assert!(
        last.contains("A slow dependency") && last.contains("wiki.example.com/cpu"),
        "{last}"
    );

    let asked = rig.agent.invocations();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].session_id,
        kind.session_sent(SessionId::for_thread(CHANNEL, &root).as_str())
    );
    assert!(
        asked[0].input_text.contains("HighCPU"),
        "{}",
        asked[0].input_text
    );
    assert!(
        asked[0].input_text.contains("likely causes"),
        "{}",
        asked[0].input_text
    );
    assert_eq!(asked[0].session_attributes["slack_user"], "U0ALICE");
    assert_eq!(
        asked[0].session_attributes["alarm_card_key"],
        format!("{ARN_PREFIX}HighCPU")
    );
    if kind == BackendKind::Agent {
        assert_eq!(asked[0].stream_final_response, Some(true));
    }

    let records = rig.records(&root).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].user, "U0ALICE");
    assert_eq!(
        kind.session_sent(&records[0].session_id),
        asked[0].session_id
    );
    assert_eq!(records[0].answer, ANSWER, "the answer is remembered");
    assert!(records[0].question.contains("likely causes"));
    assert_eq!(records[0].error, None);
    assert_eq!(
        records[0].alarm_key.as_deref(),
        Some(&*format!("{ARN_PREFIX}HighCPU"))
    );
}

each_backend!(with_streaming_refused_the_placeholder_is_updated_in_place);
async fn with_streaming_refused_the_placeholder_is_updated_in_place(kind: BackendKind) {
    let mut rig = Rig::start(kind, "").await;
    rig.s.slack.refuse_streaming(Some("unknown_method"));
    rig.agent.set_default_script(AgentScript::answer_in_pieces(
        ANSWER,
        6,
        100 * Duration::from_millis(1),
    ));
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;
    let texts = rig.answered(&root).await;
    assert_eq!(texts.len(), 1, "one message, updated in place: {texts:?}");
    assert!(texts[0].contains("A slow dependency"), "{}", texts[0]);
    let updates = rig.s.slack.calls_to("chat.update");
    let last = updates.last().unwrap().params.to_string();
    assert!(
        last.contains("\"type\":\"markdown\""),
        "Markdown goes in a markdown block: {last}"
    );
}

each_backend!(a_follow_up_mention_continues_the_session_and_another_thread_gets_another);
async fn a_follow_up_mention_continues_the_session_and_another_thread_gets_another(
    kind: BackendKind,
) {
    let mut rig = Rig::start(kind, "").await;
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;
    rig.answered(&root).await;
    rig.mention_in_thread(&root, "U0BOB", "was it the deploy?")
        .await;
    rig.agent
        .wait_for_invocations(2, 10 * SECOND)
        .await
        .unwrap();
    let texts = rig.answered(&root).await;
    assert_eq!(texts.len(), 2, "{texts:?}");

    let other = rig.card("DiskFull").await;
    rig.mention_in_thread(&other, "U0BOB", "how full?").await;
    rig.agent
        .wait_for_invocations(3, 10 * SECOND)
        .await
        .unwrap();
    let asked = rig.agent.invocations();
    assert_eq!(
        asked[1].session_id, asked[0].session_id,
        "same thread, same session"
    );
    assert!(
        asked[1].input_text.ends_with("was it the deploy?"),
        "{}",
        asked[1].input_text
    );
    assert!(
        asked[1].input_text.contains("HighCPU"),
        "the alarm's context comes along"
    );
    assert!(
        !asked[1].input_text.contains("<@U0BOT>"),
        "the bot's mention is removed"
    );
    assert_ne!(asked[2].session_id, asked[0].session_id);
    assert!(asked[2].input_text.contains("DiskFull"));
    if kind == BackendKind::Model {
        // A model keeps no session: the bot sends the thread's earlier turn along, and the
        // other thread starts afresh.
        let roles: Vec<&str> = asked[1].messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(asked[1].messages[0].text, asked[0].input_text);
        assert_eq!(asked[2].messages.len(), 1);
    }
}

each_backend!(a_second_click_while_answering_starts_nothing_and_says_so);
async fn a_second_click_while_answering_starts_nothing_and_says_so(kind: BackendKind) {
    let mut rig = Rig::start(kind, "").await;
    rig.agent.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("Looking…"),
        StreamStep::WaitForRelease,
        StreamStep::chunk(" done."),
    ]));
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;
    rig.agent.wait_for_invocations(1, 5 * SECOND).await.unwrap();
    rig.click(&root, "U0BOB", "HighCPU").await;
    eventually(5 * SECOND, "Bob is told an answer is in progress", || {
        rig.click_answers()
            .iter()
            .any(|e| e.contains("still answering in this thread"))
    })
    .await;
    rig.agent.release();
    rig.answered(&root).await;
    assert_eq!(rig.agent.invocations().len(), 1, "one invocation");
}

each_backend!(the_hourly_limit_per_user_refuses_clearly);
async fn the_hourly_limit_per_user_refuses_clearly(kind: BackendKind) {
    let mut rig = Rig::start(kind, "per_user_per_hour = 1\n").await;
    let first = rig.card("HighCPU").await;
    rig.click(&first, "U0ALICE", "HighCPU").await;
    rig.answered(&first).await;
    let second = rig.card("DiskFull").await;
    rig.click(&second, "U0ALICE", "DiskFull").await;
    eventually(5 * SECOND, "Alice is told about the limit", || {
        rig.click_answers()
            .iter()
            .any(|e| e.contains("1 times in the last hour"))
    })
    .await;
    assert_eq!(rig.agent.invocations().len(), 1);
    assert!(rig.s.slack.thread_texts(CHANNEL, &second).is_empty());
}

each_backend!(a_throttled_call_is_retried_and_the_answer_arrives);
async fn a_throttled_call_is_retried_and_the_answer_arrives(kind: BackendKind) {
    let mut rig = Rig::start(kind, "").await;
    rig.agent.push_script(AgentScript::exception(
        "throttlingException",
        "Rate exceeded",
    ));
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;
    let texts = rig.answered(&root).await;
    assert!(texts.last().unwrap().contains("Likely causes"), "{texts:?}");
    assert_eq!(rig.agent.invocations().len(), 2);
}

each_backend!(a_stalled_stream_ends_with_a_clear_message_within_the_idle_timeout);
async fn a_stalled_stream_ends_with_a_clear_message_within_the_idle_timeout(kind: BackendKind) {
    let mut rig = Rig::start(kind, "idle_timeout = \"1s\"\ntimeout = \"30s\"\n").await;
    rig.agent.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("First thoughts"),
        StreamStep::Stall,
    ]));
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;
    let started = tokio::time::Instant::now();
    let texts = rig.answered(&root).await;
    let last = texts.last().unwrap();
    if kind.streams() {
        assert!(
            last.contains("First thoughts"),
            "what arrived stays: {last}"
        );
    }
    assert!(last.contains("the agent sent nothing for 1 s"), "{last}");
    assert!(started.elapsed() < 15 * SECOND, "{:?}", started.elapsed());
}

each_backend!(a_missing_agent_or_denied_access_is_said_plainly_in_the_thread);
async fn a_missing_agent_or_denied_access_is_said_plainly_in_the_thread(kind: BackendKind) {
    let mut rig = Rig::start(kind, "").await;
    rig.agent.push_script(AgentScript::http_error(
        404,
        "ResourceNotFoundException",
        "Failed to retrieve resource because it doesn't exist.",
    ));
    rig.agent.push_script(AgentScript::http_error(
        403,
        "AccessDeniedException",
        "User is not authorized to perform bedrock:InvokeAgent",
    ));
    let first = rig.card("HighCPU").await;
    rig.click(&first, "U0ALICE", "HighCPU").await;
    let texts = rig.answered(&first).await;
    assert!(
        texts[0].contains(&format!("{} not found in eu-west-1", kind.described())),
        "{texts:?}"
    );
    let second = rig.card("DiskFull").await;
    rig.click(&second, "U0ALICE", "DiskFull").await;
    let texts = rig.answered(&second).await;
    assert!(
        texts[0].contains("access denied") && texts[0].contains(kind.action()),
        "{texts:?}"
    );
}

each_backend!(a_long_answer_arrives_whole_and_a_hostile_one_stays_inert);
async fn a_long_answer_arrives_whole_and_a_hostile_one_stays_inert(kind: BackendKind) {
    let mut rig = Rig::start(kind, "").await;
    let paragraph = "The CPU climbed after the deploy; check the new release's hot paths. ";
    let long: String = (0..20_000 / paragraph.len() + 1)
        .map(|i| format!("{i}: {paragraph}\n\n"))
        .collect();
    rig.agent
        .push_script(AgentScript::answer_in_pieces(&long, 60, Duration::ZERO));
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;
    let texts = rig.answered(&root).await;
    let shown = texts.join("\n");
    for i in 0..20_000 / paragraph.len() + 1 {
        assert!(
            shown.contains(&format!("{i}: The CPU")),
            "paragraph {i} is missing from {} messages of {:?} chars",
            texts.len(),
            texts.iter().map(|t| t.chars().count()).collect::<Vec<_>>()
        );
    }
    assert!(texts.len() >= 2, "over Slack's size: several messages");

    rig.agent.push_script(AgentScript::answer_in_pieces(
        "Ping <!channel> and <!here>, tell <@U0BOSS>, see <https://evil.example|the runbook>.",
        7,
        Duration::ZERO,
    ));
    let other = rig.card("DiskFull").await;
    rig.click(&other, "U0ALICE", "DiskFull").await;
    let texts = rig.answered(&other).await;
    let shown = texts.join("\n");
    for hostile in [
        "<!channel>",
        "<!here>",
        "<@U0BOSS>",
        "<https://evil.example|",
    ] {
        assert!(!shown.contains(hostile), "{hostile} is live in {shown}");
    }
    let sent: String = rig
        .s
        .slack
        .calls()
        .iter()
        .filter(|c| c.method.starts_with("chat."))
        .map(|c| c.params.to_string())
        .collect();
    assert!(!sent.contains("<!channel>") && !sent.contains("<@U0BOSS>"));
}

each_backend!(past_max_concurrent_a_question_waits_its_turn_and_is_told_its_place);
async fn past_max_concurrent_a_question_waits_its_turn_and_is_told_its_place(kind: BackendKind) {
    let mut rig = Rig::start(kind, "max_concurrent = 1\n").await;
    rig.agent.push_script(AgentScript::Stream(vec![
        StreamStep::chunk("First answer."),
        StreamStep::WaitForRelease,
    ]));
    let first = rig.card("HighCPU").await;
    let second = rig.card("DiskFull").await;
    rig.click(&first, "U0ALICE", "HighCPU").await;
    rig.agent.wait_for_invocations(1, 5 * SECOND).await.unwrap();
    rig.click(&second, "U0BOB", "DiskFull").await;
    eventually(5 * SECOND, "Bob is told he is queued", || {
        rig.click_answers()
            .iter()
            .any(|e| e.contains("queued (next in line)"))
    })
    .await;
    tokio::time::sleep(SECOND).await;
    assert_eq!(
        rig.agent.invocations().len(),
        1,
        "the second waits for the first"
    );
    rig.agent.release();
    rig.answered(&first).await;
    let texts = rig.answered(&second).await;
    assert!(texts.last().unwrap().contains("Likely causes"), "{texts:?}");
    assert_eq!(rig.agent.invocations().len(), 2);
}

each_backend!(an_answer_cut_short_by_a_stop_says_so_instead_of_analyzing_for_ever);
async fn an_answer_cut_short_by_a_stop_says_so_instead_of_analyzing_for_ever(kind: BackendKind) {
    let mut rig = Rig::start(kind, "").await;
    rig.agent.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("Halfway through"),
        StreamStep::WaitForRelease,
    ]));
    let root = rig.card("HighCPU").await;
    rig.click(&root, "U0ALICE", "HighCPU").await;
    rig.agent.wait_for_invocations(1, 5 * SECOND).await.unwrap();
    tokio::time::sleep(SECOND).await;
    let Rig { s, .. } = rig;
    s.bot.stop().await.unwrap();
    let texts = s.slack.thread_texts(CHANNEL, &root);
    let last = texts.last().unwrap();
    if kind.streams() {
        assert!(last.contains("Halfway through"), "{last}");
    }
    assert!(
        last.contains("bot restarted before the agent finished"),
        "{last}"
    );
    assert!(!last.contains("Analyzing"), "{last}");
}

each_backend!(a_mention_outside_a_card_thread_starts_a_session_for_its_own_thread);
async fn a_mention_outside_a_card_thread_starts_a_session_for_its_own_thread(kind: BackendKind) {
    let mut rig = Rig::start(kind, "").await;
    let sent = rig
        .s
        .slack
        .send(
            Target::Any,
            envelopes::app_mention(CHANNEL, "U0ALICE", "<@U0BOT> what does p99 mean?"),
        )
        .await
        .unwrap();
    let asked = rig
        .agent
        .wait_for_invocations(1, 10 * SECOND)
        .await
        .unwrap();
    let mention_ts = sent
        .envelope
        .json()
        .and_then(|e| e.pointer("/payload/event/ts"))
        .and_then(|ts| ts.as_str())
        .unwrap()
        .to_owned();
    assert_eq!(
        asked[0].input_text, "what does p99 mean?",
        "no alarm context here"
    );
    assert_eq!(
        asked[0].session_id,
        kind.session_sent(SessionId::for_thread(CHANNEL, &mention_ts).as_str())
    );
    assert!(!asked[0].session_attributes.contains_key("alarm_card_key"));
    let texts = rig.answered(&mention_ts).await;
    assert!(
        texts.last().unwrap().contains("Likely causes"),
        "answered in the mention's thread: {texts:?}"
    );
}

each_backend!(a_question_still_queued_at_a_stop_is_told_so_in_its_thread);
async fn a_question_still_queued_at_a_stop_is_told_so_in_its_thread(kind: BackendKind) {
    let mut rig = Rig::start(kind, "max_concurrent = 1\n").await;
    rig.agent.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("Working on it"),
        StreamStep::WaitForRelease,
    ]));
    let first = rig.card("HighCPU").await;
    let second = rig.card("DiskFull").await;
    rig.click(&first, "U0ALICE", "HighCPU").await;
    rig.agent.wait_for_invocations(1, 5 * SECOND).await.unwrap();
    rig.click(&second, "U0BOB", "DiskFull").await;
    eventually(5 * SECOND, "Bob is queued", || {
        rig.click_answers().iter().any(|e| e.contains("queued"))
    })
    .await;
    let Rig { s, agent, .. } = rig;
    s.bot.stop().await.unwrap();
    assert_eq!(
        agent.invocations().len(),
        1,
        "the queued question never reached the agent"
    );
    let texts = s.slack.thread_texts(CHANNEL, &second);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains("restarted before your question reached the agent"),
        "{texts:?}"
    );
}

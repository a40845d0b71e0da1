//! What is particular to each backend, against the fake Bedrock over loopback: the model's
//! system prompt, inference settings, guardrail and request metadata; the conversation it keeps
//! per thread and the history budget; ConverseStream's exception events; AgentCore's payload,
//! session ids and qualifier, and its streamed and whole answers showing the same.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chatops_bot::config::{Backend, Guardrail, ModelBackend, Temperature};
use chatops_bot::integrations::bedrock::{
    Agent, AgentError, AgentRequest, AlarmContext, SessionId, MIN_RUNTIME_SESSION_ID_LEN,
};
use chatops_bot::store::SqliteStore;
use chatops_sandbox::bedrock::{AgentScript, FakeBedrock, RuntimeResponse, StreamStep};
use support::backends::{ask, bedrock_config, connect_to, BackendKind, MODEL_ID};

fn model(fake: &FakeBedrock, tweak: impl FnOnce(&mut ModelBackend)) -> Arc<dyn Agent> {
    let Backend::Model(mut settings) = BackendKind::Model.config() else {
        unreachable!("the model kind has a model config");
    };
    tweak(&mut settings);
    let config = bedrock_config(
        Backend::Model(settings),
        fake,
        Duration::from_secs(15),
        Duration::from_secs(10),
    );
    connect_to(&config, Arc::new(SqliteStore::in_memory().unwrap()))
}

fn runtime(fake: &FakeBedrock, response: RuntimeResponse) -> Arc<dyn Agent> {
    fake.set_runtime_response(response);
    let config = bedrock_config(
        BackendKind::AgentCoreSse.config(),
        fake,
        Duration::from_secs(15),
        Duration::from_secs(10),
    );
    connect_to(&config, Arc::new(SqliteStore::in_memory().unwrap()))
}

fn request(thread: &str, text: &str) -> AgentRequest {
    AgentRequest {
        session_id: SessionId::for_thread("C0OPS", thread),
        input_text: text.to_owned(),
        session_attributes: BTreeMap::from([("slack_user".to_owned(), "U0ALICE".to_owned())]),
        alarm: None,
    }
}

#[tokio::test]
async fn the_model_gets_the_system_prompt_settings_guardrail_and_metadata() {
    let fake = FakeBedrock::start().await.unwrap();
    let agent = model(&fake, |m| {
        m.system_prompt = "You are terse.".into();
        m.max_tokens = 300;
        m.temperature = Some(Temperature(0.5));
        m.guardrail = Some(Guardrail {
            id: "gr-abc".into(),
            version: "3".into(),
        });
    });
    let (outcome, _) = ask(&agent, request("1.1", "why?")).await;
    outcome.expect("answered");
    let asked = &fake.invocations()[0];
    assert_eq!(asked.model_id.as_deref(), Some(MODEL_ID));
    assert_eq!(asked.system_prompt.as_deref(), Some("You are terse."));
    let inference = asked.inference_config.as_ref().unwrap();
    assert_eq!(inference["maxTokens"], 300);
    assert_eq!(inference["temperature"], 0.5);
    assert_eq!(asked.guardrail, Some(("gr-abc".into(), "3".into())));
    assert_eq!(
        asked.session_id,
        SessionId::for_thread("C0OPS", "1.1").as_str()
    );
    assert_eq!(asked.session_attributes["slack_user"], "U0ALICE");
}

#[tokio::test]
async fn follow_ups_carry_earlier_turns_within_the_budget_oldest_dropped_first() {
    let fake = FakeBedrock::start().await.unwrap();
    // Each turn is 10 + 10 characters; 50 keeps the last two.
    let agent = model(&fake, |m| m.history_max_chars = 50);
    let mut sent = Vec::new();
    for n in 1..=4 {
        let answer = format!("answer-{n:03}");
        fake.push_script(AgentScript::answer_in_pieces(&answer, 2, Duration::ZERO));
        let question = format!("questn-{n:03}");
        let (outcome, _) = ask(&agent, request("7.7", &question)).await;
        assert_eq!(outcome.expect("answered").text, answer);
        sent.push(question);
    }
    // A failed answer is not kept: the next question sees the same history.
    fake.push_script(AgentScript::http_error(
        500,
        "InternalServerException",
        "boom",
    ));
    let (outcome, _) = ask(&agent, request("7.7", "questn-005")).await;
    outcome.expect_err("a 500");
    let (outcome, _) = ask(&agent, request("7.7", "questn-006")).await;
    outcome.expect("answered");
    // Another thread starts afresh.
    let (outcome, _) = ask(&agent, request("8.8", "elsewhere")).await;
    outcome.expect("answered");

    let asked = fake.invocations();
    let turns = |i: usize| -> Vec<(String, String)> {
        asked[i]
            .messages
            .iter()
            .map(|m| (m.role.clone(), m.text.clone()))
            .collect()
    };
    let pair = |n: u32| {
        [
            ("user".to_owned(), format!("questn-{n:03}")),
            ("assistant".to_owned(), format!("answer-{n:03}")),
        ]
    };
    assert_eq!(turns(0), [("user".to_owned(), "questn-001".to_owned())]);
    assert_eq!(turns(1)[..2], pair(1));
    // The fourth question: turns 2 and 3 fit, turn 1 (the oldest) is dropped.
    let fourth = turns(3);
    assert_eq!(fourth.len(), 5, "{fourth:?}");
    assert_eq!(fourth[..2], pair(2));
    assert_eq!(fourth[2..4], pair(3));
    assert_eq!(fourth[4], ("user".to_owned(), "questn-004".to_owned()));
    // After the failure (call 5): turns 3 and 4, then the sixth question.
    let sixth = turns(5);
    assert_eq!(sixth[..2], pair(3));
    assert_eq!(sixth[2..4], pair(4));
    assert_eq!(sixth[4].1, "questn-006");
    assert_eq!(turns(6), [("user".to_owned(), "elsewhere".to_owned())]);
    for call in &asked {
        let roles: Vec<&str> = call.messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles.first(), Some(&"user"));
        assert!(roles.windows(2).all(|pair| pair[0] != pair[1]), "{roles:?}");
    }
}

#[tokio::test]
async fn converse_stream_exception_events_become_the_usual_messages() {
    let fake = FakeBedrock::start().await.unwrap();
    let agent = model(&fake, |_| ());
    fake.push_script(AgentScript::Stream(vec![
        StreamStep::chunk("Part one"),
        StreamStep::exception("throttlingException", "Too many tokens"),
    ]));
    fake.push_script(AgentScript::exception(
        "validationException",
        "Malformed input request",
    ));
    fake.push_script(AgentScript::Stream(vec![
        StreamStep::chunk("Half"),
        StreamStep::exception("modelStreamErrorException", "The model stopped"),
    ]));
    fake.push_script(AgentScript::http_error(
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ));
    let expected = [
        "the agent was throttled in the middle of the answer; the text above is incomplete, \
         ask again in a minute",
        "the agent refused the request: Malformed input request",
        "the agent failed: modelStreamErrorException: The model stopped",
    ];
    for message in expected {
        let (outcome, _) = ask(&agent, request("2.2", "why?")).await;
        assert_eq!(outcome.expect_err(message).human_message(), message);
    }
    let (outcome, _) = ask(&agent, request("2.2", "why?")).await;
    let error = outcome.expect_err("not enabled");
    assert!(
        matches!(error, AgentError::ModelNotEnabled { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.human_message(),
        format!(
            "model {MODEL_ID} is not enabled in us-east-1: enable model access (Bedrock \
             console → Model access)"
        )
    );
    assert_eq!(fake.invocations().len(), 4, "none of these is retried");
}

#[tokio::test]
async fn an_agentcore_answer_shows_the_same_streamed_or_whole() {
    let script = AgentScript::answer_in_pieces(
        "## Causes\n\n1. A deploy — 数据库 🙂\n2. \"Quoted\" text\nand a data: line",
        5,
        Duration::from_millis(5),
    );
    let mut answers = Vec::new();
    for response in [
        RuntimeResponse::EventStream,
        RuntimeResponse::WholeJson,
        RuntimeResponse::FrameworkEvents,
    ] {
        let fake = FakeBedrock::start().await.unwrap();
        fake.set_default_script(script.clone());
        let agent = runtime(&fake, response);
        let (outcome, pieces) = ask(&agent, request("3.3", "why?")).await;
        let answer = outcome.expect("answered");
        assert_eq!(pieces.concat(), answer.text);
        let expected_pieces = if response == RuntimeResponse::WholeJson {
            1
        } else {
            5
        };
        assert_eq!(pieces.len(), expected_pieces, "{response:?}: {pieces:?}");
        answers.push(answer.text);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0], answers[2],
        "each piece once, the final message not repeated"
    );
    assert!(answers[0].ends_with("and a data: line"), "{}", answers[0]);
}

#[tokio::test]
async fn agentcore_gets_a_json_payload_a_valid_session_and_the_qualifier() {
    let fake = FakeBedrock::start().await.unwrap();
    let agent = runtime(&fake, RuntimeResponse::EventStream);
    let mut card = request(
        "1712345678.000100",
        "CloudWatch alarm context: …\n\nQuestion: why?",
    );
    card.alarm = Some(AlarmContext {
        name: "HighCPU".into(),
        state: "ALARM".into(),
        threshold: Some("80".into()),
        ..AlarmContext::default()
    });
    // A session id too short for AgentCore (the fake refuses those, as the service does).
    let short = AgentRequest {
        session_id: SessionId::parse("s1").unwrap(),
        ..request("x", "ping")
    };
    for sent in [card.clone(), short.clone()] {
        let (outcome, _) = ask(&agent, sent).await;
        outcome.expect("answered");
    }
    let asked = fake.invocations();
    assert_eq!(asked[0].qualifier.as_deref(), Some("live"));
    let payload = asked[0].payload.as_ref().unwrap();
    assert_eq!(payload["prompt"], card.input_text.as_str());
    assert_eq!(payload["alarm"]["name"], "HighCPU");
    assert_eq!(payload["alarm"]["threshold"], "80");
    assert_eq!(payload["attributes"]["slack_user"], "U0ALICE");
    assert!(
        payload.get("alarm").is_some() && asked[1].payload.as_ref().unwrap().get("alarm").is_none()
    );
    for (call, sent) in asked.iter().zip([&card, &short]) {
        assert_eq!(call.session_id, sent.session_id.runtime_session_id());
        assert!(
            call.session_id.len() >= MIN_RUNTIME_SESSION_ID_LEN,
            "{}",
            call.session_id
        );
    }
    // The same thread is the same runtime session.
    let (outcome, _) = ask(&agent, card).await;
    outcome.expect("answered");
    assert_eq!(fake.invocations()[2].session_id, asked[0].session_id);
}

#[tokio::test]
async fn each_backends_calls_are_timed_under_its_own_operation() {
    use chatops_bot::telemetry::instrumented::Instrumented;
    use chatops_bot::telemetry::metrics::{Metrics, System};

    for (kind, operation) in [
        (BackendKind::Agent, "invoke_agent"),
        (BackendKind::AgentCoreSse, "invoke_agent_runtime"),
        (BackendKind::Model, "converse_stream"),
    ] {
        let fake = FakeBedrock::start().await.unwrap();
        kind.prepare(&fake);
        let config = bedrock_config(
            kind.config(),
            &fake,
            Duration::from_secs(15),
            Duration::from_secs(10),
        );
        let metrics = Metrics::default();
        let inner = connect_to(&config, Arc::new(SqliteStore::in_memory().unwrap()));
        let agent: Arc<dyn Agent> =
            Arc::new(Instrumented::new(inner, metrics.integrations.clone()));
        ask(&agent, request("4.4", "why?"))
            .await
            .0
            .expect("answered");
        let series = format!(
            "chatops_integration_request_seconds_count{{system=\"bedrock\",operation=\"{operation}\"}} 1"
        );
        let text = metrics.encode();
        assert!(
            text.lines().any(|l| l == series),
            "{kind:?}: {series} in\n{text}"
        );
        assert_eq!(metrics.integrations.errors(System::Bedrock, operation), 0);
    }
}

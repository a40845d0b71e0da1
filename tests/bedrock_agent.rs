//! The three backends (the real aws-sdk-bedrockagentruntime, aws-sdk-bedrockagentcore and
//! aws-sdk-bedrockruntime clients) against the sandbox's fake Bedrock over loopback:
//! streaming, retries on throttling, limits, errors and citations. Every scenario runs against
//! each backend (`each_backend!`); the AgentCore runtime both streamed (SSE) and whole (JSON).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chatops_bot::integrations::bedrock::{Agent, AgentError, AgentRequest, Citation, SessionId};
use chatops_bot::store::SqliteStore;
use chatops_sandbox::bedrock::{AgentScript, FakeBedrock, FakeCitation, StreamStep};
use support::backends::{ask, bedrock_config, connect_to, BackendKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Generous limit on any wait of the test itself.
const WAIT: Duration = Duration::from_secs(20);

fn agent_with(
    kind: BackendKind,
    fake: &FakeBedrock,
    timeout: Duration,
    idle_timeout: Duration,
) -> Arc<dyn Agent> {
    kind.prepare(fake);
    let config = bedrock_config(kind.config(), fake, timeout, idle_timeout);
    connect_to(&config, Arc::new(SqliteStore::in_memory().unwrap()))
}

fn agent(kind: BackendKind, fake: &FakeBedrock) -> Arc<dyn Agent> {
    agent_with(kind, fake, Duration::from_secs(15), Duration::from_secs(10))
}

fn request(question: &str) -> AgentRequest {
    AgentRequest {
        session_id: SessionId::for_thread("C0ALARMS", "1712345678.000100"),
        input_text: question.to_owned(),
        session_attributes: BTreeMap::from([
            (
                "card_key".to_owned(),
                "alarm:123456789012:eu-west-1:cpu-high".to_owned(),
            ),
            ("channel".to_owned(), "C0ALARMS".to_owned()),
            ("slack_user".to_owned(), "U0ENGINEER".to_owned()),
        ]),
        alarm: None,
    }
}

each_backend!(
    pieces_arrive_while_the_answer_is_still_being_written,
    streaming
);
async fn pieces_arrive_while_the_answer_is_still_being_written(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("## Likely causes\n"),
        StreamStep::Trace("looking at the metric".into()),
        StreamStep::chunk("1. A traffic spike.\n"),
        StreamStep::WaitForRelease,
        StreamStep::chunk("2. A slow database."),
    ]));
    let agent = agent(kind, &fake);
    let (pieces_tx, mut pieces_rx) = mpsc::unbounded_channel();
    let asking = tokio::spawn(async move { agent.ask(request("why?"), pieces_tx).await });
    let first = tokio::time::timeout(WAIT, pieces_rx.recv()).await.unwrap();
    let second = tokio::time::timeout(WAIT, pieces_rx.recv()).await.unwrap();
    assert_eq!(first.as_deref(), Some("## Likely causes\n"));
    assert_eq!(second.as_deref(), Some("1. A traffic spike.\n"));
    assert!(
        !asking.is_finished(),
        "the fake holds the last chunk back, so the answer cannot have ended"
    );
    fake.release();
    let answer = tokio::time::timeout(WAIT, asking)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let last = pieces_rx.recv().await;
    assert_eq!(last.as_deref(), Some("2. A slow database."));
    assert_eq!(
        answer.text,
        "## Likely causes\n1. A traffic spike.\n2. A slow database."
    );
    assert_eq!(answer.attempts, 1);
    assert_eq!(answer.session_id, request("").session_id);
    let _ = kind;
}

each_backend!(the_request_arrives_as_sent_with_streaming_asked_for);
async fn the_request_arrives_as_sent_with_streaming_asked_for(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    let agent = agent(kind, &fake);
    let sent = request("CloudWatch alarm context:\n- Alarm name: cpu-high\n\nQuestion: why?");
    let (outcome, _) = ask(&agent, sent.clone()).await;
    outcome.expect("the default script answers");
    let asked = fake.invocations();
    assert_eq!(asked.len(), 1);
    let asked = &asked[0];
    assert_eq!(asked.api, kind.api());
    assert_eq!(
        asked.session_id,
        kind.session_sent(sent.session_id.as_str())
    );
    assert_eq!(asked.input_text, sent.input_text);
    assert_eq!(asked.session_attributes, sent.session_attributes);
    match kind {
        BackendKind::Agent => {
            assert_eq!(asked.agent_id, "AGENT1");
            assert_eq!(asked.agent_alias_id, "TSTALIASID");
            assert_eq!(asked.stream_final_response, Some(true));
        }
        BackendKind::AgentCoreSse | BackendKind::AgentCoreJson => {
            assert_eq!(
                asked.runtime_arn.as_deref(),
                Some(support::backends::RUNTIME_ARN)
            );
            assert_eq!(asked.qualifier.as_deref(), Some("live"));
            let payload = asked.payload.as_ref().expect("a JSON payload");
            assert_eq!(payload["prompt"], sent.input_text.as_str());
            assert_eq!(payload["session_id"], sent.session_id.as_str());
        }
        BackendKind::Model => {
            assert_eq!(asked.model_id.as_deref(), Some(support::backends::MODEL_ID));
            assert_eq!(
                asked.system_prompt.as_deref(),
                Some(chatops_bot::config::DEFAULT_SYSTEM_PROMPT)
            );
            assert_eq!(asked.messages.len(), 1, "a first question has no history");
            assert_eq!(asked.messages[0].role, "user");
            assert_eq!(asked.inference_config.as_ref().unwrap()["maxTokens"], 2048);
            assert_eq!(asked.guardrail, None);
        }
    }
}

each_backend!(throttling_before_any_text_is_retried_until_it_succeeds);
async fn throttling_before_any_text_is_retried_until_it_succeeds(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.push_script(AgentScript::http_error(
        429,
        "ThrottlingException",
        "Rate exceeded",
    ));
    fake.push_script(AgentScript::exception(
        "throttlingException",
        "Too many requests",
    ));
    fake.set_default_script(AgentScript::answer_in_pieces(
        "All good now.",
        3,
        Duration::ZERO,
    ));
    let (outcome, pieces) = ask(&agent(kind, &fake), request("why?")).await;
    let answer = outcome.expect("the third call answers");
    assert_eq!(answer.text, "All good now.");
    assert_eq!(pieces.concat(), "All good now.");
    assert_eq!(answer.attempts, 3);
    let asked = fake.invocations();
    assert_eq!(asked.len(), 3, "one call per attempt");
    assert!(asked
        .iter()
        .all(|call| call.session_id == asked[0].session_id));
}

each_backend!(throttling_that_never_ends_gives_up_after_the_last_attempt);
async fn throttling_that_never_ends_gives_up_after_the_last_attempt(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.set_default_script(AgentScript::http_error(
        429,
        "ThrottlingException",
        "Rate exceeded",
    ));
    let (outcome, _) = ask(&agent(kind, &fake), request("why?")).await;
    let error = outcome.expect_err("always throttled");
    assert!(
        matches!(
            error,
            AgentError::Throttled {
                attempts: 5,
                after_text: false
            }
        ),
        "{error:?}"
    );
    assert_eq!(fake.invocations().len(), 5);
    assert!(error.human_message().contains("throttled"), "{error}");
}

each_backend!(
    throttling_after_text_fails_clearly_instead_of_repeating_the_text,
    streaming
);
async fn throttling_after_text_fails_clearly_instead_of_repeating_the_text(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.push_script(AgentScript::Stream(vec![
        StreamStep::chunk("The first half"),
        StreamStep::exception("throttlingException", "Too many requests"),
    ]));
    let (outcome, pieces) = ask(&agent(kind, &fake), request("why?")).await;
    let error = outcome.expect_err("throttled mid-answer");
    assert!(
        matches!(
            error,
            AgentError::Throttled {
                after_text: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(pieces, ["The first half"]);
    assert_eq!(
        fake.invocations().len(),
        1,
        "not retried: the text would repeat"
    );
    assert!(error.human_message().contains("incomplete"), "{error}");
}

each_backend!(
    a_stalled_stream_ends_as_stalled_after_the_idle_timeout,
    streaming
);
async fn a_stalled_stream_ends_as_stalled_after_the_idle_timeout(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("Thinking"),
        StreamStep::Stall,
    ]));
    let idle = Duration::from_millis(300);
    let agent = agent_with(kind, &fake, Duration::from_secs(30), idle);
    let started = Instant::now();
    let (outcome, pieces) = ask(&agent, request("why?")).await;
    let error = outcome.expect_err("the stream stalls");
    assert!(matches!(error, AgentError::Stalled { .. }), "{error:?}");
    assert_eq!(error.human_message(), "the agent sent nothing for 300 ms");
    assert_eq!(pieces, ["Thinking"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "ended by the idle timeout, far before the overall one"
    );
}

each_backend!(
    an_answer_longer_than_the_overall_timeout_is_cut_as_timed_out,
    streaming
);
async fn an_answer_longer_than_the_overall_timeout_is_cut_as_timed_out(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    // Every gap (100 ms) is well inside idle_timeout; only the whole is too long.
    fake.set_default_script(AgentScript::answer_in_pieces(
        &"word ".repeat(100),
        100,
        Duration::from_millis(100),
    ));
    let agent = agent_with(
        kind,
        &fake,
        Duration::from_millis(800),
        Duration::from_millis(500),
    );
    let (outcome, pieces) = ask(&agent, request("why?")).await;
    let error = outcome.expect_err("too slow overall");
    assert!(matches!(error, AgentError::TimedOut { .. }), "{error:?}");
    assert_eq!(
        error.human_message(),
        "the agent did not finish within 800 ms"
    );
    assert!(
        !pieces.is_empty() && pieces.len() < 100,
        "{} pieces",
        pieces.len()
    );
}

each_backend!(access_denied_names_the_permission_and_the_resource);
async fn access_denied_names_the_permission_and_the_resource(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    let named = kind.resource("123456789012");
    fake.push_script(AgentScript::http_error(
        403,
        "AccessDeniedException",
        &format!(
            "User: arn:aws:sts::123456789012:assumed-role/chatops-bot/i-1 is not authorized to \
             perform: {action} on resource: {named} because no identity-based policy allows \
             the {action} action",
            action = kind.action()
        ),
    ));
    fake.push_script(AgentScript::exception(
        "accessDeniedException",
        "Access denied",
    ));
    let agent = agent(kind, &fake);
    let (outcome, _) = ask(&agent, request("why?")).await;
    let error = outcome.expect_err("denied over HTTP");
    assert!(
        matches!(error, AgentError::AccessDenied { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.human_message(),
        format!(
            "access denied: the bot's role needs {} on {named}",
            kind.action()
        )
    );
    let (outcome, _) = ask(&agent, request("why?")).await;
    let error = outcome.expect_err("denied in the stream (or before it, where the API says so)");
    assert_eq!(
        error.human_message(),
        format!(
            "access denied: the bot's role needs {} on {}",
            kind.action(),
            kind.resource("<account>")
        )
    );
    assert_eq!(fake.invocations().len(), 2, "access denied is not retried");
}

each_backend!(a_missing_agent_or_alias_says_which_one_and_where);
async fn a_missing_agent_or_alias_says_which_one_and_where(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.push_script(AgentScript::http_error(
        404,
        "ResourceNotFoundException",
        "Failed to retrieve resource because it doesn't exist",
    ));
    fake.push_script(AgentScript::exception(
        "resourceNotFoundException",
        "not found",
    ));
    let agent = agent(kind, &fake);
    for place in ["over HTTP", "in the stream"] {
        let (outcome, _) = ask(&agent, request("why?")).await;
        let error = outcome.expect_err(place);
        assert!(
            matches!(error, AgentError::NotFound { .. }),
            "{place}: {error:?}"
        );
        assert_eq!(
            error.human_message(),
            format!("{} not found in us-east-1", kind.described()),
            "{place}"
        );
    }
}

each_backend!(an_http_500_is_an_upstream_error_with_the_service_message);
async fn an_http_500_is_an_upstream_error_with_the_service_message(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.set_default_script(AgentScript::http_error(
        500,
        "InternalServerException",
        "Something broke inside Bedrock",
    ));
    let (outcome, pieces) = ask(&agent(kind, &fake), request("why?")).await;
    let error = outcome.expect_err("a 500");
    assert!(matches!(error, AgentError::Upstream { .. }), "{error:?}");
    let message = error.human_message();
    assert!(
        message.contains("Something broke inside Bedrock"),
        "{message}"
    );
    assert!(
        !message.contains("sandbox-secret") && !format!("{error:?}").contains("sandbox-secret")
    );
    assert!(pieces.is_empty());
    assert_eq!(fake.invocations().len(), 1, "a 500 is not retried");
}

each_backend!(other_in_stream_exceptions_name_their_kind_and_are_not_retried);
async fn other_in_stream_exceptions_name_their_kind_and_are_not_retried(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.push_script(AgentScript::exception(
        "validationException",
        "Session id is malformed",
    ));
    fake.push_script(AgentScript::Stream(vec![
        StreamStep::chunk("Half an answer"),
        StreamStep::exception("dependencyFailedException", "The knowledge base timed out"),
    ]));
    let agent = agent(kind, &fake);
    let (outcome, _) = ask(&agent, request("why?")).await;
    let error = outcome.expect_err("invalid");
    assert!(matches!(error, AgentError::Invalid { .. }), "{error:?}");
    assert_eq!(
        error.human_message(),
        "the agent refused the request: Session id is malformed"
    );
    let (outcome, pieces) = ask(&agent, request("why?")).await;
    let error = outcome.expect_err("dependency failed");
    // ConverseStream has no event for it: the service streams a modelStreamErrorException.
    let code = match kind {
        BackendKind::Model => "modelStreamErrorException",
        _ => "dependencyFailedException",
    };
    assert_eq!(
        error.human_message(),
        format!("the agent failed: {code}: The knowledge base timed out")
    );
    if kind.streams() {
        assert_eq!(pieces, ["Half an answer"]);
    }
    assert_eq!(fake.invocations().len(), 2);
}

/// Only Bedrock Agents cite sources in their stream.
#[tokio::test]
async fn citations_are_parsed_into_links_each_url_once() {
    let kind = BackendKind::Agent;
    let fake = FakeBedrock::start().await.unwrap();
    let runbook = FakeCitation {
        text: "Restart the worker.".into(),
        url: "https://wiki.example.com/runbooks/cpu-high".into(),
        title: Some("CPU high runbook".into()),
    };
    let notes = FakeCitation {
        text: "Seen last week.".into(),
        url: "s3://team-docs/incidents/2026-11-30.md".into(),
        title: None,
    };
    fake.set_default_script(AgentScript::Stream(vec![
        StreamStep::Chunk {
            text: "Restart the worker. ".into(),
            citations: vec![runbook.clone()],
        },
        StreamStep::Chunk {
            text: "Seen last week.".into(),
            citations: vec![notes, runbook],
        },
    ]));
    let (outcome, _) = ask(&agent(kind, &fake), request("why?")).await;
    let answer = outcome.expect("answered");
    assert_eq!(answer.text, "Restart the worker. Seen last week.");
    assert_eq!(
        answer.citations,
        [
            Citation {
                label: "CPU high runbook".into(),
                url: "https://wiki.example.com/runbooks/cpu-high".into()
            },
            Citation {
                label: "2026-11-30.md".into(),
                url: "s3://team-docs/incidents/2026-11-30.md".into()
            },
        ]
    );
}

each_backend!(a_20000_character_answer_in_many_chunks_arrives_whole);
async fn a_20000_character_answer_in_many_chunks_arrives_whole(kind: BackendKind) {
    let fake = FakeBedrock::start().await.unwrap();
    let paragraph = "Überprüfen Sie die Datenbank — 数据库 🙂 and the **cache**.\n\n";
    let text: String = paragraph.chars().cycle().take(20_000).collect();
    let mut steps = vec![];
    // A character split across two chunks must come out whole.
    let split = "é".as_bytes();
    steps.push(StreamStep::RawChunk(split[..1].to_vec()));
    steps.push(StreamStep::RawChunk(split[1..].to_vec()));
    if let AgentScript::Stream(rest) = AgentScript::answer_in_pieces(&text, 400, Duration::ZERO) {
        steps.extend(rest);
    }
    fake.set_default_script(AgentScript::Stream(steps));
    let (outcome, pieces) = ask(&agent(kind, &fake), request("why?")).await;
    let answer = outcome.expect("answered");
    let expected = format!("é{text}");
    assert_eq!(answer.text.chars().count(), 20_001);
    assert_eq!(answer.text, expected);
    assert_eq!(pieces.concat(), expected);
    if kind.streams() {
        assert!(pieces.len() >= 400, "{} pieces", pieces.len());
    }
}

each_backend!(a_silence_longer_than_the_sdk_stall_check_is_limited_by_idle_timeout_only);
async fn a_silence_longer_than_the_sdk_stall_check_is_limited_by_idle_timeout_only(
    kind: BackendKind,
) {
    // The SDK's stalled-stream protection fails a body that carries nothing for its 5 s window
    // plus a 5 s grace period; an agent may think longer than that between two events, and
    // idle_timeout (here 20 s) is the only limit on silence.
    let fake = FakeBedrock::start().await.unwrap();
    fake.set_default_script(AgentScript::Stream(vec![
        StreamStep::chunk("Looking. "),
        StreamStep::Delay(Duration::from_secs(12)),
        StreamStep::chunk("Found it."),
    ]));
    let agent = agent_with(
        kind,
        &fake,
        Duration::from_secs(40),
        Duration::from_secs(20),
    );
    let (pieces_tx, _pieces_rx) = mpsc::unbounded_channel();
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        agent.ask(request("why?"), pieces_tx),
    )
    .await
    .expect("ask ends on its own")
    .expect("a 12 s pause is within idle_timeout");
    assert_eq!(answer.text, "Looking. Found it.");
}

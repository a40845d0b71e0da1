//! Web API behaviour of the fake Slack: auth, messages, faults, hooks and recording.

mod support;

use std::time::Duration;

use chatops_sandbox::slack::{envelopes, AuthKind, FakeSlack, FakeSlackOptions, HttpFault, Target};
use serde_json::{json, Value};
use support::{connect, next_json, post_form, post_json, WAIT};

#[tokio::test]
async fn post_then_update_changes_the_stored_message() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let bot = slack.options().bot_token.clone();
    let blocks = r#"[{"type":"section","text":{"type":"mrkdwn","text":"*alarm*"}}]"#;
    let (status, headers, body) = post_form(
        &slack,
        "chat.postMessage",
        Some(&bot),
        &[
            ("channel", "C0ALERTS"),
            ("text", "alarm fired"),
            ("blocks", blocks),
        ],
    )
    .await?;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()?
        .starts_with("application/json"));
    let posted: Value = serde_json::from_str(&body)?;
    assert_eq!(posted["ok"], true);
    assert_eq!(posted["channel"], "C0ALERTS");
    let ts = posted["ts"].as_str().unwrap_or_default().to_string();
    assert_eq!(ts.split('.').nth(1).map(str::len), Some(6), "{ts}");
    assert_eq!(posted["message"]["bot_id"], "B0BOT");

    let call = slack
        .wait_for_call("chat.postMessage", |c| c.ok(), WAIT)
        .await?;
    assert_eq!(
        call.params["blocks"][0]["type"], "section",
        "form JSON strings are parsed"
    );
    assert_eq!(call.auth, AuthKind::Bot);
    assert!(call.params.get("token").is_none());

    let updated = post_json(
        &slack,
        "chat.update",
        json!({"channel": "C0ALERTS", "ts": ts, "text": "alarm resolved", "blocks": []}),
    )
    .await?;
    assert_eq!(updated["ok"], true);
    let messages = slack.messages("C0ALERTS");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "alarm resolved");
    assert_eq!(messages[0].blocks, Some(json!([])));
    assert_eq!(messages[0].edits, 1);

    let missing = post_json(
        &slack,
        "chat.update",
        json!({"channel": "C0ALERTS", "ts": "1.000001", "text": "x"}),
    )
    .await?;
    assert_eq!(missing["error"], "message_not_found");
    let nowhere = post_json(
        &slack,
        "chat.postMessage",
        json!({"channel": "", "text": "x"}),
    )
    .await?;
    assert_eq!(nowhere["error"], "channel_not_found");
    let second = post_json(
        &slack,
        "chat.postMessage",
        json!({"channel": "C0ALERTS", "text": "y"}),
    )
    .await?;
    assert!(second["ts"].as_str() > Some(ts.as_str()), "ts increase");
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tokens_are_checked_per_method() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let app = slack.options().app_token.clone();
    let bot = slack.options().bot_token.clone();
    let error_of = |body: String| -> anyhow::Result<Value> {
        let value: Value = serde_json::from_str(&body)?;
        Ok(value["error"].clone())
    };
    let (_, _, body) = post_form(&slack, "apps.connections.open", None, &[]).await?;
    assert_eq!(error_of(body)?, "not_authed");
    let (_, _, body) = post_form(&slack, "apps.connections.open", Some("xapp-wrong"), &[]).await?;
    assert_eq!(error_of(body)?, "invalid_auth");
    let (_, _, body) = post_form(&slack, "auth.test", Some("xoxb-wrong"), &[]).await?;
    assert_eq!(error_of(body)?, "invalid_auth");
    let (_, _, body) = post_form(&slack, "chat.postMessage", Some(&app), &[]).await?;
    assert_eq!(error_of(body)?, "not_allowed_token_type");
    let (_, _, body) = post_form(&slack, "auth.test", Some(&bot), &[]).await?;
    let me: Value = serde_json::from_str(&body)?;
    assert_eq!(me["user_id"], "U0BOT");
    assert_eq!(me["bot_id"], "B0BOT");
    assert_eq!(me["team_id"], "T0SANDBOX");
    let (_, _, body) = post_form(&slack, "admin.nothing", Some(&bot), &[]).await?;
    assert_eq!(error_of(body)?, "unknown_method");
    assert_eq!(
        slack.calls_to("admin.nothing").len(),
        1,
        "unknown methods are recorded"
    );

    slack.set_open_error(Some("invalid_auth"));
    let (_, _, body) = post_form(&slack, "apps.connections.open", Some(&app), &[]).await?;
    assert_eq!(error_of(body)?, "invalid_auth");
    slack.set_open_error(None);
    let (_, _, body) = post_form(&slack, "apps.connections.open", Some(&app), &[]).await?;
    let opened: Value = serde_json::from_str(&body)?;
    let url = opened["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with(&format!("ws://{}/link/?ticket=", slack.ws_addr())),
        "{url}"
    );
    assert_eq!(slack.calls().len(), 8);
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn fail_next_injects_rate_limits_and_errors_then_recovers() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let bot = slack.options().bot_token.clone();
    let form = [("channel", "C1"), ("text", "hi")];
    slack.fail_next(
        "chat.postMessage",
        HttpFault::RateLimited {
            retry_after_secs: 7,
        },
        1,
    );
    slack.fail_next("chat.postMessage", HttpFault::ServerError, 1);
    slack.fail_next(
        "chat.postMessage",
        HttpFault::SlackError("fatal_error".into()),
        1,
    );

    let (status, headers, body) = post_form(&slack, "chat.postMessage", Some(&bot), &form).await?;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"].to_str()?, "7");
    assert_eq!(
        serde_json::from_str::<Value>(&body)?["error"],
        "ratelimited"
    );
    let (status, _, _) = post_form(&slack, "chat.postMessage", Some(&bot), &form).await?;
    assert_eq!(status, 500);
    let (status, _, body) = post_form(&slack, "chat.postMessage", Some(&bot), &form).await?;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body)?["error"],
        "fatal_error"
    );
    slack.fail_next("*", HttpFault::Delay(Duration::from_millis(200)), 1);
    let started = std::time::Instant::now();
    let (status, _, body) = post_form(&slack, "chat.postMessage", Some(&bot), &form).await?;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body)?["ok"], true);

    let statuses: Vec<u16> = slack
        .calls_to("chat.postMessage")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![429, 500, 200, 200]);
    assert_eq!(slack.messages("C1").len(), 1, "failed posts store nothing");
    let faults = slack
        .timeline()
        .iter()
        .filter(|e| e.kind == chatops_sandbox::slack::TimelineKind::Fault)
        .count();
    assert_eq!(faults, 8, "4 injected + 4 fired");
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn response_urls_point_at_recorded_hooks() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let (mut ws, _) = connect(&slack).await?;
    slack.wait_for_connections(1, WAIT).await?;
    slack
        .send(
            Target::Any,
            envelopes::slash_command("/chatops", "deploy api", "C1", "U1"),
        )
        .await?;
    let frame = next_json(&mut ws, WAIT).await?;
    assert_eq!(frame["accepts_response_payload"], true);
    let url = frame["payload"]["response_url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(url.starts_with(&slack.hooks_url()), "{url}");
    let response = reqwest::Client::new()
        .post(&url)
        .json(&json!({"text": "deploying", "response_type": "ephemeral"}))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await?, "ok");
    let hook = slack
        .wait_for_call("hooks", |c| c.params["text"] == "deploying", WAIT)
        .await?;
    assert!(url.ends_with(&hook.path), "{} vs {url}", hook.path);
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn thread_replies_include_the_users_mention_and_bot_replies() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let (_ws, _) = connect(&slack).await?;
    slack.wait_for_connections(1, WAIT).await?;
    let mention = envelopes::app_mention("C1", "U1", "<@U0BOT> why is it slow");
    let root_ts = mention
        .json()
        .map(|v| v["payload"]["event"]["ts"].clone())
        .unwrap_or_default();
    slack.send(Target::Any, mention).await?;
    let root_ts = root_ts.as_str().unwrap_or_default();
    post_json(
        &slack,
        "chat.postMessage",
        json!({"channel": "C1", "text": "looking", "thread_ts": root_ts}),
    )
    .await?;
    let replies = post_json(
        &slack,
        "conversations.replies",
        json!({"channel": "C1", "ts": root_ts}),
    )
    .await?;
    let messages = replies["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["user"], "U1");
    assert_eq!(messages[0]["reply_count"], 1);
    assert_eq!(messages[1]["text"], "looking");
    assert_eq!(
        slack.messages("C1").len(),
        1,
        "messages() holds only bot posts"
    );
    assert_eq!(slack.channel_history("C1").len(), 2);
    let reacted = post_json(
        &slack,
        "reactions.add",
        json!({"channel": "C1", "timestamp": root_ts, "name": "eyes"}),
    )
    .await?;
    assert_eq!(reacted["ok"], true);
    let twice = post_json(
        &slack,
        "reactions.add",
        json!({"channel": "C1", "timestamp": root_ts, "name": "eyes"}),
    )
    .await?;
    assert_eq!(twice["error"], "already_reacted");
    let link = post_json(
        &slack,
        "chat.getPermalink",
        json!({"channel": "C1", "message_ts": root_ts}),
    )
    .await?;
    assert!(link["permalink"]
        .as_str()
        .is_some_and(|p| p.contains("/archives/C1/p")));
    let user = post_json(&slack, "users.info", json!({"user": "U1"})).await?;
    assert_eq!(user["user"]["id"], "U1");
    let ephemeral = post_json(
        &slack,
        "chat.postEphemeral",
        json!({"channel": "C1", "user": "U1", "text": "psst"}),
    )
    .await?;
    assert!(ephemeral["message_ts"].is_string());
    assert_eq!(slack.ephemeral_messages("C1").len(), 1);
    let missing = slack
        .wait_for_call("chat.delete", |_| true, Duration::from_millis(50))
        .await
        .expect_err("never called");
    assert!(missing.to_string().contains("chat.delete"), "{missing}");
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_lost_answer_posts_the_message_and_history_reads_it_back_with_metadata(
) -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let bot = slack.options().bot_token.clone();
    slack.fail_next("chat.postMessage", HttpFault::ResponseLost, 1);
    let metadata = r#"{"event_type":"chatops_post","event_payload":{"id":"m1/card"}}"#;
    let form = [("channel", "C1"), ("text", "card"), ("metadata", metadata)];
    let lost = post_form(&slack, "chat.postMessage", Some(&bot), &form).await;
    assert!(
        lost.is_err(),
        "no complete answer reaches the client: {lost:?}"
    );
    let posted = slack.messages("C1");
    assert_eq!(posted.len(), 1, "but the message was posted");
    let call = &slack.calls_to("chat.postMessage")[0];
    assert_eq!(call.status, 0, "recorded as unanswered");
    assert_eq!(call.response["ts"], posted[0].ts.as_str());

    let reply = [
        ("channel", "C1"),
        ("text", "reply"),
        ("thread_ts", &posted[0].ts),
    ];
    post_form(&slack, "chat.postMessage", Some(&bot), &reply).await?;
    let history = |params: Value| post_json(&slack, "conversations.history", params);
    let listed = history(json!({"channel": "C1", "include_all_metadata": true})).await?;
    let messages = listed["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "thread replies are not in the history");
    assert_eq!(messages[0]["metadata"]["event_payload"]["id"], "m1/card");
    let plain = history(json!({"channel": "C1"})).await?;
    assert!(plain["messages"][0].get("metadata").is_none());
    let later = history(json!({"channel": "C1", "oldest": posted[0].ts})).await?;
    assert_eq!(later["messages"].as_array().map(Vec::len), Some(0));
    let thread = post_json(
        &slack,
        "conversations.replies",
        json!({"channel": "C1", "ts": posted[0].ts, "include_all_metadata": "true"}),
    )
    .await?;
    assert_eq!(thread["messages"].as_array().map(Vec::len), Some(2));
    slack.shutdown().await;
    Ok(())
}

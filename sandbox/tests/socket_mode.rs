//! Socket Mode behaviour of the fake Slack, driven by a plain tokio-tungstenite client.

mod support;

use std::time::Duration;

use chatops_sandbox::slack::{
    envelopes, ConnectionEnd, Envelope, FakeSlack, FakeSlackOptions, FrameDirection, FrameKind,
    Redelivery, Target,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use support::{ack, connect, expect_silence, next_json, open_url, WAIT};
use tokio_tungstenite::tungstenite::{self, Message};

#[tokio::test]
async fn hello_envelope_and_ack_are_recorded_with_latency() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let (mut ws, hello) = connect(&slack).await?;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(hello["connection_info"]["app_id"], "A0SANDBOX");
    assert_eq!(hello["debug_info"]["host"], "applink-sandbox");
    let conns = slack.wait_for_connections(1, WAIT).await?;

    let sent = slack
        .send(
            Target::Any,
            envelopes::app_mention("C0ALERTS", "U0ALICE", "<@U0BOT> help"),
        )
        .await?;
    assert_eq!(sent.conn, conns[0]);
    let frame = next_json(&mut ws, WAIT).await?;
    let envelope_id = frame["envelope_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(Some(envelope_id.clone()), sent.envelope_id);
    assert_eq!(frame["payload"]["event"]["text"], "<@U0BOT> help");
    assert_eq!(frame["retry_attempt"], 0);

    ack(&mut ws, &envelope_id, Some(json!({"text": "on it"}))).await?;
    let record = slack.wait_for_ack(&envelope_id, WAIT).await?;
    assert_eq!(record.conn, conns[0]);
    assert_eq!(record.payload, Some(json!({"text": "on it"})));
    assert_eq!(record.event_id, sent.event_id);
    let latency = record.latency.expect("a written envelope gets a latency");
    assert!(latency < WAIT, "{latency:?}");
    assert_eq!(slack.ack_latencies().len(), 1);
    slack.wait_for_acks(1, WAIT).await?;
    let timeline: Vec<String> = slack.timeline().iter().map(ToString::to_string).collect();
    assert!(
        timeline.iter().any(|l| l.contains("hello")),
        "{timeline:#?}"
    );
    assert!(timeline
        .iter()
        .any(|l| l.contains(&format!("acked {envelope_id}"))));
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn unacked_events_are_redelivered_to_another_connection_with_a_new_id() -> anyhow::Result<()>
{
    let opts = FakeSlackOptions {
        redelivery: Some(Redelivery {
            after: Duration::from_millis(300),
            max_attempts: 3,
            same_envelope_id: false,
        }),
        ..FakeSlackOptions::default()
    };
    let slack = FakeSlack::start(opts).await?;
    let (mut first, _) = connect(&slack).await?;
    let (mut second, _) = connect(&slack).await?;
    let conns = slack.wait_for_connections(2, WAIT).await?;

    let sent = slack
        .send(
            Target::Conn(conns[0]),
            envelopes::app_mention("C1", "U1", "<@U0BOT> status"),
        )
        .await?;
    let original = next_json(&mut first, WAIT).await?;
    let retry = next_json(&mut second, WAIT).await?;
    assert_eq!(retry["retry_attempt"], 1);
    assert_eq!(retry["retry_reason"], "timeout");
    assert_ne!(retry["envelope_id"], original["envelope_id"]);
    assert_eq!(
        retry["payload"]["event_id"],
        original["payload"]["event_id"]
    );
    assert_eq!(
        retry["payload"]["event_id"].as_str(),
        sent.event_id.as_deref()
    );

    let retry_id = retry["envelope_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    ack(&mut second, &retry_id, None).await?;
    let record = slack.wait_for_ack(&retry_id, WAIT).await?;
    assert_eq!(record.retry_attempt, 1);
    expect_silence(&mut first, Duration::from_millis(500)).await?;
    expect_silence(&mut second, Duration::from_millis(100)).await?;

    // Interactive envelopes are never redelivered.
    slack
        .send(
            Target::Conn(conns[0]),
            envelopes::block_actions("C1", "U1", "1.2", "approve", "v"),
        )
        .await?;
    next_json(&mut first, WAIT).await?;
    expect_silence(&mut second, Duration::from_millis(500)).await?;
    expect_silence(&mut first, Duration::from_millis(100)).await?;
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn envelopes_on_a_connection_that_died_are_redelivered_elsewhere() -> anyhow::Result<()> {
    let opts = FakeSlackOptions {
        redelivery: Some(Redelivery {
            after: Duration::from_millis(150),
            ..Redelivery::slack()
        }),
        ..FakeSlackOptions::default()
    };
    let slack = FakeSlack::start(opts).await?;
    let (doomed, _) = connect(&slack).await?;
    let conns = slack.wait_for_connections(1, WAIT).await?;
    let sent = slack
        .send(
            Target::Conn(conns[0]),
            envelopes::app_mention("C1", "U1", "<@U0BOT> deploy"),
        )
        .await?;
    drop(doomed);
    let end = slack.wait_for_connection_end(conns[0], WAIT).await?;
    assert_eq!(end, ConnectionEnd::ClientEof);
    let (mut survivor, _) = connect(&slack).await?;
    let retry = next_json(&mut survivor, WAIT).await?;
    assert_eq!(
        retry["payload"]["event_id"].as_str(),
        sent.event_id.as_deref()
    );
    assert!(retry["retry_attempt"].as_u64() >= Some(1));
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn redelivery_stops_after_max_attempts_and_can_keep_the_id() -> anyhow::Result<()> {
    let opts = FakeSlackOptions {
        redelivery: Some(Redelivery {
            after: Duration::from_millis(100),
            max_attempts: 2,
            same_envelope_id: true,
        }),
        ..FakeSlackOptions::default()
    };
    let slack = FakeSlack::start(opts).await?;
    let (mut ws, _) = connect(&slack).await?;
    slack.wait_for_connections(1, WAIT).await?;
    let sent = slack
        .send(
            Target::Any,
            envelopes::thread_message("C1", "U1", "more", "1700000000.000001"),
        )
        .await?;
    let mut attempts = Vec::new();
    for _ in 0..3 {
        let frame = next_json(&mut ws, WAIT).await?;
        assert_eq!(frame["envelope_id"].as_str(), sent.envelope_id.as_deref());
        attempts.push(frame["retry_attempt"].as_u64().unwrap_or(99));
    }
    assert_eq!(attempts, vec![0, 1, 2]);
    expect_silence(&mut ws, Duration::from_millis(400)).await?;
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn abort_ends_the_stream_without_a_close_frame() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let (mut ws, _) = connect(&slack).await?;
    let conns = slack.wait_for_connections(1, WAIT).await?;
    slack.abort(conns[0]).await?;
    let next = tokio::time::timeout(WAIT, ws.next()).await?;
    match next {
        None => {}
        Some(Err(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ))) => {}
        Some(Err(tungstenite::Error::Io(_))) => {}
        other => panic!("expected an abrupt end, got {other:?}"),
    }
    let end = slack.wait_for_connection_end(conns[0], WAIT).await?;
    assert_eq!(end, ConnectionEnd::ServerAborted);
    let log = slack.connection_log();
    assert!(log[0]
        .frames_of(FrameDirection::ToClient, FrameKind::Close)
        .is_empty());
    assert!(slack.open_connections().is_empty());
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tickets_are_single_use() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let url = open_url(&slack).await?;
    let (_first, _) = tokio_tungstenite::connect_async(url.clone()).await?;
    let reused = tokio_tungstenite::connect_async(url.clone()).await;
    match reused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("reused ticket was not refused: {:?}", other.map(|_| ())),
    }
    let bogus = url.replace("ticket=", "ticket=x");
    assert!(tokio_tungstenite::connect_async(bogus).await.is_err());
    let rejections = slack.handshake_rejections();
    assert_eq!(rejections.len(), 2);
    assert!(rejections.iter().all(|r| r.status == 401));
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn client_close_malformed_frames_and_pongs_are_recorded() -> anyhow::Result<()> {
    let opts = FakeSlackOptions {
        ping_interval: Duration::from_millis(100),
        ..FakeSlackOptions::default()
    };
    let slack = FakeSlack::start(opts).await?;
    let (mut ws, _) = connect(&slack).await?;
    let conns = slack.wait_for_connections(1, WAIT).await?;
    // The server pings on its own.
    let mut saw_ping = false;
    for _ in 0..20 {
        if let Some(Ok(Message::Ping(_))) = tokio::time::timeout(WAIT, ws.next()).await? {
            saw_ping = true;
            break;
        }
    }
    assert!(saw_ping);
    // Client pings get pongs.
    ws.send(Message::Ping(b"client-ping".to_vec().into()))
        .await?;
    let mut saw_pong = false;
    for _ in 0..20 {
        if let Some(Ok(Message::Pong(payload))) = tokio::time::timeout(WAIT, ws.next()).await? {
            saw_pong = payload.as_ref() == b"client-ping";
            break;
        }
    }
    assert!(saw_pong);
    ws.send(Message::text("{not json")).await?;
    ws.send(Message::text(r#"{"payload":{}}"#)).await?;
    ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Away,
        reason: "bye".into(),
    }))
    .await?;
    let end = slack.wait_for_connection_end(conns[0], WAIT).await?;
    assert_eq!(
        end,
        ConnectionEnd::ClientClosed {
            code: Some(1001),
            reason: "bye".into()
        }
    );
    let malformed = slack.malformed_frames();
    assert_eq!(malformed.len(), 2);
    assert!(malformed[0].problem.starts_with("not JSON"));
    assert_eq!(malformed[1].problem, "no envelope_id");
    let log = &slack.connection_log()[0];
    assert_eq!(
        log.frames_of(FrameDirection::FromClient, FrameKind::Close)
            .len(),
        1
    );
    assert!(!log
        .frames_of(FrameDirection::ToClient, FrameKind::Ping)
        .is_empty());
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn stalled_connections_stop_answering_pings_and_get_nothing() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let (mut stalled, _) = connect(&slack).await?;
    let conns = slack.wait_for_connections(1, WAIT).await?;
    slack.stall(conns[0]);
    assert!(
        slack.open_connections().is_empty(),
        "stalled links leave delivery at once"
    );
    stalled
        .send(Message::Ping(b"anyone".to_vec().into()))
        .await?;
    slack
        .send(
            Target::Conn(conns[0]),
            envelopes::app_mention("C1", "U1", "<@U0BOT> hi"),
        )
        .await?;
    let silent = tokio::time::timeout(Duration::from_millis(400), stalled.next()).await;
    assert!(
        silent.is_err(),
        "a stalled link must not answer: {silent:?}"
    );
    // A new connection takes over Target::Any.
    let (mut fresh, _) = connect(&slack).await?;
    let live = slack.wait_for_connections(1, WAIT).await?;
    assert_ne!(live[0], conns[0]);
    slack
        .send(Target::Any, Envelope::garbage("not json at all"))
        .await?;
    let raw = tokio::time::timeout(WAIT, fresh.next()).await?;
    assert!(matches!(raw, Some(Ok(Message::Text(ref t))) if t.as_str() == "not json at all"));
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn refresh_disconnect_keeps_the_socket_until_the_grace_ends() -> anyhow::Result<()> {
    let opts = FakeSlackOptions {
        disconnect_grace: Duration::from_millis(300),
        ..FakeSlackOptions::default()
    };
    let slack = FakeSlack::start(opts).await?;
    let (mut ws, _) = connect(&slack).await?;
    let conns = slack.wait_for_connections(1, WAIT).await?;
    slack.disconnect(conns[0], "refresh_requested").await?;
    let frame = next_json(&mut ws, WAIT).await?;
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "refresh_requested");
    assert!(
        slack.open_connections().is_empty(),
        "draining connections get nothing new"
    );
    assert!(slack
        .send(Target::Any, envelopes::app_mention("C1", "U1", "x"))
        .await
        .is_err());
    let closed = tokio::time::timeout(WAIT, ws.next()).await?;
    assert!(
        matches!(closed, Some(Ok(Message::Close(Some(_))))),
        "{closed:?}"
    );
    assert!(tokio::time::timeout(WAIT, ws.next()).await?.is_none());
    let end = slack.wait_for_connection_end(conns[0], WAIT).await?;
    assert!(matches!(end, ConnectionEnd::ServerClosed { .. }), "{end:?}");
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn link_disabled_closes_at_once_and_waits_time_out_with_a_name() -> anyhow::Result<()> {
    let slack = FakeSlack::start(FakeSlackOptions::default()).await?;
    let (mut ws, _) = connect(&slack).await?;
    let conns = slack.wait_for_connections(1, WAIT).await?;
    slack.disconnect(conns[0], "link_disabled").await?;
    assert_eq!(next_json(&mut ws, WAIT).await?["reason"], "link_disabled");
    let closed = tokio::time::timeout(WAIT, ws.next()).await?;
    assert!(
        matches!(closed, Some(Ok(Message::Close(Some(_))))),
        "{closed:?}"
    );
    // Polling once more sends our close reply and completes the handshake.
    assert!(tokio::time::timeout(WAIT, ws.next()).await?.is_none());
    let end = slack.wait_for_connection_end(conns[0], WAIT).await?;
    assert_eq!(
        end,
        ConnectionEnd::ServerClosed {
            reason: "disconnect link_disabled".into()
        }
    );
    let error = slack
        .wait_for_ack("never-sent", Duration::from_millis(50))
        .await
        .expect_err("nothing acks it");
    assert!(error.to_string().contains("never-sent"), "{error}");
    slack.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn one_connection_over_the_cap_gets_too_many_websockets() -> anyhow::Result<()> {
    let opts = FakeSlackOptions {
        max_connections: 1,
        ..FakeSlackOptions::default()
    };
    let slack = FakeSlack::start(opts).await?;
    let (_first, _) = connect(&slack).await?;
    let url = open_url(&slack).await?;
    let (mut extra, _) = tokio_tungstenite::connect_async(url).await?;
    let frame = next_json(&mut extra, WAIT).await?;
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "too_many_websockets");
    let closed = tokio::time::timeout(WAIT, extra.next()).await?;
    assert!(matches!(closed, Some(Ok(Message::Close(_)))), "{closed:?}");
    assert!(tokio::time::timeout(WAIT, extra.next()).await?.is_none());
    assert_eq!(slack.open_connections().len(), 1);
    slack.shutdown().await;
    Ok(())
}

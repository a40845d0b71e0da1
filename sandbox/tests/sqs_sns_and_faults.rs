//! The fake SQS driven by the real aws-sdk-sqs client: SNS delivery shapes, errors, injected
//! faults, shutdown, and batches held back until one instant.

mod sqs_client;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use chatops_sandbox::aws::{notification_body, FakeSqs, SqsFault, DEFAULT_TOPIC_ARN};
use serde_json::Value;
use sqs_client::*;
use tokio::time::Instant;

#[tokio::test]
async fn sns_deliveries_have_the_envelope_or_raw_shape() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let url = fake.create_queue("alerts", Duration::from_secs(30), None)?;
    let alarm = r#"{"AlarmName":"db-cpu","NewStateValue":"ALARM","AlarmDescription":null}"#;
    let attributes = BTreeMap::from([("team".to_string(), "payments".to_string())]);
    let subject = Some("ALARM: db-cpu");
    let wrapped = fake.publish_sns(&url, subject, alarm, attributes.clone(), false)?;
    let raw = fake.publish_sns(&url, None, alarm, attributes, true)?;
    let got = receive(&sqs, &url, 0, None).await?;
    let by_id = |id: &str| got.iter().find(|m| m.message_id() == Some(id)).cloned();

    let envelope =
        by_id(&wrapped.sqs_message_id).ok_or_else(|| anyhow::anyhow!("envelope missing"))?;
    assert!(envelope.message_attributes().is_none());
    let parsed: Value = serde_json::from_str(envelope.body().unwrap_or_default())?;
    assert_eq!(parsed["Type"], "Notification");
    assert_eq!(parsed["MessageId"], wrapped.sns_message_id.as_str());
    assert_eq!(parsed["TopicArn"], DEFAULT_TOPIC_ARN);
    assert_eq!(parsed["Subject"], "ALARM: db-cpu");
    assert_eq!(parsed["Message"], alarm);
    assert_eq!(parsed["SignatureVersion"], "1");
    assert_eq!(parsed["MessageAttributes"]["team"]["Type"], "String");
    assert_eq!(parsed["MessageAttributes"]["team"]["Value"], "payments");
    for field in ["Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL"] {
        assert!(
            parsed[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }

    let bare = by_id(&raw.sqs_message_id).ok_or_else(|| anyhow::anyhow!("raw message missing"))?;
    assert_eq!(bare.body(), Some(alarm));
    let team = bare.message_attributes().and_then(|a| a.get("team"));
    assert_eq!(team.and_then(|v| v.string_value()), Some("payments"));
    assert!(bare.md5_of_message_attributes().is_some());
    Ok(())
}

#[tokio::test]
async fn unknown_queues_surface_as_queue_does_not_exist() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let lookup = sqs.get_queue_url().queue_name("missing").send().await;
    let error = lookup.expect_err("no such queue").into_service_error();
    assert!(error.is_queue_does_not_exist(), "{error:?}");
    let url = format!("{}/123456789012/missing", fake.endpoint_url());
    let receive = sqs.receive_message().queue_url(url).send().await;
    let error = receive.expect_err("no such queue").into_service_error();
    assert!(error.is_queue_does_not_exist(), "{error:?}");
    assert_eq!(
        error.code(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    let errors: Vec<Option<String>> = fake.calls().into_iter().map(|c| c.error).collect();
    assert_eq!(errors, vec![Some("QueueDoesNotExist".to_string()); 2]);
    Ok(())
}

#[tokio::test]
async fn injected_faults_are_retried_by_the_sdk_or_surface_without_retries() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let url = fake.create_queue("alerts", Duration::from_secs(30), None)?;
    fake.fail_next("SendMessage", SqsFault::ServerError, 1);
    fake.fail_next("SendMessage", SqsFault::ThrottlingException, 1);
    sqs.send_message()
        .queue_url(&url)
        .message_body("after two failures")
        .send()
        .await?;
    let statuses: Vec<(u16, Option<String>)> = fake
        .calls_to("SendMessage")
        .into_iter()
        .map(|c| (c.status, c.error))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (500, Some("InternalFailure".to_string())),
            (400, Some("ThrottlingException".to_string())),
            (200, None)
        ]
    );
    assert_eq!(
        fake.messages_in(&url)?,
        vec!["after two failures".to_string()]
    );

    let no_retries = client_with(&fake, RetryConfig::disabled()).await;
    fake.fail_next("ReceiveMessage", SqsFault::RequestThrottled, 1);
    let throttled = no_retries.receive_message().queue_url(&url).send().await;
    let error = throttled.expect_err("throttled").into_service_error();
    assert!(error.is_request_throttled(), "{error:?}");

    fake.fail_next(
        "ReceiveMessage",
        SqsFault::Delay(Duration::from_millis(600)),
        1,
    );
    let (waited, delayed) = timed(receive(&no_retries, &url, 0, None)).await;
    assert_between(waited, 550, 3_000);
    assert_eq!(delayed?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn shutdown_ends_a_long_poll_in_progress() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client_with(&fake, RetryConfig::disabled()).await;
    let url = fake.create_queue("alerts", Duration::from_secs(30), None)?;
    let poll = tokio::spawn(async move { timed(receive(&sqs, &url, 20, None)).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    fake.shutdown().await;
    let (waited, outcome) = tokio::time::timeout(Duration::from_secs(5), poll).await??;
    assert_between(waited, 400, 4_000);
    assert!(outcome.map_or(true, |got| got.is_empty()));
    Ok(())
}

#[tokio::test]
async fn a_batch_held_until_an_instant_wakes_waiting_long_polls_at_that_instant(
) -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let url = fake.create_queue("burst", Duration::from_secs(30), None)?;
    let poll = {
        let (sqs, url) = (sqs.clone(), url.clone());
        tokio::spawn(async move { timed(receive(&sqs, &url, 10, None)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let at = Instant::now() + Duration::from_millis(600);
    let bodies: Vec<String> = (0..25)
        .map(|i| notification_body(Some("ALARM"), &format!(r#"{{"AlarmName":"burst-{i}"}}"#)))
        .collect();
    let ids = fake.send_batch_visible_at(&url, bodies, at)?;
    assert_eq!(ids.len(), 25);
    assert_eq!(fake.visible(&url)?, 0, "held back until the instant");
    let (waited, got) = tokio::time::timeout(Duration::from_secs(5), poll).await??;
    let got = got?;
    assert!(Instant::now() >= at);
    assert_between(waited, 750, 3_000);
    assert_eq!(got.len(), 10);
    let envelope: Value = serde_json::from_str(got[0].body().unwrap_or_default())?;
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], DEFAULT_TOPIC_ARN);
    assert_eq!(envelope["Message"], r#"{"AlarmName":"burst-0"}"#);
    assert!(ids.iter().all(|id| fake.visible_at(id) == Some(at)));
    assert_eq!(fake.visible(&url)?, 15);
    let late = fake.send_batch_visible_at(&url, vec!["now".into()], Instant::now())?;
    assert_eq!(late.len(), 1);
    assert_eq!(
        fake.visible(&url)?,
        16,
        "an instant already past means visible at once"
    );
    assert!(fake
        .send_batch_visible_at("missing", vec!["x".into()], at)
        .is_err());
    Ok(())
}

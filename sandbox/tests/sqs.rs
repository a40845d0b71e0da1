//! The fake SQS driven by the real aws-sdk-sqs client: send/receive/delete, long polling,
//! visibility, batches with partial failure, DLQ redrive, SNS shapes, errors and faults.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use chatops_sandbox::aws::{notification_body, FakeSqs, SqsFault, DEFAULT_TOPIC_ARN};
use md5::{Digest, Md5};
use serde_json::Value;
use tokio::time::Instant;

async fn client_with(fake: &FakeSqs, retry: RetryConfig) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(fake.endpoint_url())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(retry)
        .load()
        .await;
    Client::new(&config)
}

async fn client(fake: &FakeSqs) -> Client {
    client_with(fake, RetryConfig::standard()).await
}

fn md5_hex(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// Runs `work`, returning how long it took with its output.
async fn timed<T>(work: impl std::future::Future<Output = T>) -> (Duration, T) {
    let started = Instant::now();
    let output = work.await;
    (started.elapsed(), output)
}

fn assert_between(took: Duration, min_ms: u64, max_ms: u64) {
    let range = Duration::from_millis(min_ms)..Duration::from_millis(max_ms);
    assert!(range.contains(&took), "took {took:?}, expected {range:?}");
}

/// ReceiveMessage for up to 10 messages with every attribute, waiting `wait` seconds, with an
/// optional visibility timeout override.
async fn receive(
    sqs: &Client,
    url: &str,
    wait: i32,
    visibility: Option<i32>,
) -> anyhow::Result<Vec<Message>> {
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait)
        .set_visibility_timeout(visibility)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    Ok(got.messages().to_vec())
}

fn receive_count(message: &Message) -> Option<&str> {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .map(String::as_str)
}

#[tokio::test]
async fn send_receive_delete_round_trip() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let created = sqs
        .create_queue()
        .queue_name("alerts")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await?;
    let url = created.queue_url().unwrap_or_default().to_string();
    assert_eq!(url, format!("{}/123456789012/alerts", fake.endpoint_url()));

    let body = r#"{"AlarmName":"api-5xx","NewStateValue":"ALARM"}"#;
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .message_attributes(
            "severity",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("critical")
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(sent.md5_of_message_body(), Some(md5_hex(body).as_str()));
    assert!(sent.md5_of_message_attributes().is_some());

    let messages = receive(&sqs, &url, 0, None).await?;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.message_id(), sent.message_id());
    assert_eq!(message.body(), Some(body));
    assert_eq!(message.md5_of_body(), Some(md5_hex(body).as_str()));
    assert_eq!(
        message.md5_of_message_attributes(),
        sent.md5_of_message_attributes()
    );
    assert_eq!(receive_count(message), Some("1"));
    let attributes = message.attributes().cloned().unwrap_or_default();
    assert!(attributes.contains_key(&MessageSystemAttributeName::SentTimestamp));
    assert!(attributes.contains_key(&MessageSystemAttributeName::ApproximateFirstReceiveTimestamp));
    let severity = message.message_attributes().and_then(|a| a.get("severity"));
    assert_eq!(severity.and_then(|v| v.string_value()), Some("critical"));
    assert_eq!(severity.map(|v| v.data_type()), Some("String"));
    assert_eq!((fake.visible("alerts")?, fake.in_flight("alerts")?), (0, 1));

    let counts = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await?;
    let counts = counts.attributes().cloned().unwrap_or_default();
    let not_visible = &QueueAttributeName::ApproximateNumberOfMessagesNotVisible;
    assert_eq!(counts.get(not_visible).map(String::as_str), Some("1"));
    let arn = counts
        .get(&QueueAttributeName::QueueArn)
        .map(String::as_str);
    assert_eq!(arn, Some("arn:aws:sqs:eu-west-1:123456789012:alerts"));

    let handle = message.receipt_handle().unwrap_or_default();
    let delete = sqs.delete_message().queue_url(&url).receipt_handle(handle);
    delete.send().await?;
    let id = sent.message_id().unwrap_or_default().to_string();
    assert_eq!(fake.deleted("alerts")?, vec![id]);
    assert_eq!((fake.visible("alerts")?, fake.in_flight("alerts")?), (0, 0));
    let found = sqs.get_queue_url().queue_name("alerts").send().await?;
    assert_eq!(found.queue_url(), Some(url.as_str()));
    fake.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn long_poll_answers_when_a_message_arrives_and_empty_at_the_deadline() -> anyhow::Result<()>
{
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let url = fake.create_queue("alerts", Duration::from_secs(30), None)?;
    let poll = {
        let (sqs, url) = (sqs.clone(), url.clone());
        tokio::spawn(async move { timed(receive(&sqs, &url, 10, None)).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let id = fake.send("alerts", "mid-wait", BTreeMap::new())?;
    let (waited, got) = poll.await?;
    assert_eq!(got?.len(), 1);
    assert_between(waited, 350, 3_000);
    let latencies = fake.receive_latencies();
    let latency = latencies.iter().find(|l| l.message_id == id);
    let latency = latency.ok_or_else(|| anyhow::anyhow!("no latency recorded for {id}"))?;
    assert_between(latency.wait(), 0, 500);
    assert_eq!(fake.visible_at(&id), Some(latency.visible_at));

    let (waited, empty) = timed(receive(&sqs, &url, 1, None)).await;
    assert!(empty?.is_empty());
    assert_between(waited, 950, 4_000);
    let calls = fake.calls_to("ReceiveMessage");
    assert_eq!(calls.len(), 2);
    assert!(calls[1].elapsed() >= Duration::from_millis(950));
    Ok(())
}

#[tokio::test]
async fn expired_visibility_redelivers_with_a_new_handle() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let url = fake.create_queue("alerts", Duration::from_secs(1), None)?;
    let id = fake.send(&url, "retry me", BTreeMap::new())?;
    let first = receive(&sqs, &url, 5, None).await?;
    assert_eq!(first.first().and_then(receive_count), Some("1"));
    let (waited, second) = timed(receive(&sqs, &url, 5, None)).await;
    let second = second?;
    assert_between(waited, 700, 3_000);
    let again = &second[0];
    assert_eq!(again.message_id(), Some(id.as_str()));
    assert_eq!(receive_count(again), Some("2"));
    let old = first[0].receipt_handle().unwrap_or_default();
    assert_ne!(Some(old), again.receipt_handle());

    let delete = |handle: &str| {
        let request = sqs.delete_message().queue_url(&url);
        request.receipt_handle(handle).send()
    };
    let stale = delete(old)
        .await
        .expect_err("a superseded handle is refused");
    assert!(stale.into_service_error().is_receipt_handle_is_invalid());
    delete(again.receipt_handle().unwrap_or_default()).await?;
    let history = fake
        .message_history(&id)
        .ok_or_else(|| anyhow::anyhow!("no history"))?;
    assert_eq!((history.visible_at.len(), history.receives.len()), (2, 2));
    assert!(history.deleted_at.is_some());
    Ok(())
}

#[tokio::test]
async fn changing_visibility_extends_and_releases() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let url = fake.create_queue("alerts", Duration::from_secs(1), None)?;
    fake.send(&url, "slow job", BTreeMap::new())?;
    let got = receive(&sqs, &url, 0, None).await?;
    let handle = got[0].receipt_handle().unwrap_or_default().to_string();
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(30)
        .send()
        .await?;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!((fake.visible(&url)?, fake.in_flight(&url)?), (0, 1));
    assert!(receive(&sqs, &url, 0, None).await?.is_empty());

    let released = sqs
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("e1")
                .receipt_handle(&handle)
                .visibility_timeout(0)
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(
        (released.successful().len(), released.failed().len()),
        (1, 0)
    );
    let again = receive(&sqs, &url, 0, None).await?;
    assert_eq!(again.first().and_then(receive_count), Some("2"));
    Ok(())
}

#[tokio::test]
async fn delete_batch_reports_injected_entry_failures() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let url = fake.create_queue("alerts", Duration::from_secs(30), None)?;
    let entries: Vec<SendMessageBatchRequestEntry> = (1..=3)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("s{i}"))
                .message_body(format!("alarm {i}"))
                .build()
        })
        .collect::<Result<_, _>>()?;
    let sent = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await?;
    assert_eq!((sent.successful().len(), sent.failed().len()), (3, 0));
    let got = receive(&sqs, &url, 0, None).await?;
    assert_eq!(got.len(), 3);

    fake.fail_delete_entries(1);
    let entries: Vec<DeleteMessageBatchRequestEntry> = got
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .build()
        })
        .collect::<Result<_, _>>()?;
    let deleted = sqs
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await?;
    assert_eq!(deleted.successful().len(), 2);
    let failed = deleted.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].id(), failed[0].code(), failed[0].sender_fault()),
        ("d0", "ReceiptHandleIsInvalid", true)
    );
    assert_eq!(fake.deleted(&url)?.len(), 2);
    assert_eq!(fake.in_flight(&url)?, 1);
    Ok(())
}

#[tokio::test]
async fn messages_past_max_receive_count_land_in_the_dead_letter_queue() -> anyhow::Result<()> {
    let fake = FakeSqs::start().await?;
    let sqs = client(&fake).await;
    let dlq = sqs.create_queue().queue_name("alerts-dlq").send().await?;
    let dlq_url = dlq.queue_url().unwrap_or_default().to_string();
    let policy = r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:123456789012:alerts-dlq","maxReceiveCount":"2"}"#;
    let source = sqs
        .create_queue()
        .queue_name("alerts")
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await?;
    let url = source.queue_url().unwrap_or_default().to_string();
    let id = fake.send(&url, "poison", BTreeMap::new())?;
    for expected in ["1", "2"] {
        let got = receive(&sqs, &url, 0, Some(0)).await?;
        assert_eq!(got.first().and_then(receive_count), Some(expected));
    }
    assert!(receive(&sqs, &url, 0, Some(0)).await?.is_empty());
    assert_eq!(fake.messages_in("alerts-dlq")?, vec!["poison".to_string()]);
    assert!(fake.messages_in("alerts")?.is_empty());
    let from_dlq = receive(&sqs, &dlq_url, 0, None).await?;
    assert_eq!(
        from_dlq.first().and_then(|m| m.message_id()),
        Some(id.as_str())
    );
    assert!(fake
        .timeline()
        .iter()
        .any(|e| e.text.contains("moved to alerts-dlq")));
    Ok(())
}

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

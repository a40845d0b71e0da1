//! The fake SQS driven by the real aws-sdk-sqs client: send/receive/delete, long polling,
//! visibility, batches with partial failure and DLQ redrive.

mod sqs_client;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use chatops_sandbox::aws::FakeSqs;
use sqs_client::*;

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

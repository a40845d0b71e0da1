//! `check --live`'s SQS side on moto's real SQS: the queue's depth, its redrive policy's
//! dead-letter queue found by ARN (GetQueueUrl with the owner account) and read, a queue without
//! one, and a missing queue: keeps `notify::queue_health` honest beyond the fake SQS.
//!
//! Finds moto as tests/moto_sns_sqs.rs does (`CHATOPS_TEST_MOTO_ENDPOINT`, else `moto_server`
//! from PATH; `CHATOPS_SKIP_MOTO=1` skips).

#[path = "moto_sns_sqs/server.rs"]
mod server;
mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use chatops_bot::notify::queue_health::{inspect, DeadLetter, Depth, QueueCheckError};
use serde_json::json;
use server::MotoServer;

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

#[tokio::test]
async fn depths_and_the_dead_letter_queue_are_read_from_moto() {
    let Some(server) = MotoServer::find().await.expect("moto is there") else {
        return;
    };
    support::aws_test_env();
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(&server.endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "moto-test",
        )))
        .build();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = unique("health");
    let create = |name: String, redrive: Option<String>| {
        let sqs = sqs.clone();
        async move {
            let mut request = sqs.create_queue().queue_name(name);
            if let Some(policy) = redrive {
                request = request.attributes(Attr::RedrivePolicy, policy);
            }
            let created = request.send().await.expect("CreateQueue");
            created.queue_url().expect("a queue URL").to_owned()
        }
    };
    let dlq = create(format!("{name}-dlq"), None).await;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(Attr::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| a.get(&Attr::QueueArn).cloned())
        .expect("the DLQ's ARN");
    let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}).to_string();
    let queue = create(format!("{name}-alarms"), Some(policy)).await;
    for (url, body) in [
        (&queue, "waiting"),
        (&queue, "also waiting"),
        (&dlq, "failed"),
    ] {
        sqs.send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .expect("SendMessage");
    }

    let health = inspect(&config, &queue).await.expect("the queue reads");
    let depth = Depth {
        waiting: 2,
        in_flight: 0,
    };
    assert_eq!(health.depth, depth);
    assert_eq!(
        health.arn.as_deref(),
        Some(dlq_arn.replace("-dlq", "-alarms").as_str())
    );
    match health.dead_letter {
        DeadLetter::Found {
            name: found,
            max_receive_count,
            depth,
        } => {
            assert_eq!(found, format!("{name}-dlq"));
            assert_eq!(max_receive_count, Some(3));
            assert_eq!(depth.waiting, 1);
        }
        other => panic!("expected the DLQ, got {other:?}"),
    }

    let bare = inspect(&config, &dlq).await.expect("the DLQ reads");
    assert!(
        matches!(bare.dead_letter, DeadLetter::NotSet),
        "{:?}",
        bare.dead_letter
    );

    let missing = queue.replace("-alarms", "-missing");
    let error = tokio::time::timeout(Duration::from_secs(30), inspect(&config, &missing))
        .await
        .expect("answers")
        .expect_err("a missing queue is an error");
    assert!(
        matches!(error, QueueCheckError::NotFound { .. }),
        "{error:?}"
    );
}

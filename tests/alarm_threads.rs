//! One card per pipeline execution and per custom `threadId`: follow-ups go to its thread.

mod support;

use std::time::Duration;

use support::alarm_sandbox::{shown, AlarmSandbox};

const SECOND: Duration = Duration::from_secs(1);

/// A CodePipeline execution state change, as EventBridge delivers it.
fn execution(execution_id: &str, state: &str, time: &str) -> String {
    serde_json::json!({
        "version": "0", "id": format!("{execution_id}-{state}"),
        "detail-type": "CodePipeline Pipeline Execution State Change",
        "source": "aws.codepipeline", "account": "111122223333", "time": time,
        "region": "eu-west-1",
        "resources": ["arn:aws:codepipeline:eu-west-1:111122223333:checkout-release"],
        "detail": {"pipeline": "checkout-release", "execution-id": execution_id,
                   "state": state, "version": 7.0}
    })
    .to_string()
}

/// An AWS Chatbot custom notification.
fn custom(thread_id: &str, title: &str) -> String {
    serde_json::json!({
        "version": "1.0", "source": "custom",
        "content": {"title": title, "description": format!("Details of {title}.")},
        "metadata": {"threadId": thread_id}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_execution_keeps_one_card_updated_in_place_even_out_of_order() {
    let s = AlarmSandbox::start("pollers = 1\nunwatched_nudge = \"0s\"", &[]).await;
    s.publish_body(&execution("exec-0001", "STARTED", "2026-11-23T10:00:00Z"));
    s.sqs
        .wait_for_deleted(&s.queue, 1, 10 * SECOND)
        .await
        .unwrap();
    s.publish_body(&execution("exec-0001", "SUCCEEDED", "2026-11-23T10:07:00Z"));
    s.sqs
        .wait_for_deleted(&s.queue, 2, 10 * SECOND)
        .await
        .unwrap();
    // A late, older notification (SQS does not keep order) must not roll the card back.
    s.publish_body(&execution("exec-0001", "RESUMED", "2026-11-23T10:03:00Z"));
    s.sqs
        .wait_for_deleted(&s.queue, 3, 10 * SECOND)
        .await
        .unwrap();
    // Another execution of the same pipeline is a new card.
    s.publish_body(&execution("exec-0002", "STARTED", "2026-11-23T11:00:00Z"));
    s.sqs
        .wait_for_deleted(&s.queue, 4, 10 * SECOND)
        .await
        .unwrap();

    let top = s.top_level();
    assert_eq!(top.len(), 2, "one card per execution: {top:#?}");
    let first = &top[0];
    assert!(first.edits >= 1, "updated in place");
    let shows = shown(first);
    assert!(shows.contains("SUCCEEDED"), "{shows}");
    assert!(
        !shows.contains("RESUMED") && !shows.contains("STARTED"),
        "{shows}"
    );
    let notes: Vec<String> = s.thread(&first.ts).iter().map(shown).collect();
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(notes[0].contains("SUCCEEDED"), "{}", notes[0]);
    assert!(notes[1].contains("RESUMED"), "{}", notes[1]);
    assert!(shown(&top[1]).contains("STARTED"));
    assert!(s.thread(&top[1].ts).is_empty());
    s.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_notifications_sharing_a_thread_id_share_one_thread() {
    let s = AlarmSandbox::start("pollers = 1\nunwatched_nudge = \"0s\"", &[]).await;
    s.publish_body(&custom("backup-2026-11-23", "Backup started"));
    s.sqs
        .wait_for_deleted(&s.queue, 1, 10 * SECOND)
        .await
        .unwrap();
    s.publish_body(&custom("backup-2026-11-23", "Backup finished"));
    s.publish_body(&custom("deploy-42", "Deploy 42 started"));
    s.sqs
        .wait_for_deleted(&s.queue, 3, 10 * SECOND)
        .await
        .unwrap();

    let top = s.top_level();
    assert_eq!(top.len(), 2, "{top:#?}");
    let backup = top
        .iter()
        .find(|m| shown(m).contains("Backup started"))
        .expect("the first backup notification has the card");
    let replies: Vec<String> = s.thread(&backup.ts).iter().map(shown).collect();
    assert_eq!(replies.len(), 1);
    assert!(replies[0].contains("Backup finished"), "{}", replies[0]);
    assert!(
        !shown(backup).contains("Backup finished"),
        "the card stays the first one"
    );
    s.bot.stop().await.unwrap();
}

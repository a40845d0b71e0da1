//! The real aws-sdk-sqs client pointed at a fake SQS, and small helpers for its tests.
#![allow(dead_code)]

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use aws_sdk_sqs::Client;
use chatops_sandbox::aws::FakeSqs;
use md5::{Digest, Md5};
use tokio::time::Instant;

pub async fn client_with(fake: &FakeSqs, retry: RetryConfig) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(fake.endpoint_url())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(retry)
        .load()
        .await;
    Client::new(&config)
}

pub async fn client(fake: &FakeSqs) -> Client {
    client_with(fake, RetryConfig::standard()).await
}

pub fn md5_hex(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// Runs `work`, returning how long it took with its output.
pub async fn timed<T>(work: impl std::future::Future<Output = T>) -> (Duration, T) {
    let started = Instant::now();
    let output = work.await;
    (started.elapsed(), output)
}

pub fn assert_between(took: Duration, min_ms: u64, max_ms: u64) {
    let range = Duration::from_millis(min_ms)..Duration::from_millis(max_ms);
    assert!(range.contains(&took), "took {took:?}, expected {range:?}");
}

/// ReceiveMessage for up to 10 messages with every attribute, waiting `wait` seconds, with an
/// optional visibility timeout override.
pub async fn receive(
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

pub fn receive_count(message: &Message) -> Option<&str> {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .map(String::as_str)
}

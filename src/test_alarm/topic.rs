//! Publishing to the alarm topic: the `AlarmTopic` trait and `SnsTopic` over aws-sdk-sns.

use async_trait::async_trait;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sns::types::MessageAttributeValue;

use super::message::{TestAlarm, TopicArn};
use crate::alarms::TEST_ALARM_ATTRIBUTE;

/// Why a publish failed, said so an operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("SNS has no topic {topic} (check alarms.topic_arn and aws.region)")]
    NoSuchTopic { topic: String },
    #[error("SNS refused: the credentials need sns:Publish on {topic} ({detail})")]
    Denied { topic: String, detail: String },
    #[error("publishing to {topic} failed: {detail}")]
    Failed { topic: String, detail: String },
}

/// The SNS topic the alarms publish to.
#[async_trait]
pub trait AlarmTopic: Send + Sync {
    /// Publishes `alarm` with the test attribute; returns the SNS message id.
    async fn publish(&self, alarm: &TestAlarm) -> Result<String, PublishError>;
}

/// [`AlarmTopic`] over aws-sdk-sns.
pub struct SnsTopic {
    client: aws_sdk_sns::Client,
    topic: TopicArn,
}

impl SnsTopic {
    /// A client in the topic's own region (SNS only publishes through it), with the endpoint
    /// override of `sdk` when there is one.
    pub fn new(sdk: &aws_config::SdkConfig, topic: TopicArn) -> Self {
        let config = aws_sdk_sns::config::Builder::from(sdk)
            .region(aws_sdk_sns::config::Region::new(topic.region.clone()))
            .build();
        Self {
            client: aws_sdk_sns::Client::from_conf(config),
            topic,
        }
    }
}

#[async_trait]
impl AlarmTopic for SnsTopic {
    async fn publish(&self, alarm: &TestAlarm) -> Result<String, PublishError> {
        let marker = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("1")
            .build()
            .map_err(|e| self.failed(e.to_string()))?;
        let published = self
            .client
            .publish()
            .topic_arn(&self.topic.arn)
            .subject(&alarm.subject)
            .message(&alarm.message)
            .message_attributes(TEST_ALARM_ATTRIBUTE, marker)
            .send()
            .await;
        match published {
            Ok(output) => output
                .message_id
                .ok_or_else(|| self.failed("SNS answered without a MessageId".to_owned())),
            Err(e) => {
                let detail = DisplayErrorContext(&e).to_string();
                let topic = self.topic.arn.clone();
                Err(match e.code() {
                    Some("NotFound") => PublishError::NoSuchTopic { topic },
                    Some("AuthorizationError" | "AccessDenied" | "AccessDeniedException") => {
                        PublishError::Denied { topic, detail }
                    }
                    _ => PublishError::Failed { topic, detail },
                })
            }
        }
    }
}

impl SnsTopic {
    fn failed(&self, detail: String) -> PublishError {
        PublishError::Failed {
            topic: self.topic.arn.clone(),
            detail,
        }
    }
}

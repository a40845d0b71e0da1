//! `check --live` against SQS: the alarm queue's depth (GetQueueAttributes), and when a redrive
//! policy names a dead-letter queue, that queue's depth (its URL found with GetQueueUrl).

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName;

/// How many messages a queue holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Depth {
    /// `ApproximateNumberOfMessages`: waiting to be received.
    pub waiting: u64,
    /// `ApproximateNumberOfMessagesNotVisible`: received, not yet deleted.
    pub in_flight: u64,
}

/// Where failed alarms go.
#[derive(Debug)]
pub enum DeadLetter {
    /// The queue has no redrive policy: a message that keeps failing comes back for ever (until
    /// its retention ends), and nothing collects it.
    NotSet,
    /// The redrive policy's queue, read.
    Found {
        name: String,
        max_receive_count: Option<u64>,
        depth: Depth,
    },
    /// The redrive policy names a queue that could not be read.
    Unreadable { arn: String, error: QueueCheckError },
}

/// The alarm queue as SQS describes it.
#[derive(Debug)]
pub struct QueueHealth {
    pub arn: Option<String>,
    pub depth: Depth,
    pub dead_letter: DeadLetter,
}

/// Why a queue could not be read.
#[derive(Debug, thiserror::Error)]
pub enum QueueCheckError {
    #[error("queue {queue} does not exist in this region and account")]
    NotFound { queue: String },
    #[error("access denied: the bot's credentials need {action} on {queue}")]
    AccessDenied {
        action: &'static str,
        queue: String,
        message: String,
    },
    #[error("AWS refused the bot's credentials ({code}: {message})")]
    Credentials { code: String, message: String },
    #[error("{operation} failed: {detail}")]
    Failed {
        operation: &'static str,
        detail: String,
    },
}

/// Reads the queue at `queue_url`, then its dead-letter queue if its redrive policy names one.
pub async fn inspect(
    sdk: &aws_config::SdkConfig,
    queue_url: &str,
) -> Result<QueueHealth, QueueCheckError> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let (arn, depth, redrive) = attributes(&client, queue_url).await?;
    let dead_letter = match redrive {
        None => DeadLetter::NotSet,
        Some(policy) => dead_letter(&client, policy).await,
    };
    Ok(QueueHealth {
        arn,
        depth,
        dead_letter,
    })
}

/// A redrive policy: `{"deadLetterTargetArn": "arn:…", "maxReceiveCount": 5}` (the count is
/// sometimes a string).
#[derive(Debug, PartialEq, Eq)]
struct Redrive {
    arn: String,
    max_receive_count: Option<u64>,
}

fn parse_redrive(text: &str) -> Option<Redrive> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let arn = value.get("deadLetterTargetArn")?.as_str()?.to_owned();
    let max_receive_count = match value.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Some(Redrive {
        arn,
        max_receive_count,
    })
}

/// `arn:<partition>:sqs:<region>:<account>:<name>` → (account, name).
fn account_and_name(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, account, name] if !name.is_empty() => Some((account, name)),
        _ => None,
    }
}

async fn attributes(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<(Option<String>, Depth, Option<Redrive>), QueueCheckError> {
    const OPERATION: &str = "GetQueueAttributes";
    let output = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .map_err(|e| classify(OPERATION, queue_url, e))?;
    let attributes = output.attributes();
    let get = |name: QueueAttributeName| attributes.and_then(|a| a.get(&name)).cloned();
    let count = |name: QueueAttributeName| get(name).and_then(|n| n.parse().ok()).unwrap_or(0);
    let depth = Depth {
        waiting: count(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    };
    let redrive = get(QueueAttributeName::RedrivePolicy).and_then(|text| parse_redrive(&text));
    Ok((get(QueueAttributeName::QueueArn), depth, redrive))
}

async fn dead_letter(client: &aws_sdk_sqs::Client, policy: Redrive) -> DeadLetter {
    let unreadable = |error| DeadLetter::Unreadable {
        arn: policy.arn.clone(),
        error,
    };
    let Some((account, name)) = account_and_name(&policy.arn) else {
        return unreadable(QueueCheckError::Failed {
            operation: "GetQueueUrl",
            detail: format!(
                "the redrive policy's target {} is not an SQS ARN",
                policy.arn
            ),
        });
    };
    let url = client
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
        .map_err(|e| classify("GetQueueUrl", name, e));
    let url = match url.map(|output| output.queue_url().map(str::to_owned)) {
        Ok(Some(url)) => url,
        Ok(None) => {
            return unreadable(QueueCheckError::Failed {
                operation: "GetQueueUrl",
                detail: "SQS answered without a URL".to_owned(),
            })
        }
        Err(error) => return unreadable(error),
    };
    match attributes(client, &url).await {
        Ok((_, depth, _)) => DeadLetter::Found {
            name: name.to_owned(),
            max_receive_count: policy.max_receive_count,
            depth,
        },
        Err(error) => unreadable(error),
    }
}

/// The error of `operation` on `queue` by cause: AWS's code decides, not the message.
fn classify<E>(operation: &'static str, queue: &str, error: E) -> QueueCheckError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error.code().unwrap_or_default().to_owned();
    let message = error.message().unwrap_or_default().to_owned();
    match code.as_str() {
        "AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist" => {
            QueueCheckError::NotFound {
                queue: queue.to_owned(),
            }
        }
        "AccessDenied" | "AccessDeniedException" => QueueCheckError::AccessDenied {
            action: iam_action(operation),
            queue: queue.to_owned(),
            message,
        },
        "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "InvalidSecurity" => QueueCheckError::Credentials { code, message },
        _ => QueueCheckError::Failed {
            operation,
            detail: aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
        },
    }
}

/// The IAM action an SQS operation needs.
fn iam_action(operation: &str) -> &'static str {
    match operation {
        "GetQueueUrl" => "sqs:GetQueueUrl",
        _ => "sqs:GetQueueAttributes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redrive_policy_names_its_queue_and_count() {
        assert_eq!(
            parse_redrive(
                r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:123456789012:alarms-dlq","maxReceiveCount":"5"}"#
            ),
            Some(Redrive {
                arn: "arn:aws:sqs:eu-west-1:123456789012:alarms-dlq".into(),
                max_receive_count: Some(5)
            })
        );
        assert_eq!(parse_redrive("{}"), None);
        assert_eq!(
            account_and_name("arn:aws:sqs:eu-west-1:123456789012:alarms-dlq"),
            Some(("123456789012", "alarms-dlq"))
        );
        assert_eq!(account_and_name("arn:aws:sns:eu-west-1:1:topic"), None);
    }
}

//! SQS errors as the JSON protocol carries them: an HTTP status, a `__type` in the body and the
//! query-compatible `x-amzn-query-error` header that aws-sdk-sqs reads the error code from.

use std::fmt;

/// One SQS error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsError {
    /// HTTP status (400 for client errors, 500 for internal ones).
    pub status: u16,
    /// The `__type` value, e.g. `com.amazonaws.sqs#QueueDoesNotExist`.
    pub type_name: String,
    /// The `x-amzn-query-error` value, e.g. `AWS.SimpleQueueService.NonExistentQueue;Sender`.
    pub query_error: String,
    /// Human-readable message.
    pub message: String,
}

impl SqsError {
    fn new(status: u16, type_name: &str, query_code: &str, message: impl Into<String>) -> Self {
        let fault = if status >= 500 { "Receiver" } else { "Sender" };
        SqsError {
            status,
            type_name: type_name.to_string(),
            query_error: format!("{query_code};{fault}"),
            message: message.into(),
        }
    }

    /// The short error name: `__type` without its namespace.
    pub fn short_type(&self) -> &str {
        self.type_name
            .rsplit_once('#')
            .map_or(self.type_name.as_str(), |(_, short)| short)
    }

    /// The code the SDK matches on (the part of `x-amzn-query-error` before `;`).
    pub fn code(&self) -> &str {
        self.query_error
            .split_once(';')
            .map_or(self.query_error.as_str(), |(code, _)| code)
    }

    pub(crate) fn queue_does_not_exist() -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist.",
        )
    }

    pub(crate) fn receipt_handle_is_invalid(handle: &str) -> Self {
        let shown: String = handle.chars().take(24).collect();
        Self::new(
            400,
            "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{shown}…\" is not a valid receipt handle."),
        )
    }

    pub(crate) fn message_not_inflight() -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            "The message referred to isn't in flight.",
        )
    }

    pub(crate) fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#InvalidParameterValueException",
            "InvalidParameterValue",
            message,
        )
    }

    pub(crate) fn missing_parameter(name: &str) -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#MissingRequiredParameterException",
            "MissingParameter",
            format!("The request must contain the parameter {name}."),
        )
    }

    pub(crate) fn invalid_attribute_name(name: &str) -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#InvalidAttributeName",
            "InvalidAttributeName",
            format!("Unknown Attribute {name}."),
        )
    }

    pub(crate) fn queue_already_exists(name: &str) -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#QueueNameExists",
            "QueueAlreadyExists",
            format!("A queue already exists with the same name ({name}) and a different value for attribute(s)."),
        )
    }

    pub(crate) fn over_limit(message: impl Into<String>) -> Self {
        Self::new(400, "com.amazonaws.sqs#OverLimit", "OverLimit", message)
    }

    pub(crate) fn empty_batch() -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one entry in the request.",
        )
    }

    pub(crate) fn too_many_entries(count: usize) -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are 10. You have sent {count}."),
        )
    }

    pub(crate) fn batch_ids_not_distinct(id: &str) -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            format!("Id {id} repeated."),
        )
    }

    pub(crate) fn unknown_operation(target: &str) -> Self {
        Self::new(
            400,
            "com.amazon.coral.service#UnknownOperationException",
            "UnknownOperation",
            format!("Unknown operation {target}"),
        )
    }

    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Self::new(
            400,
            "com.amazon.coral.service#SerializationException",
            "SerializationException",
            message,
        )
    }

    /// SQS's own throttling error (retried by the SDK).
    pub(crate) fn request_throttled() -> Self {
        Self::new(
            400,
            "com.amazonaws.sqs#RequestThrottled",
            "RequestThrottled",
            "Request is throttled.",
        )
    }

    /// The generic AWS throttling error (retried by the SDK).
    pub(crate) fn throttling_exception() -> Self {
        Self::new(
            400,
            "ThrottlingException",
            "ThrottlingException",
            "Rate exceeded",
        )
    }

    /// The caller's policy does not allow the operation (not retried).
    pub(crate) fn access_denied() -> Self {
        Self::new(
            403,
            "com.amazon.coral.service#AccessDeniedException",
            "AccessDenied",
            "User: arn:aws:sts::123456789012:assumed-role/chatops-bot/i-0sandbox is not \
             authorized to perform this operation on the queue",
        )
    }

    /// An internal failure (HTTP 500, retried by the SDK).
    pub(crate) fn internal_error() -> Self {
        Self::new(
            500,
            "com.amazon.coral.service#InternalFailure",
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }
}

impl fmt::Display for SqsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.short_type(), self.message)
    }
}

impl std::error::Error for SqsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_ones_the_sdk_matches() {
        let missing = SqsError::queue_does_not_exist();
        assert_eq!(missing.code(), "AWS.SimpleQueueService.NonExistentQueue");
        assert_eq!(missing.short_type(), "QueueDoesNotExist");
        assert_eq!(
            missing.query_error,
            "AWS.SimpleQueueService.NonExistentQueue;Sender"
        );
        let internal = SqsError::internal_error();
        assert_eq!(internal.status, 500);
        assert!(internal.query_error.ends_with(";Receiver"));
        assert_eq!(
            SqsError::throttling_exception().short_type(),
            "ThrottlingException"
        );
    }
}

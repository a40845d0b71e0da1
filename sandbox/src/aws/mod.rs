//! A local Amazon SQS that speaks the AWS JSON 1.0 protocol aws-sdk-sqs uses, over loopback,
//! with a control API to seed messages (plain or SNS-wrapped), inspect queues, inject faults and
//! read per-message latencies.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//! use chatops_sandbox::aws::FakeSqs;
//! let sqs = FakeSqs::start().await?;
//! sqs.create_queue("alarms-dlq", Duration::from_secs(30), None)?;
//! let url = sqs.create_queue("alarms", Duration::from_secs(30), Some(("alarms-dlq", 3)))?;
//! // point the bot's SQS client at sqs.endpoint_url() and the queue at `url`, then:
//! sqs.publish_sns(&url, Some("ALARM"), r#"{"AlarmName":"cpu-high"}"#, BTreeMap::new(), false)?;
//! sqs.wait_for_deleted(&url, 1, Duration::from_secs(5)).await?;
//! sqs.shutdown().await;
//! # Ok(()) }
//! ```

mod control;
mod digest;
mod error;
mod faults;
mod history;
mod ids;
mod message_ops;
mod model;
mod params;
mod protocol;
mod queue_ops;
mod receive;
mod record;
mod shared;
mod sns;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use control::SnsDelivery;
pub use error::SqsError;
pub use faults::SqsFault;
pub use history::{MessageHistory, ReceiveLatency, ReceiveRecord};
pub use record::{SqsCall, SqsTimelineEntry, SqsTimelineKind};
pub use sns::{notification_body, DEFAULT_TOPIC_ARN};

use record::SqsTimelineKind as Kind;
use shared::Shared;

/// The account id in every queue URL and ARN.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region in every ARN.
pub const REGION: &str = "eu-west-1";

/// How long `shutdown` waits for the server task before aborting it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// A running fake SQS on 127.0.0.1. Dropping it stops the server too; `shutdown` also waits.
pub struct FakeSqs {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl FakeSqs {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start() -> anyhow::Result<FakeSqs> {
        FakeSqs::start_on_port(0).await
    }

    /// Binds 127.0.0.1:`port` (0 = any free port) and starts serving.
    pub async fn start_on_port(port: u16) -> anyhow::Result<FakeSqs> {
        let (listener, addr) = crate::serve::bind_loopback("the fake SQS", port).await?;
        let shared = Arc::new(Shared::new(addr));
        let app = protocol::router(Arc::clone(&shared));
        let task =
            crate::serve::until_stopped("the fake SQS", listener, app, shared.shutdown.subscribe());
        shared.note(Kind::Queue, format!("fake SQS up: http://{addr}/"));
        Ok(FakeSqs {
            shared,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for the SDK's `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The listener address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Answers Secrets Manager calls on this port too, from `secrets`: the bot has one
    /// `aws.endpoint_url` for every AWS client.
    pub fn serve_secrets_manager(&self, secrets: &crate::secretsmanager::FakeSecretsManager) {
        *record::lock(&self.shared.secrets) = Some(secrets.shared());
    }

    /// When the fake started (timeline offsets count from here).
    pub fn started(&self) -> Instant {
        self.shared.started
    }

    /// Stops the listener; long polls in progress answer empty at once. Waits a bounded time.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        self.shared
            .note(Kind::Queue, "fake SQS shutting down".to_string());
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_WAIT, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeSqs {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

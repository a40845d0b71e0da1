//! A local Amazon CloudWatch answering GetMetricWidgetImage in the Smithy RPC v2 CBOR protocol aws-sdk-cloudwatch speaks, with a small PNG, a record of every request, and faults (an error status, AccessDenied, a hang).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use chatops_sandbox::cloudwatch::{FakeCloudWatch, GraphFault};
//! let cloudwatch = FakeCloudWatch::start().await?;
//! // point the bot's aws.endpoints.cloudwatch at cloudwatch.endpoint_url(), then:
//! cloudwatch.set_fault(Some(GraphFault::AccessDenied));
//! assert!(cloudwatch.requests().is_empty());
//! cloudwatch.shutdown().await;
//! # Ok(()) }
//! ```

mod alarm_data;
mod png;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use alarm_data::{DataFault, DataRequest, FakeAlarm, FakeHistoryItem};
pub use png::tiny_png;
use server::Shared;
pub use server::{GraphFault, WidgetRequest};

/// How long `shutdown` waits for the server task before aborting it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// A running fake CloudWatch on 127.0.0.1. Dropping it stops the server too.
pub struct FakeCloudWatch {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl FakeCloudWatch {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on_port(0).await
    }

    /// Binds 127.0.0.1:`port` (0 = any free port) and starts serving.
    pub async fn start_on_port(port: u16) -> anyhow::Result<Self> {
        let (listener, addr) = crate::serve::bind_loopback("the fake CloudWatch", port).await?;
        let shared = Arc::new(Shared::default());
        let app = server::router(Arc::clone(&shared));
        let task = crate::serve::until_stopped(
            "the fake CloudWatch",
            listener,
            app,
            shared.shutdown.subscribe(),
        );
        Ok(Self {
            shared,
            addr,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for `aws.endpoints.cloudwatch`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every GetMetricWidgetImage answers with `fault` until it is set to `None`.
    pub fn set_fault(&self, fault: Option<GraphFault>) {
        self.shared.set_fault(fault);
    }

    /// Every request so far (any operation), oldest first.
    pub fn requests(&self) -> Vec<WidgetRequest> {
        self.shared.requests()
    }

    /// GetMetricData answers query `id` with `values`, repeated to fill the asked range.
    pub fn set_series(&self, id: &str, values: Vec<f64>) {
        self.data().series.insert(id.to_owned(), values);
    }

    /// DescribeAlarms knows `alarm` (replacing one of the same name).
    pub fn set_alarm(&self, alarm: FakeAlarm) {
        let mut data = self.data();
        data.alarms.retain(|a| a.name != alarm.name);
        data.alarms.push(alarm);
    }

    /// DescribeAlarmHistory has `item`.
    pub fn add_history(&self, item: FakeHistoryItem) {
        self.data().history.push(item);
    }

    /// `operation` (GetMetricData, DescribeAlarms, DescribeAlarmHistory) answers with `fault`
    /// until it is set to `None`.
    pub fn set_data_fault(&self, operation: &str, fault: Option<DataFault>) {
        let mut data = self.data();
        match fault {
            Some(fault) => data.faults.insert(operation.to_owned(), fault),
            None => data.faults.remove(operation),
        };
    }

    /// Every alarm-data request so far, oldest first, its input as JSON.
    pub fn data_requests(&self) -> Vec<DataRequest> {
        self.data().requests.clone()
    }

    fn data(&self) -> std::sync::MutexGuard<'_, alarm_data::DataState> {
        self.shared.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops the listener; a hanging call answers at once. Waits a bounded time.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_WAIT, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeCloudWatch {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

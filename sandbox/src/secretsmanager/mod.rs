//! A local AWS Secrets Manager speaking the AWS JSON 1.1 protocol aws-sdk-secretsmanager uses (`X-Amz-Target: secretsmanager.GetSecretValue`) over loopback: secrets set and rotated by tests, every call counted per secret id, and faults (AccessDenied, ResourceNotFound, a hang).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use chatops_sandbox::secretsmanager::{FakeSecretsManager, SecretsFault};
//! let secrets = FakeSecretsManager::start().await?;
//! secrets.set_json("wn/chatops/secret", &serde_json::json!({"slack_token": "xoxb-sandbox"}));
//! // point the bot's aws.endpoint_url at secrets.endpoint_url(), then, after a rotation:
//! secrets.set_json("wn/chatops/secret", &serde_json::json!({"slack_token": "xoxb-rotated"}));
//! assert_eq!(secrets.get_calls("wn/chatops/secret"), 0);
//! secrets.set_fault("wn/chatops/secret", Some(SecretsFault::AccessDenied));
//! secrets.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The bot has one `aws.endpoint_url` for every AWS client, so [`crate::aws::FakeSqs`] can also
//! answer Secrets Manager calls on its own port (`FakeSqs::serve_secrets_manager`).

mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub(crate) use server::{answer, Shared};
pub use server::{SecretsCall, SecretsFault};

/// How long `shutdown` waits for the server task before aborting it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// A running fake Secrets Manager on 127.0.0.1. Dropping it stops the server too.
pub struct FakeSecretsManager {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl FakeSecretsManager {
    /// Binds 127.0.0.1 on a free port and starts serving, with no secrets.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on_port(0).await
    }

    /// Binds 127.0.0.1:`port` (0 = any free port) and starts serving.
    pub async fn start_on_port(port: u16) -> anyhow::Result<Self> {
        let (listener, addr) =
            crate::serve::bind_loopback("the fake Secrets Manager", port).await?;
        let shared = Arc::new(Shared::default());
        let app = server::router(Arc::clone(&shared));
        let task = crate::serve::until_stopped(
            "the fake Secrets Manager",
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

    /// `http://127.0.0.1:PORT`, for `aws.endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets `id`'s SecretString: creates the secret, or puts a new current version (a rotation).
    pub fn set_secret(&self, id: &str, text: &str) {
        self.shared.put(id, server::Value::Text(text.to_owned()));
    }

    /// Sets `id`'s SecretString to `value` as JSON, the way the team's secrets hold keys.
    pub fn set_json(&self, id: &str, value: &serde_json::Value) {
        self.set_secret(id, &value.to_string());
    }

    /// Sets `id` to a binary secret (SecretBinary), which has no SecretString.
    pub fn set_binary(&self, id: &str, bytes: &[u8]) {
        self.shared.put(id, server::Value::Binary(bytes.to_vec()));
    }

    /// Deletes `id` at once: later calls answer ResourceNotFoundException.
    pub fn delete(&self, id: &str) {
        self.shared.delete(id);
    }

    /// Every call naming `id` (or any id, for `"*"`) answers with `fault` until it is set to
    /// `None`.
    pub fn set_fault(&self, id: &str, fault: Option<SecretsFault>) {
        self.shared.set_fault(id, fault);
    }

    /// GetSecretValue calls that named `id` (by name or ARN), whatever they answered.
    pub fn get_calls(&self, id: &str) -> usize {
        self.calls()
            .iter()
            .filter(|call| call.operation == "GetSecretValue" && call.names(id))
            .count()
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<SecretsCall> {
        self.shared.calls()
    }

    /// The ARN the fake gave `id`, if it exists.
    pub fn arn(&self, id: &str) -> Option<String> {
        self.shared.arn(id)
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

    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }
}

impl Drop for FakeSecretsManager {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

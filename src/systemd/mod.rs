//! Running as a `Type=notify` systemd service: READY, STATUS, STOPPING and the watchdog, over `$NOTIFY_SOCKET`.
//!
//! `address.rs` reads what systemd puts in the environment, `notifier.rs` sends datagrams,
//! `status.rs` writes the status line and `supervisor.rs` decides what to send when, from the
//! daemon's `Health`. Outside systemd (`$NOTIFY_SOCKET` unset) none of it runs.

pub mod address;
pub mod notifier;
pub mod status;
pub mod supervisor;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::health::Health;
use address::watchdog_period;
use notifier::Notifier;
use supervisor::Supervisor;

/// Report to systemd until `stop` (then `STOPPING=1`), if systemd started us; else return at once.
pub async fn supervise(health: Arc<Health>, stop: CancellationToken) {
    let notifier = match Notifier::from_env() {
        Ok(Some(notifier)) => notifier,
        Ok(None) => return,
        Err(e) => {
            warn!(error = %e, "Not reporting to systemd: NOTIFY_SOCKET cannot be used.");
            return;
        }
    };
    let usec = std::env::var_os("WATCHDOG_USEC");
    let pid = std::env::var_os("WATCHDOG_PID");
    let watchdog = watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id())
        .unwrap_or_else(|e| {
            warn!(error = %e, "The systemd watchdog is off: its variables cannot be used.");
            None
        });
    info!(
        socket = %notifier.address(),
        watchdog_every = ?watchdog,
        "Reporting to systemd (Type=notify)."
    );
    Supervisor::new(health, watchdog).run(notifier, stop).await;
}

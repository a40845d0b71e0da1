//! Where the moto tests find moto: `CHATOPS_TEST_MOTO_ENDPOINT`, else a `moto_server` they start.
//!
//! With no endpoint given, each test starts its own `moto_server` on 127.0.0.1 and a free port and
//! kills it by PID when it is done. Without `moto_server` on PATH the test fails and says how to
//! get it; only `CHATOPS_SKIP_MOTO=1`, set on purpose, skips these tests.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::time::Instant;

pub const MOTO_ENDPOINT_VAR: &str = "CHATOPS_TEST_MOTO_ENDPOINT";
pub const SKIP_MOTO_VAR: &str = "CHATOPS_SKIP_MOTO";
const MOTO_SERVER: &str = "moto_server";
const INSTALL: &str = "pip install 'moto[server]>=5,<6'";
/// How long a fresh `moto_server` may take to listen (Python imports are slow on a loaded machine).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A moto endpoint for one test; a server this test started dies with it.
pub struct MotoServer {
    pub endpoint: String,
    started: Option<StartedServer>,
}

struct StartedServer {
    child: Child,
    /// Holds `moto_server.log`, shown when the server does not come up.
    log_dir: tempfile::TempDir,
}

impl MotoServer {
    /// The endpoint in `CHATOPS_TEST_MOTO_ENDPOINT`, or a `moto_server` started here; `None` only
    /// when `CHATOPS_SKIP_MOTO=1` asks to skip (and there is no endpoint).
    pub async fn find() -> anyhow::Result<Option<MotoServer>> {
        match std::env::var(MOTO_ENDPOINT_VAR) {
            Ok(endpoint) => {
                let endpoint = endpoint.trim_end_matches('/').to_owned();
                return Ok(Some(MotoServer {
                    endpoint,
                    started: None,
                }));
            }
            Err(std::env::VarError::NotPresent) => {}
            Err(e) => bail!("{MOTO_ENDPOINT_VAR} is not usable: {e}"),
        }
        if std::env::var(SKIP_MOTO_VAR).as_deref() == Ok("1") {
            println!("skipped on purpose: {SKIP_MOTO_VAR}=1 and no {MOTO_ENDPOINT_VAR}");
            return Ok(None);
        }
        Self::start().await.map(Some)
    }

    /// Starts `moto_server` on 127.0.0.1 and a free port, and waits until it listens.
    async fn start() -> anyhow::Result<MotoServer> {
        let port = free_port()?;
        let log_dir = tempfile::tempdir().context("a directory for moto_server.log")?;
        let log_path = log_dir.path().join("moto_server.log");
        let log = std::fs::File::create(&log_path).context("creating moto_server.log")?;
        let spawned = Command::new(MOTO_SERVER)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("moto_server.log")?)
            .stderr(log)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => bail!(
                "these tests need moto and `{MOTO_SERVER}` is not on PATH: install it with \
                 `{INSTALL}` (then the tests start it themselves), or point {MOTO_ENDPOINT_VAR} \
                 at a running moto_server, or set {SKIP_MOTO_VAR}=1 to skip them on purpose"
            ),
            Err(e) => return Err(e).context(format!("starting {MOTO_SERVER}")),
        };
        let mut server = MotoServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            started: Some(StartedServer { child, log_dir }),
        };
        server.wait_until_listening(port).await?;
        Ok(server)
    }

    /// Polls the port every 100 ms for up to `START_LIMIT`; fails early if the server exits.
    async fn wait_until_listening(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            let started = self.started.as_mut().context("no server was started")?;
            if let Some(status) = started.child.try_wait()? {
                bail!(
                    "{MOTO_SERVER} exited ({status}) before listening on port {port}:\n{}",
                    started.log()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{MOTO_SERVER} did not listen on port {port} within {START_LIMIT:?}:\n{}",
                    started.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl StartedServer {
    fn log(&self) -> String {
        let path = self.log_dir.path().join("moto_server.log");
        std::fs::read_to_string(&path).unwrap_or_else(|e| format!("({}: {e})", path.display()))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(started) = self.started.as_mut() {
            // Kills this test's own child by its PID, and reaps it.
            let _ = started.child.kill();
            let _ = started.child.wait();
        }
    }
}

/// A port nothing listens on now (the OS picks it; moto binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let probe = TcpListener::bind("127.0.0.1:0").context("binding a probe port on 127.0.0.1")?;
    Ok(probe.local_addr()?.port())
}

//! `CliRunner`: the real `AwsCli`. One child process per run (an argv vector, never a shell) in a cleared environment, its own process group killed at the timeout, its output capped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::config::ProxySettings;

use super::credentials::{session_name, RoleCredentials};
use super::output::{read_capped, redact, Keep};
use super::{AwsCli, CliError, CliOutput, CliRun};

/// `PATH` inside the child: the system directories only.
const CHILD_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How much output a run keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CliLimits {
    /// A run still going after this long is killed (with everything it started).
    pub timeout: Duration,
    /// stdout kept; the rest is read and dropped (`stdout_truncated`).
    pub stdout_cap: usize,
    /// stderr kept (its end).
    pub stderr_cap: usize,
}

impl CliLimits {
    /// 1 MB of stdout, 16 KB of stderr, and `timeout`.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            stdout_cap: 1024 * 1024,
            stderr_cap: 16 * 1024,
        }
    }
}

/// Runs `aws` as the role `credentials` gives.
pub struct CliRunner {
    cli: Option<PathBuf>,
    credentials: Arc<dyn RoleCredentials>,
    proxy_env: Vec<(&'static str, SecretString)>,
    home: PathBuf,
    limits: CliLimits,
}

/// The first executable `aws` in `path` (a `PATH` value).
pub fn find_on_path(path: Option<&str>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join("aws"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

impl CliRunner {
    /// `cli` (`None`: not installed, every run says how to install it), the role's
    /// `credentials`, the proxy route for the child, and a private `home` (HOME and TMPDIR of
    /// every run; created mode 0700 if missing).
    pub fn new(
        cli: Option<PathBuf>,
        credentials: Arc<dyn RoleCredentials>,
        proxy: &ProxySettings,
        home: PathBuf,
        limits: CliLimits,
    ) -> Self {
        Self {
            cli,
            credentials,
            proxy_env: crate::egress::child_process_env(proxy),
            home,
            limits,
        }
    }

    /// The executable runs use, if any.
    pub fn cli(&self) -> Option<&Path> {
        self.cli.as_deref()
    }

    fn private_home(&self) -> Result<&Path, CliError> {
        use std::os::unix::fs::DirBuilderExt;
        if !self.home.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.home)
                .map_err(CliError::Spawn)?;
        }
        Ok(&self.home)
    }
}

#[async_trait]
impl AwsCli for CliRunner {
    async fn run(&self, run: &CliRun) -> Result<CliOutput, CliError> {
        let cli = match &self.cli {
            Some(cli) if is_executable(cli) => cli,
            other => {
                return Err(CliError::NotInstalled {
                    path: other.clone(),
                })
            }
        };
        let credentials = self
            .credentials
            .credentials(&session_name(&run.user))
            .await
            .map_err(CliError::Credentials)?;
        let home = self.private_home()?;
        let mut command = tokio::process::Command::new(cli);
        command
            .args(&run.args)
            .args(["--output", "json"])
            .env_clear()
            .env(
                "AWS_ACCESS_KEY_ID",
                credentials.access_key_id.expose_secret(),
            )
            .env(
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key.expose_secret(),
            )
            .env(
                "AWS_SESSION_TOKEN",
                credentials.session_token.expose_secret(),
            )
            .env("AWS_REGION", &run.region)
            .env("AWS_DEFAULT_REGION", &run.region)
            .env("AWS_PAGER", "")
            .env("AWS_CLI_AUTO_PROMPT", "off")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", home)
            .env("TMPDIR", home)
            .env("PATH", CHILD_PATH)
            .env("LANG", "C.UTF-8")
            .envs(
                self.proxy_env
                    .iter()
                    .map(|(name, value)| (*name, value.expose_secret())),
            )
            .current_dir(home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => CliError::NotInstalled {
                path: Some(cli.clone()),
            },
            _ => CliError::Spawn(error),
        })?;
        let group = child.id();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let limits = self.limits;
        let finished = tokio::time::timeout(limits.timeout, async {
            tokio::join!(
                read_capped(stdout, limits.stdout_cap, Keep::Head),
                read_capped(stderr, limits.stderr_cap, Keep::Tail),
                child.wait(),
            )
        })
        .await;
        let (stdout, stderr, status) = match finished {
            Ok(done) => done,
            Err(_) => {
                kill_group(group);
                let _ = child.start_kill();
                // Killed: reaped at once (kill_on_drop covers a wait that fails).
                let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
                return Err(CliError::TimedOut {
                    after: limits.timeout,
                });
            }
        };
        let duration = started.elapsed();
        let status = status.map_err(CliError::Spawn)?;
        let (stdout, stdout_truncated) = stdout.map_err(CliError::Spawn)?;
        let (stderr, _) = stderr.map_err(CliError::Spawn)?;
        // The CLI has no reason to print the role's credentials; if it ever does, they go.
        let secrets = credentials.parts();
        Ok(CliOutput {
            exit_code: status.code(),
            stdout: redact(stdout, &secrets),
            stdout_truncated,
            stderr: String::from_utf8_lossy(&redact(stderr, &secrets)).into_owned(),
            duration,
        })
    }
}

/// `aws --version` of `cli` (its first line, such as `aws-cli/2.17.0 Python/3.11.9 …`), run
/// like a command (cleared environment, minimal `PATH`, killed after `limit`).
pub async fn cli_version(cli: &Path, limit: Duration) -> Result<String, CliError> {
    if !is_executable(cli) {
        return Err(CliError::NotInstalled {
            path: Some(cli.to_owned()),
        });
    }
    let mut command = tokio::process::Command::new(cli);
    command
        .arg("--version")
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("LANG", "C.UTF-8")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .map_err(|_| CliError::TimedOut { after: limit })?
        .map_err(CliError::Spawn)?;
    // v1 printed its version on stderr.
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// SIGKILL to the child's process group (its id: it was started as the group's leader), so
/// whatever it started goes too and no pipe stays open.
fn kill_group(group: Option<u32>) {
    let Some(group) = group
        .and_then(|id| i32::try_from(id).ok())
        .filter(|id| *id > 1)
    else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid names
    // the process group, which the kernel keeps while any member lives, so it is still ours.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

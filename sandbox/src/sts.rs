//! A local AWS STS speaking the AWS Query protocol aws-sdk-sts uses (`POST /`, form body `Action=AssumeRole&Version=2011-06-15&RoleArn=…&RoleSessionName=…`, an XML answer): AssumeRole hands out fresh temporary credentials, every call is recorded, and AccessDenied can be switched on.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use chatops_sandbox::sts::FakeSts;
//! let sts = FakeSts::start().await?;
//! // point the bot's aws.endpoints.sts at sts.endpoint_url(), run a command, then:
//! let call = &sts.calls()[0];
//! assert_eq!(call.session_name.as_deref(), Some("chatops-bot-U0ALICE"));
//! let issued = sts.issued(); // what the role's credentials were, to look for leaks
//! # let _ = issued;
//! sts.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);
const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// One call the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsCall {
    pub action: String,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u64>,
    /// The access key id that signed the call (from `Authorization`), if signed.
    pub signed_by: Option<String>,
    pub status: u16,
}

/// Credentials the fake handed out. They are fake, but tests treat them as secret: they must
/// never show in Slack, logs or the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub session_name: String,
}

#[derive(Default)]
struct State_ {
    calls: Vec<StsCall>,
    issued: Vec<IssuedCredentials>,
    deny: bool,
    lifetime: Option<Duration>,
}

struct Shared {
    state: Mutex<State_>,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running fake STS on 127.0.0.1. Dropping it stops the server too.
pub struct FakeSts {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl FakeSts {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start() -> anyhow::Result<Self> {
        let (listener, addr) = crate::serve::bind_loopback("the fake STS", 0).await?;
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            shutdown: watch::channel(false).0,
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task =
            crate::serve::until_stopped("the fake STS", listener, app, shared.shutdown.subscribe());
        Ok(Self {
            shared,
            addr,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for `aws.endpoints.sts`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every AssumeRole answers 403 AccessDenied while `deny` is true.
    pub fn set_access_denied(&self, deny: bool) {
        self.shared.lock().deny = deny;
    }

    /// How long issued credentials last (the asked `DurationSeconds` by default).
    pub fn set_lifetime(&self, lifetime: Option<Duration>) {
        self.shared.lock().lifetime = lifetime;
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<StsCall> {
        self.shared.lock().calls.clone()
    }

    /// Every set of credentials handed out, oldest first.
    pub fn issued(&self) -> Vec<IssuedCredentials> {
        self.shared.lock().issued.clone()
    }

    /// Stops the listener and waits a bounded time.
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

impl Drop for FakeSts {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let signed_by = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    let mut state = shared.lock();
    let mut call = StsCall {
        action: form.get("Action").cloned().unwrap_or_default(),
        role_arn: form.get("RoleArn").cloned(),
        session_name: form.get("RoleSessionName").cloned(),
        duration_seconds: form.get("DurationSeconds").and_then(|d| d.parse().ok()),
        signed_by,
        status: 200,
    };
    let response = match call.action.as_str() {
        "AssumeRole" if state.deny => {
            call.status = 403;
            error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "User is not authorized to perform: sts:AssumeRole",
            )
        }
        "AssumeRole" => {
            let (Some(role_arn), Some(session)) = (&call.role_arn, &call.session_name) else {
                call.status = 400;
                state.calls.push(call);
                return error(
                    StatusCode::BAD_REQUEST,
                    "ValidationError",
                    "RoleArn and RoleSessionName are required",
                );
            };
            let n = state.issued.len() + 1;
            let issued = IssuedCredentials {
                access_key_id: format!("ASIAFAKESTS{n:09}"),
                secret_access_key: format!("fakeStsSecretAccessKey{n:018}"),
                session_token: format!("FakeStsSessionToken{n:024}"),
                session_name: session.clone(),
            };
            let lifetime = state
                .lifetime
                .unwrap_or(Duration::from_secs(call.duration_seconds.unwrap_or(3600)));
            let expiration = time::OffsetDateTime::now_utc() + lifetime;
            let expiration = expiration
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let role_name = role_arn.rsplit('/').next().unwrap_or_default();
            let body = format!(
                "<AssumeRoleResponse xmlns=\"{XMLNS}\"><AssumeRoleResult>\
                 <AssumedRoleUser><AssumedRoleId>AROAFAKE:{session}</AssumedRoleId>\
                 <Arn>arn:aws:sts::123456789012:assumed-role/{role_name}/{session}</Arn></AssumedRoleUser>\
                 <Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
                 <SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
                 </AssumeRoleResult><ResponseMetadata><RequestId>fake-{n}</RequestId></ResponseMetadata>\
                 </AssumeRoleResponse>",
                issued.access_key_id, issued.secret_access_key, issued.session_token
            );
            state.issued.push(issued);
            (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
        }
        other => {
            call.status = 400;
            let message = format!("the fake STS does not know {other:?}");
            error(StatusCode::BAD_REQUEST, "InvalidAction", &message)
        }
    };
    state.calls.push(call);
    response
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>fake-error</RequestId></ErrorResponse>"
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

//! The real bot binary in a private subnet: every connection through the egress proxy (none around it), and no listening socket.

mod support;

#[path = "egress/listening.rs"]
mod listening;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatops_bot::config::ProxySettings;
use chatops_sandbox::aws::FakeSqs;
use chatops_sandbox::bedrock::FakeBedrock;
use chatops_sandbox::proxy::{ProxyKind, ProxyOptions, ProxyOutcome, ProxyRecord, TestProxy};
use chatops_sandbox::slack::{envelopes, FakeSlack, FakeSlackOptions, Target};
use support::{bot_binary, cloudwatch_alarm, config_toml};

const SECOND: Duration = Duration::from_secs(1);
const CHANNEL: &str = "C0ALERTS01";
/// Names no resolver knows: only the proxy maps them to 127.0.0.1, so a connection that goes
/// around the proxy cannot reach the fakes.
const SLACK_HOST: &str = "slack.sandbox.invalid";
const SQS_HOST: &str = "sqs.sandbox.invalid";
const PROXY_USER: &str = "chatops";
const PROXY_PASSWORD: &str = "pr@xy-s3cret";
/// Every proxy variable, both cases: the child gets only the ones a test sets.
const PROXY_VARIABLES: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Where rustls-native-certs looks for trusted CAs instead of the system store.
const TRUST_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// The fakes and the bot process: Slack, SQS with the alarm queue, the Bedrock agent.
struct Rig {
    slack: FakeSlack,
    sqs: FakeSqs,
    queue: String,
    agent: FakeBedrock,
    bot: Child,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Starts the fakes (Slack and SQS named `public` hosts when given, with `https://` and
    /// `wss://` URLs when `tls`) and the bot with `env`.
    async fn start(public: Option<(&str, &str)>, tls: bool, env: &[(&str, String)]) -> Rig {
        let slack = FakeSlack::start(FakeSlackOptions {
            public_host: public.map(|(slack, _)| slack.to_owned()),
            public_tls: tls,
            ..FakeSlackOptions::default()
        })
        .await
        .unwrap();
        let sqs = FakeSqs::start().await.unwrap();
        let agent = FakeBedrock::start().await.unwrap();
        let queue = sqs
            .create_queue("chatops-alarms", 30 * SECOND, None)
            .unwrap();
        let sqs_endpoint = match public {
            Some((_, host)) => format!(
                "{}://{host}:{}",
                if tls { "https" } else { "http" },
                sqs.addr().port()
            ),
            None => sqs.endpoint_url(),
        };
        let queue_url = queue.replace(&sqs.endpoint_url(), &sqs_endpoint);
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "{}\n[aws]\nregion = \"eu-west-1\"\n\n[aws.endpoints]\nsqs = \"{sqs_endpoint}\"\n\n\
             [alarms]\nqueue_url = \"{queue_url}\"\ndefault_channel = \"{CHANNEL}\"\n\
             receive_wait = \"1s\"\ngraphs = false\n\n\
             [bedrock]\nagent_id = \"AGENT1\"\nagent_alias_id = \"ALIAS1\"\nendpoint_url = \"{}\"\n",
            config_toml(&slack, &dir.path().join("bot.db"), 1),
            agent.endpoint_url()
        );
        let path = dir.path().join("bot.toml");
        std::fs::write(&path, config).unwrap();
        let mut command = Command::new(bot_binary());
        command
            .args(["run", "--config"])
            .arg(&path)
            .env("RUST_LOG", "info")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for name in PROXY_VARIABLES.iter().chain(&TRUST_VARIABLES) {
            command.env_remove(name);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut bot = command.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = bot.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut sink = sink.lock().unwrap();
                sink.push_str(&line);
                sink.push('\n');
            }
        });
        Rig {
            slack,
            sqs,
            queue,
            agent,
            bot,
            stderr,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Socket Mode (hello), the Web API (a card), SQS (the alarm received and deleted) and the
    /// agent (an answer to a mention) have all been used.
    async fn use_every_client(&self) {
        let log = || self.log();
        self.slack
            .wait_for_connections(1, 15 * SECOND)
            .await
            .unwrap_or_else(|e| panic!("{e}\nbot log:\n{}", log()));
        let body = cloudwatch_alarm(
            "checkout-latency",
            "ALARM",
            "OK",
            "2026-11-02T10:00:00.000+0000",
            "Threshold Crossed: test",
        );
        self.sqs
            .publish_sns(
                &self.queue,
                Some("ALARM: checkout"),
                &body,
                BTreeMap::new(),
                false,
            )
            .unwrap();
        self.slack
            .wait_for_call("chat.postMessage", |c| c.ok(), 15 * SECOND)
            .await
            .unwrap_or_else(|e| panic!("no card: {e}\nbot log:\n{}", log()));
        support::eventually(10 * SECOND, "the alarm deleted from SQS", || {
            self.sqs.deleted(&self.queue).unwrap().len() == 1
        })
        .await;
        self.slack
            .send(
                Target::Any,
                envelopes::app_mention(CHANNEL, "U0ALICE", "<@U0BOT> why is checkout slow?"),
            )
            .await
            .unwrap();
        support::eventually(10 * SECOND, "the agent asked", || {
            !self.agent.invocations().is_empty()
        })
        .await;
    }

    /// SIGTERM (to the bot this test started), then a clean exit.
    async fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.bot.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = tokio::time::Instant::now() + 30 * SECOND;
        let code = loop {
            if let Some(status) = self.bot.try_wait().unwrap() {
                break status.code();
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = self.bot.kill();
                panic!("the bot did not stop; log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let log = self.log();
        assert_eq!(code, Some(0), "log:\n{log}");
        log
    }
}

impl Drop for Rig {
    /// A failed test must not leave the bot it started running.
    fn drop(&mut self) {
        if let Ok(None) = self.bot.try_wait() {
            let _ = self.bot.kill();
            let _ = self.bot.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_web_api_and_sqs_all_go_through_the_proxy() {
    let proxy = TestProxy::start(
        ProxyOptions::default()
            .map_host(SLACK_HOST)
            .map_host(SQS_HOST)
            .with_credentials(PROXY_USER, PROXY_PASSWORD),
    )
    .await
    .unwrap();
    let proxy_url = format!(
        "http://{PROXY_USER}:{}@{}",
        PROXY_PASSWORD.replace('@', "%40"),
        proxy.addr()
    );
    // The agent is on 127.0.0.1, which NO_PROXY exempts: it must be reached directly.
    let rig = Rig::start(
        Some((SLACK_HOST, SQS_HOST)),
        false,
        &[
            ("HTTPS_PROXY", proxy_url.clone()),
            ("http_proxy", proxy_url.clone()),
            ("NO_PROXY", "localhost, 127.0.0.1".to_owned()),
        ],
    )
    .await;
    rig.use_every_client().await;

    let (api, ws, sqs) = (
        format!("{SLACK_HOST}:{}", rig.slack.api_addr().port()),
        format!("{SLACK_HOST}:{}", rig.slack.ws_addr().port()),
        format!("{SQS_HOST}:{}", rig.sqs.addr().port()),
    );
    let records = proxy.records();
    let has = |kind: ProxyKind, target: &str, request: Option<&str>| {
        records.iter().any(|r: &ProxyRecord| {
            r.kind == kind
                && r.target == target
                && request.is_none_or(|wanted| r.request.as_deref() == Some(wanted))
        })
    };
    assert!(
        has(ProxyKind::Tunnel, &ws, None),
        "Socket Mode tunnelled: {records:#?}"
    );
    assert!(
        has(ProxyKind::Tunnel, &api, None),
        "Web API tunnelled: {records:#?}"
    );
    assert!(
        has(
            ProxyKind::Forward,
            &api,
            Some("POST /api/apps.connections.open")
        ),
        "apps.connections.open forwarded: {records:#?}"
    );
    assert!(
        has(ProxyKind::Forward, &sqs, Some("POST /")),
        "SQS forwarded: {records:#?}"
    );
    let stray: Vec<&ProxyRecord> = records
        .iter()
        .filter(|r| {
            r.outcome != ProxyOutcome::Relayed || (r.host() != SLACK_HOST && r.host() != SQS_HOST)
        })
        .collect();
    assert!(
        stray.is_empty(),
        "every request authorised and bound for a fake: {stray:#?}"
    );
    let agent = format!("127.0.0.1:{}", rig.agent.addr().port());
    assert!(
        !records.iter().any(|r| r.target == agent),
        "NO_PROXY sends the agent direct"
    );

    let log = rig.stop().await;
    assert!(
        log.contains(&format!(
            "proxy http://{} (with credentials) from http_proxy",
            proxy.addr()
        )),
        "the start-up line names the proxy: {log}"
    );
    assert!(log.contains("direct (NO_PROXY)"), "{log}");
    assert!(
        !log.contains("s3cret"),
        "the proxy password must never be logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_listens_on_nothing() {
    let rig = Rig::start(None, false, &[]).await;
    rig.use_every_client().await;
    let pid = rig.bot.id();
    let inodes = listening::socket_inodes(pid);
    let entries = listening::entries(&inodes);
    assert!(
        entries.iter().any(|e| e.table.starts_with("tcp")),
        "the bot's connections are seen (Socket Mode at least): {entries:#?}"
    );
    let listening: Vec<String> = entries
        .iter()
        .filter(|e| e.listening)
        .map(|e| format!("/proc/net/{}: {}", e.table, e.line))
        .collect();
    assert!(listening.is_empty(), "listening sockets: {listening:#?}");
    rig.stop().await;
}

#[tokio::test]
async fn a_refused_tunnel_is_a_clear_error_that_never_shows_the_password() {
    let proxy = TestProxy::start(
        ProxyOptions::default()
            .map_host(SLACK_HOST)
            .with_credentials(PROXY_USER, PROXY_PASSWORD),
    )
    .await
    .unwrap();
    let wrong = format!("http://{PROXY_USER}:wrong-s3cret@{}", proxy.addr());
    let settings = ProxySettings::from_env_vars([("HTTPS_PROXY", wrong.as_str())]).unwrap();
    let target = url::Url::parse(&format!("wss://{SLACK_HOST}:443/link")).unwrap();
    let error = chatops_bot::egress::tunnel::dial(&settings, &target)
        .await
        .expect_err("wrong credentials are refused");
    let message = error.to_string();
    assert!(message.contains("407"), "{message}");
    assert!(
        message.contains(&format!("CONNECT {SLACK_HOST}:443")),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    let record = proxy.records().pop().expect("the proxy saw the CONNECT");
    assert_eq!(record.outcome, ProxyOutcome::AuthRequired);
    assert_eq!(record.kind, ProxyKind::Tunnel);
}

/// A proxy that resolves the Slack and SQS names and ends the TLS inside its tunnels.
async fn intercepting_proxy() -> TestProxy {
    TestProxy::start(
        ProxyOptions::default()
            .map_host(SLACK_HOST)
            .map_host(SQS_HOST)
            .intercept_tls(),
    )
    .await
    .unwrap()
}

/// A TLS-inspecting proxy, as many private VPCs have: the bot speaks TLS inside every tunnel
/// (Socket Mode `wss`, Web API and SQS `https`, each with the right server name) and trusts the
/// proxy's CA only because `SSL_CERT_FILE` names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_inside_the_tunnels_is_verified_against_ssl_cert_file() {
    let proxy = intercepting_proxy().await;
    let trust = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(trust.path(), proxy.ca_pem().unwrap()).unwrap();
    let rig = Rig::start(
        Some((SLACK_HOST, SQS_HOST)),
        true,
        &[
            ("HTTPS_PROXY", proxy.url()),
            ("NO_PROXY", "127.0.0.1".to_owned()),
            ("SSL_CERT_FILE", trust.path().display().to_string()),
        ],
    )
    .await;
    rig.use_every_client().await;

    let records = proxy.records();
    let tls_tunnel = |host: &str, port: u16| {
        records.iter().any(|r| {
            r.kind == ProxyKind::Tunnel
                && r.target == format!("{host}:{port}")
                && r.outcome == ProxyOutcome::Relayed
                && r.tls_server_name.as_deref() == Some(host)
        })
    };
    assert!(
        tls_tunnel(SLACK_HOST, rig.slack.ws_addr().port()),
        "Socket Mode over TLS in a tunnel: {records:#?}"
    );
    assert!(
        tls_tunnel(SLACK_HOST, rig.slack.api_addr().port()),
        "the Web API over TLS in a tunnel: {records:#?}"
    );
    assert!(
        tls_tunnel(SQS_HOST, rig.sqs.addr().port()),
        "SQS over TLS in a tunnel: {records:#?}"
    );
    let other: Vec<&ProxyRecord> = records
        .iter()
        .filter(|r| r.kind != ProxyKind::Tunnel || r.tls_server_name.is_none())
        .collect();
    assert!(
        other.is_empty(),
        "nothing in plain text, nothing untunnelled: {other:#?}"
    );
    rig.stop().await;
}

/// The same proxy without its CA trusted: the bot refuses the certificate (nothing reaches the
/// fakes, nothing is posted) and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_interception_certificate_is_refused() {
    let proxy = intercepting_proxy().await;
    let rig = Rig::start(
        Some((SLACK_HOST, SQS_HOST)),
        true,
        &[("HTTPS_PROXY", proxy.url())],
    )
    .await;
    let refused = proxy
        .wait_for("a refused handshake", 15 * SECOND, |r| {
            matches!(r.outcome, ProxyOutcome::TlsFailed(_))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\nbot log:\n{}", rig.log()));
    assert_eq!(refused.host(), SLACK_HOST);
    support::eventually(
        10 * SECOND,
        "the bot's log names the refused issuer",
        || rig.log().contains("InvalidCertificate(UnknownIssuer)"),
    )
    .await;
    assert!(
        proxy
            .records()
            .iter()
            .all(|r| r.outcome != ProxyOutcome::Relayed),
        "no tunnel carried a request: {:#?}",
        proxy.records()
    );
    let heard = rig.slack.calls();
    assert!(heard.is_empty(), "the fake Slack heard nothing: {heard:#?}");
    rig.stop().await;
}

//! `@bot aws …` with the real AWS CLI v2 (Debian's `awscli`, or the official installer's): the bot's clean environment, argv and proxy route are what the real CLI accepts. It reaches "ec2.us-east-1.amazonaws.com" through a TLS-inspecting proxy that hands the tunnel to moto, trusting the proxy's CA only because the bot's `SSL_CERT_FILE` names it.
//!
//! Needs `aws` (v2) and moto: `.ci/run` installs both. Without `aws` on PATH the tests fail and
//! say how to get it; `CHATOPS_SKIP_AWS_CLI=1`, set on purpose, skips them.

#[path = "moto_sns_sqs/server.rs"]
mod moto_server;
mod support;
#[path = "aws_commands/world.rs"]
mod world;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chatops_sandbox::proxy::{ProxyKind, ProxyOptions, ProxyOutcome, TestProxy};
use moto_server::MotoServer;
use world::*;

const EC2_HOST: &str = "ec2.us-east-1.amazonaws.com";
const SKIP_VAR: &str = "CHATOPS_SKIP_AWS_CLI";
/// The real CLI starts Python and loads its service models: slow on a loaded machine.
const REPLY_LIMIT: Duration = Duration::from_secs(45);

/// The first `aws` that is v2: on PATH, then where Debian's package and the official installer
/// put it. `None` only when the skip variable asks for it.
fn real_cli() -> Option<PathBuf> {
    if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        println!("skipped on purpose: {SKIP_VAR}=1");
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut seen = Vec::new();
    let candidates = std::env::split_paths(&path)
        .map(|dir| dir.join("aws"))
        .chain(["/usr/local/bin/aws".into(), "/usr/bin/aws".into()]);
    for candidate in candidates.filter(|c| c.is_file()) {
        let Ok(out) = Command::new(&candidate).arg("--version").output() else {
            continue;
        };
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if version.starts_with("aws-cli/2.") {
            return Some(candidate);
        }
        seen.push(format!("{}: {version}", candidate.display()));
    }
    panic!(
        "these tests need the AWS CLI v2 (found: {seen:?}): `apt-get install awscli` on Debian \
         12, or https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html; \
         {SKIP_VAR}=1 skips them on purpose"
    )
}

/// The default VPC moto has in us-east-1, asked directly (not through the bot).
fn default_vpc(cli: &PathBuf, moto: &str) -> String {
    let out = Command::new(cli)
        .args(["ec2", "describe-vpcs", "--output", "json"])
        .args(["--endpoint-url", moto, "--region", "us-east-1"])
        .env_clear()
        .envs([
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("HOME", "/nonexistent"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let vpcs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    vpcs["Vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|vpc| vpc["IsDefault"] == true)
        .and_then(|vpc| vpc["VpcId"].as_str())
        .expect("moto has a default VPC")
        .to_owned()
}

/// A TLS-inspecting proxy whose tunnels to EC2's name end at moto.
async fn proxy_to(moto: &str) -> TestProxy {
    let port: u16 = moto.rsplit(':').next().unwrap().parse().unwrap();
    TestProxy::start(
        ProxyOptions::default()
            .map_host_to_port(EC2_HOST, port)
            .intercept_tls(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_cli_answers_through_the_inspecting_proxy_with_the_bots_trust() {
    let Some(cli) = real_cli() else { return };
    let Some(moto) = MotoServer::find().await.unwrap() else {
        return;
    };
    let expected_vpc = default_vpc(&cli, &moto.endpoint);
    let proxy = proxy_to(&moto.endpoint).await;
    let trust = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(trust.path(), proxy.ca_pem().unwrap()).unwrap();
    let trust_path = trust.path().display().to_string();
    let w = world_with(
        Some(&cli.display().to_string()),
        &[
            ("HTTPS_PROXY", proxy.url().as_str()),
            ("SSL_CERT_FILE", trust_path.as_str()),
            ("CHATOPS_AWS_COMMANDS__TIMEOUT", "40s"),
        ],
    )
    .await;

    let (reply, call) = w
        .ask_within(
            OPS,
            "ec2 describe-vpcs --region us-east-1 --query Vpcs[?IsDefault]",
            REPLY_LIMIT,
        )
        .await;
    assert_eq!(call.method, "chat.postMessage", "{reply}");
    assert!(
        reply.contains(&expected_vpc),
        "the default VPC {expected_vpc} from moto: {reply}"
    );
    assert!(
        reply.contains("172.31.0.0/16"),
        "the real CLI's JSON: {reply}"
    );

    let records = proxy.records();
    assert!(
        records.iter().any(|r| r.kind == ProxyKind::Tunnel
            && r.target == format!("{EC2_HOST}:443")
            && r.tls_server_name.as_deref() == Some(EC2_HOST)
            && r.outcome == ProxyOutcome::Relayed),
        "TLS to EC2 inside a tunnel, verified against the proxy's CA: {records:#?}"
    );
    let (_, dir) = w.bot.stop_keeping_store().await;
    let audit = audit_of(dir.path(), 1).await;
    assert_eq!(audit[0].argv[..2], ["ec2", "describe-vpcs"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_proxys_ca_the_real_cli_refuses_and_the_user_is_told() {
    let Some(cli) = real_cli() else { return };
    let Some(moto) = MotoServer::find().await.unwrap() else {
        return;
    };
    let proxy = proxy_to(&moto.endpoint).await;
    let w = world_with(
        Some(&cli.display().to_string()),
        &[
            ("HTTPS_PROXY", proxy.url().as_str()),
            ("CHATOPS_AWS_COMMANDS__TIMEOUT", "40s"),
        ],
    )
    .await;

    let (reply, _) = w
        .ask_within(OPS, "ec2 describe-vpcs --region us-east-1", REPLY_LIMIT)
        .await;
    assert!(reply.contains("exit 255"), "{reply}");
    assert!(
        reply.contains("SSL validation failed") || reply.contains("CERTIFICATE_VERIFY_FAILED"),
        "the CLI's own reason: {reply}"
    );
    let records = proxy.records();
    assert!(
        records
            .iter()
            .all(|r| matches!(r.outcome, ProxyOutcome::TlsFailed(_))),
        "no request reached moto: {records:#?}"
    );
    w.bot.stop().await.unwrap();
}

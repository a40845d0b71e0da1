//! The command line: `run`, `check` (and `check --live`), `manifest`, `test-alarm`, `render`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigErrors, ProxySettings, Purpose, ValueSource};
use crate::{app, exit, telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "chatops-bot",
    version,
    about = "AWS alarms and deploys in Slack, over Socket Mode."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon until SIGTERM or SIGINT.
    Run {
        #[arg(long, short, default_value = "bot.toml", env = "CHATOPS_CONFIG")]
        config: PathBuf,
    },
    /// Validate the configuration (references resolved) and report every problem at once, or
    /// list where each secret comes from; with --live, also probe every configured integration
    /// over the network.
    Check {
        #[arg(long, short, default_value = "bot.toml", env = "CHATOPS_CONFIG")]
        config: PathBuf,
        /// Probe Slack, SQS, Bedrock, Confluence and GitHub at the same time and print a ✓/⚠/✗
        /// table with the fix for each ✗; exit 1 if anything failed. Changes nothing.
        #[arg(long)]
        live: bool,
        /// With --live: also ask the Bedrock agent one word (a real invocation, billed).
        #[arg(long, requires = "live")]
        invoke: bool,
        /// With --live: the longest one probe may take (e.g. 10s, 1500ms).
        #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
        timeout: Duration,
    },
    /// Print a Slack app manifest for "Create an App → From a manifest".
    Manifest {
        #[arg(long, short, default_value = "bot.toml", env = "CHATOPS_CONFIG")]
        config: PathBuf,
    },
    /// Publish a test alarm to alarms.topic_arn and wait until the running bot has posted its card.
    TestAlarm {
        #[arg(long, short, default_value = "bot.toml", env = "CHATOPS_CONFIG")]
        config: PathBuf,
        /// How long to wait for the card, e.g. 60s or 2m.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Print the Block Kit JSON of the Slack card an SQS message body would produce.
    Render {
        /// The SQS message body: an SNS envelope or a raw-delivery message.
        file: PathBuf,
        /// The SQS message attributes, as a JSON object of strings.
        #[arg(long)]
        attributes: Option<PathBuf>,
    },
}

/// Parse arguments, run, and turn the outcome into a documented exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(match cli.command {
        Command::Run { config } => run(&config),
        Command::Check {
            config,
            live: false,
            ..
        } => check(&config),
        Command::Check {
            config,
            live: true,
            invoke,
            timeout,
        } => check_live(&config, crate::preflight::Options { invoke, timeout }),
        Command::Manifest { config } => manifest(&config),
        Command::TestAlarm { config, timeout } => test_alarm(&config, timeout),
        Command::Render { file, attributes } => render(&file, attributes.as_deref()),
    })
}

/// Loads `path` with every reference resolved (`env:`, `file:`, `credential:`,
/// `aws-secretsmanager:`) on `runtime`; problems go to stderr.
fn load(runtime: &tokio::runtime::Runtime, path: &Path, purpose: Purpose) -> Result<Config, u8> {
    let env = crate::config::process_env();
    // A wrong proxy variable is reported by the load itself; Secrets Manager is then reached
    // directly, as the load fails anyway.
    let proxy = ProxySettings::from_env_vars(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .unwrap_or_default();
    let connect = crate::egress::aws::secrets_manager(proxy);
    let config = runtime
        .block_on(Config::load_resolved_with(path, env, purpose, connect))
        .and_then(|config| {
            // What the AWS CLI guardrails say of `[[actions]]` (they sit above `config`).
            crate::custom_actions::wiring::check(&config, &path.display().to_string())?;
            Ok(config)
        });
    config.map_err(|errors: ConfigErrors| {
        eprintln!("{errors}");
        exit::CONFIG
    })
}

fn run(path: &Path) -> u8 {
    let runtime = match runtime(true) {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    // Listen for SIGTERM before anything starts: one that arrives while the bot is still
    // starting (systemd stopping it before READY=1) then stops it cleanly too, not by default.
    let shutdown = {
        let _runtime = runtime.enter();
        shutdown_signal()
    };
    let config = match load(&runtime, path, Purpose::Run) {
        Ok(config) => config,
        Err(status) => return status,
    };
    telemetry::init(&config.log);
    for warning in config.literal_secret_warnings(path) {
        tracing::warn!("{warning}");
    }
    match runtime.block_on(app::run(config, shutdown)) {
        Ok(()) => exit::OK,
        Err(e @ app::RunError::SlackRefused { .. }) => {
            tracing::error!(error = %e, "Stopping for good.");
            eprintln!("chatops-bot: {e}");
            exit::SLACK_REFUSED
        }
        Err(app::RunError::Failed(e)) => {
            tracing::error!(error = format!("{e:#}"), "Stopping after a failure.");
            eprintln!("chatops-bot: {e:#}");
            exit::FAILURE
        }
    }
}

/// The async runtime: references are resolved on it (Secrets Manager), and the command runs on it.
fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, u8> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("Failed to start the async runtime: {e}");
        exit::FAILURE
    })
}

/// `test-alarm`: SNS → SQS → the running bot → Slack, timed.
fn test_alarm(path: &Path, timeout: Duration) -> u8 {
    telemetry::init_default();
    let runtime = match runtime(true) {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    match load(&runtime, path, Purpose::Run) {
        Ok(config) => runtime.block_on(crate::test_alarm::command(&config, timeout)),
        Err(status) => status,
    }
}

fn check(path: &Path) -> u8 {
    telemetry::init_default();
    let loaded = runtime(false).and_then(|runtime| load(&runtime, path, Purpose::Run));
    match loaded {
        Ok(config) => {
            for warning in config.literal_secret_warnings(path) {
                eprintln!("warning: {warning}");
            }
            println!("{}: configuration is valid.", path.display());
            println!("{}", describe_metrics(&config));
            println!("{}", describe_bedrock(&config));
            println!(
                "{}",
                describe_aws_commands(&config, std::env::var("PATH").ok().as_deref())
            );
            println!("{}", crate::custom_actions::wiring::describe(&config));
            if let Some(graphs) = describe_graphs(&config) {
                println!("{graphs}");
            }
            print!("{}", describe_sources(&config.sources()));
            exit::OK
        }
        Err(status) => status,
    }
}

/// Which Bedrock backend answers, if any (`[bedrock]`).
pub fn describe_bedrock(config: &Config) -> String {
    match &config.bedrock {
        None => "Bedrock: off ([bedrock] is not set).".to_owned(),
        Some(bedrock) => format!("Bedrock: {}", bedrock.describe()),
    }
}

/// The one port the bot listens on, if any (`[metrics]`).
pub fn describe_metrics(config: &Config) -> String {
    match &config.metrics {
        None => "Metrics: off ([metrics] is not set); the bot listens on no port.".to_owned(),
        Some(metrics) => format!(
            "Metrics: /metrics and /healthz on http://{}{}",
            metrics.listen,
            if metrics.listen.ip().is_loopback() {
                ""
            } else {
                " (reachable from other hosts: metrics.allow_remote = true)"
            }
        ),
    }
}

/// `[aws_commands]`: the role, the CLI it will run (`path`: the `PATH` to look in when
/// `aws_commands.cli` is not set), and the channels with their allowlists.
pub fn describe_aws_commands(config: &Config, path: Option<&str>) -> String {
    use crate::integrations::aws_cli::{find_on_path, INSTALL_URL};
    let Some(aws) = &config.aws_commands else {
        return "AWS commands: off ([aws_commands] is not set).".to_owned();
    };
    let cli = match (&aws.cli, find_on_path(path)) {
        (Some(cli), _) if cli.is_file() => cli.display().to_string(),
        (Some(cli), _) => format!(
            "{} (missing! install AWS CLI v2: {INSTALL_URL})",
            cli.display()
        ),
        (None, Some(found)) => format!("{} (found on PATH)", found.display()),
        (None, None) => format!("none on PATH (install AWS CLI v2: {INSTALL_URL})"),
    };
    let mut text = format!(
        "AWS commands: run as {} in {} (timeout {}s), CLI {cli}",
        aws.role_arn,
        aws.region,
        aws.timeout.as_secs()
    );
    if aws.channels.is_empty() {
        text.push_str(
            "
  no [[aws_commands.channels]]: no channel may run a command",
        );
    }
    for channel in &aws.channels {
        let allow = match &channel.allow {
            None => "the default allowlist (describe-*, list-*, get-*, …)".to_owned(),
            Some(globs) if globs.is_empty() => "nothing (allow = [])".to_owned(),
            Some(globs) => globs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        text.push_str(&format!("\n  {}: {allow}", channel.channel));
    }
    text
}

/// Whether alarm cards get metric graphs (`None` with the alarm pipeline off).
pub fn describe_graphs(config: &Config) -> Option<String> {
    let alarms = &config.alarms;
    alarms.queue_url.as_ref()?;
    if !alarms.graphs {
        return Some("Graphs: off (alarms.graphs = false).".to_owned());
    }
    let period = alarms
        .graph_period
        .map_or("the alarm's period".to_owned(), |period| {
            humantime::format_duration(period).to_string()
        });
    Some(format!(
        "Graphs: alarm cards get a CloudWatch metric graph (the last 3 hours, period: {period}; \
         the role needs cloudwatch:GetMetricWidgetImage)."
    ))
}

/// Where each secret, and each value written as a reference, comes from: one line per key,
/// never a value. Empty when there are none.
pub fn describe_sources(sources: &[ValueSource]) -> String {
    let width = sources.iter().map(|s| s.key.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (secret, title) in [
        (true, "Secrets, and where each comes from:"),
        (false, "Other values read through references:"),
    ] {
        let rows: Vec<&ValueSource> = sources.iter().filter(|s| s.secret == secret).collect();
        if rows.is_empty() {
            continue;
        }
        text.push_str(title);
        text.push('\n');
        for row in rows {
            text.push_str(&format!("  {:width$}  {}\n", row.key, row.source));
        }
    }
    text
}

/// `check --live`: the offline check, then every probe at once; the table on stdout.
fn check_live(path: &Path, options: crate::preflight::Options) -> u8 {
    telemetry::init_default();
    let runtime = match runtime(true) {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    let config = match load(&runtime, path, Purpose::Run) {
        Ok(config) => config,
        Err(status) => return status,
    };
    for warning in config.literal_secret_warnings(path) {
        eprintln!("warning: {warning}");
    }
    let started = std::time::Instant::now();
    let rows = runtime.block_on(crate::preflight::run(&config, &options));
    // A probe cut by its timeout may leave a connection task behind: do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(200));
    let table = crate::preflight::render(&rows, started.elapsed());
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(
        stdout,
        "{}: configuration is valid; live check:\n",
        path.display()
    )
    .and_then(|()| write!(stdout, "{table}"));
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("Failed to write the report: {e}");
        }
    }
    if crate::preflight::failed(&rows) {
        exit::FAILURE
    } else {
        exit::OK
    }
}

fn manifest(path: &Path) -> u8 {
    telemetry::init_default();
    let loaded = runtime(false).and_then(|runtime| load(&runtime, path, Purpose::Manifest));
    match loaded {
        Ok(config) => {
            let manifest = crate::slack::manifest::render(&config);
            match serde_json::to_string_pretty(&manifest) {
                Ok(json) => {
                    use std::io::Write;
                    // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
                    match writeln!(std::io::stdout().lock(), "{json}") {
                        Ok(()) => exit::OK,
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
                        Err(e) => {
                            eprintln!("Failed to write the manifest: {e}");
                            exit::FAILURE
                        }
                    }
                }
                Err(e) => {
                    eprintln!("Failed to write the manifest: {e}");
                    exit::FAILURE
                }
            }
        }
        Err(status) => status,
    }
}

/// `render`: parse one body as the consumer would, and print its card (first sighting, nobody
/// watching, default route options).
fn render(file: &Path, attributes: Option<&Path>) -> u8 {
    use crate::alarms::card::{card, CardOptions, CardState};
    let body = match std::fs::read_to_string(file) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("chatops-bot render: cannot read {}: {e}", file.display());
            return exit::FAILURE;
        }
    };
    let attributes: BTreeMap<String, String> = match attributes {
        None => BTreeMap::new(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        {
            Ok(map) => map,
            Err(e) => {
                eprintln!(
                    "chatops-bot render: cannot read attributes from {} (expected a JSON object of strings): {e}",
                    path.display()
                );
                return exit::FAILURE;
            }
        },
    };
    let notification = crate::alarms::parse_sqs_message(&body, &attributes);
    let rendered = card(
        &notification,
        &CardState::default(),
        &CardOptions::default(),
    );
    match serde_json::to_string_pretty(&crate::slack::blocks::to_json(&rendered.message)) {
        Ok(json) => {
            if let Err(e) = writeln!(std::io::stdout().lock(), "{json}") {
                eprintln!("chatops-bot render: cannot write the card: {e}");
                return exit::FAILURE;
            }
            if rendered.overflow.is_some() {
                eprintln!("chatops-bot render: some text was cut; its full text would go to the card's thread.");
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("chatops-bot render: cannot write the card as JSON: {e}");
            exit::FAILURE
        }
    }
}

/// Resolves on SIGTERM (systemd stop) or SIGINT (Ctrl-C). Both are caught from this call on,
/// not from the first poll, so a signal during start-up is kept until the daemon looks.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind: SignalKind, name: &'static str| {
        let stream = signal(kind);
        async move {
            match stream {
                Ok(mut stream) => {
                    stream.recv().await;
                    tracing::info!("{name} received.");
                }
                Err(e) => {
                    tracing::error!(error = %e, "Cannot listen for {name}; it will not stop the bot.");
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    let term = listen(SignalKind::terminate(), "SIGTERM");
    let int = listen(SignalKind::interrupt(), "SIGINT");
    async move {
        tokio::select! {
            () = term => {}
            () = int => {}
        }
    }
}

//! Command-line interface of the `chatops-sandbox` binary: one module per subcommand.

mod bench;
mod bench_agent;
mod bench_alarms;
mod bench_cards;
mod bench_deploy;
mod bench_report;
pub mod bot_process;
mod demo;
mod floor_client;
mod serve;

use clap::{Parser, Subcommand};

pub use bench::BenchArgs;
pub use bench_agent::BenchAgentArgs;
pub use bench_alarms::{AlarmFloorArgs, BenchAlarmsArgs};
pub use bench_deploy::BenchDeployArgs;
pub use bench_report::BenchReportArgs;
pub use demo::DemoArgs;
pub use floor_client::FloorClientArgs;
pub use serve::ServeArgs;

/// Local fakes of Slack (and later AWS, Confluence, GitHub) for demos, tests and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "chatops-sandbox", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the fake Slack until Ctrl-C, printing its timeline.
    Serve(ServeArgs),
    /// Run the real chatops-bot against the fake Slack and print a transcript.
    Demo(DemoArgs),
    /// Measure Socket Mode ack latency, throughput, CPU and memory of the bot against a floor client.
    Bench(BenchArgs),
    /// The benchmark's minimal Socket Mode client (started by `bench`).
    #[command(hide = true)]
    FloorClient(FloorClientArgs),
    /// Measure alarms/s, CPU per alarm and SQS → Slack latency of the bot against a floor consumer.
    BenchAlarms(BenchAlarmsArgs),
    /// Measure 🤖 To Bedrock Agent: click → placeholder, agent chunk → visible, overhead, RSS.
    BenchAgent(BenchAgentArgs),
    /// Measure 📝 Reporting: click → page link for a long thread, and the Slack calls it takes.
    BenchReport(BenchReportArgs),
    /// Measure deploys: command → root message, run completion → thread, GitHub calls per deploy.
    BenchDeploy(BenchDeployArgs),
    /// The alarm benchmark's minimal SQS-to-Slack consumer (started by `bench-alarms`).
    #[command(hide = true)]
    AlarmFloor(AlarmFloorArgs),
}

/// Parses the command line and runs the chosen subcommand on a Tokio runtime.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::serve(args)),
        Command::Demo(args) => runtime.block_on(demo::demo(args)),
        Command::Bench(args) => runtime.block_on(bench::bench(args)),
        Command::FloorClient(args) => runtime.block_on(floor_client::floor_client(args)),
        Command::BenchAlarms(args) => runtime.block_on(bench_alarms::bench_alarms(args)),
        Command::BenchAgent(args) => runtime.block_on(bench_agent::bench_agent(args)),
        Command::BenchReport(args) => runtime.block_on(bench_report::bench_report(args)),
        Command::BenchDeploy(args) => runtime.block_on(bench_deploy::bench_deploy(args)),
        Command::AlarmFloor(args) => runtime.block_on(bench_alarms::alarm_floor(args)),
    }
}

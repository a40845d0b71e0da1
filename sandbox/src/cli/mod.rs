//! Command-line interface of the `chatops-sandbox` binary: one module per subcommand.

mod serve;

use clap::{Parser, Subcommand};

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
}

/// Parses the command line and runs the chosen subcommand on a Tokio runtime.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::serve(args)),
    }
}

//! Entry point of the `chatops-sandbox` binary; the commands live in `chatops_sandbox::cli`.

fn main() -> anyhow::Result<()> {
    chatops_sandbox::cli::run()
}

//! The `chatops-bot` binary: everything lives in the library; see `cli`.

fn main() -> std::process::ExitCode {
    chatops_bot::cli::main()
}

//! The `chatops-bot` binary: everything lives in the library; see `cli`.

/// mimalloc: about a fifth less CPU per alarm than glibc's malloc. Built without transparent huge
/// pages (`no_thp`), which otherwise raised the Socket Mode bench's peak RSS from 27 to 41 MB
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    chatops_bot::cli::main()
}

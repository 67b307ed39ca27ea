//! The `praxis` command-line program: a thin shell over [`praxis::run`].

/// mimalloc keeps freed tensor buffers for reuse instead of returning them to the OS, which
/// removes most page-fault time from the CPU training step (`praxis bench model`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    praxis::run()
}

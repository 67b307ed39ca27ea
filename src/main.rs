//! The `praxis` command-line program: a thin shell over [`praxis::run`].

fn main() -> std::process::ExitCode {
    praxis::run()
}

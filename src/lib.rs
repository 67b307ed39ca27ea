//! # praxis (command line)
//!
//! The `praxis` program: one subcommand per job, each a thin layer over `praxis-core`. Every
//! failure prints one line, `error: <what went wrong>`, and exits with status 2.

pub mod cli;
pub mod commands;
pub mod progress;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs the subcommand and turns any error into one line on stderr
/// and exit status 2.
pub fn run() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes on one line, `outer: inner: root`.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

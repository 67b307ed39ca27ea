//! One module per subcommand; each parses nothing itself and calls into `praxis-core`.

pub mod bench_data;
pub mod bench_model;
pub mod bench_rl;
pub mod bench_sim;
pub mod curriculum;
pub mod demos;
pub mod devices;
pub mod eval;
pub mod export;
pub mod init;
pub mod pretrain;
pub mod render;
pub mod report;
pub mod train;

use crate::cli::{BenchTarget, Cli, Command};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let backend = cli.backend.as_deref();
    match cli.command {
        Command::Devices(args) => devices::run(&args),
        Command::Init(args) => init::run(&args, backend),
        Command::Export(args) => export::run(&args, backend),
        Command::Pretrain(args) => pretrain::run(&args, backend),
        Command::Train(args) => train::run(&args, backend),
        Command::Eval(args) => eval::run(&args, backend),
        Command::Curriculum(args) => curriculum::run(&args, backend),
        Command::Report(args) => report::run(&args, backend),
        Command::Render(args) => render::run(&args),
        Command::Demos(args) => demos::run(&args),
        Command::Bench(bench) => match bench.target {
            BenchTarget::Model(args) => bench_model::run(&args, backend),
            BenchTarget::Sim(args) => bench_sim::run(&args),
            BenchTarget::Data(args) => bench_data::run(&args, backend),
            BenchTarget::Rl(args) => bench_rl::run(&args, backend),
        },
    }
}

//! `praxis train`: adapt a policy to demonstration data (or continue a run with `--resume`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;
use praxis_core::device;
use praxis_core::train::{self, TrainConfig};

use crate::progress;

/// Arguments of `praxis train`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["config", "resume"]))]
pub struct TrainArgs {
    /// Training config (TOML; see `assets/configs/`).
    #[arg(long, requires = "out")]
    pub config: Option<PathBuf>,
    /// Run directory to create.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its newest checkpoint.
    #[arg(long, conflicts_with = "config")]
    pub resume: Option<PathBuf>,
}

/// Trains until the configured step count or Ctrl-C (which saves a checkpoint first).
pub fn run(args: &TrainArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let device = device::open_requested(backend)?;
    let stop = Arc::new(AtomicBool::new(false));
    // Ctrl-C (and SIGTERM) ask the trainer to save a checkpoint and stop.
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let bar = progress::bar(0, "training");
    let report = |p: train::Progress| {
        bar.set_length(p.total);
        bar.set_position(p.step);
        bar.set_message(format!("loss {:.4}", p.loss));
    };
    let outcome = match (&args.config, &args.resume) {
        (Some(config), _) => {
            let config = TrainConfig::load(config)?;
            let out = args
                .out
                .as_ref()
                .expect("clap requires --out with --config");
            train::train(out, &config, &device, &stop, report)?
        }
        (None, Some(dir)) => train::resume(dir, &device, &stop, report)?,
        (None, None) => unreachable!("clap requires --config or --resume"),
    };
    bar.finish_and_clear();
    println!(
        "{} at step {} (loss {:.4}); checkpoint {}",
        if outcome.interrupted {
            "stopped"
        } else {
            "finished"
        },
        outcome.step,
        outcome.last_loss,
        outcome.checkpoint.display()
    );
    Ok(())
}

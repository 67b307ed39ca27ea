//! `praxis pretrain`: a base policy from broad scripted-teacher data.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;
use praxis_core::device;
use praxis_core::train::pretrain::{self, PretrainOptions};

use crate::progress;

/// Arguments of `praxis pretrain`.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// Output directory (data/, run/ and base/ are created in it).
    #[arg(long)]
    pub out: PathBuf,
    /// Model preset (xs, s, m).
    #[arg(long, default_value = "s")]
    pub preset: String,
    /// Action head (l1, flow, bins).
    #[arg(long, default_value = "l1")]
    pub head: String,
    /// Suites to record teacher data from (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "spatial,object,long,pusht,arm2-object"
    )]
    pub suites: Vec<String>,
    /// Teacher episodes per suite.
    #[arg(long, default_value_t = 300)]
    pub episodes: usize,
    /// Updates.
    #[arg(long, default_value_t = 2400)]
    pub steps: u64,
    /// Samples per update.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Records the data, trains, and writes the base checkpoint.
pub fn run(args: &PretrainArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let device = device::open_requested(backend)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let options = PretrainOptions {
        suites: args.suites.clone(),
        episodes_per_suite: args.episodes,
        preset: args.preset.clone(),
        head: args.head.clone(),
        steps: args.steps,
        batch_size: args.batch,
        lr: args.lr,
        seed: args.seed,
        ..PretrainOptions::default()
    };
    let bar = progress::bar(args.steps, "pre-training");
    let base = pretrain::pretrain(
        &args.out,
        &options,
        &device,
        &stop,
        |phase| bar.set_message(phase.to_string()),
        |p| {
            bar.set_position(p.step);
            bar.set_message(format!("loss {:.4}", p.loss));
        },
    )?;
    bar.finish_and_clear();
    println!("base checkpoint: {}", base.display());
    Ok(())
}

//! `praxis init`: a freshly initialised checkpoint, the starting point of a run from scratch.

use std::path::PathBuf;

use clap::Args;
use praxis_core::checkpoint::{self, CheckpointMeta, Provenance, RngState};
use praxis_core::device;
use praxis_core::model::{HeadKind, ModelConfig, Policy, Tokenizer};

/// Arguments of `praxis init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Model preset (xs, s, m).
    #[arg(long, default_value = "s")]
    pub preset: String,
    /// Action head (l1, flow, bins).
    #[arg(long, default_value = "l1")]
    pub head: String,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Checkpoint directory to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Builds the network and writes it as a step-0 checkpoint.
pub fn run(args: &InitArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let head: HeadKind = args.head.parse()?;
    let config = ModelConfig::preset(&args.preset, head)?;
    let device = device::open_requested(backend)?;
    let tokenizer = Tokenizer::new(praxis_core::sim::vocabulary());
    let policy = device::seeded(&device.device, args.seed, || {
        Policy::new(&config, tokenizer.vocab_size(), &device.device)
    })?;
    let meta = CheckpointMeta::new(
        config,
        tokenizer,
        0,
        args.seed,
        RngState {
            seed: args.seed,
            word_pos: 0,
        },
        Provenance::current(device.backend.name(), &device.name),
    );
    checkpoint::save(&args.out, &meta, &policy, None)?;
    println!(
        "wrote {} ({} preset, {} head, {} parameters)",
        args.out.display(),
        meta.model.preset,
        head,
        policy.num_params()
    );
    Ok(())
}

//! `praxis export`: a checkpoint's weights for other tools.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use praxis_core::{checkpoint, device, export};

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// SafeTensors with PyTorch tensor layouts (see the `export` module docs for names).
    Safetensors,
}

/// Arguments of `praxis export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint directory to read.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: ExportFormat,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Loads the checkpoint and writes the export.
pub fn run(args: &ExportArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let device = device::open_requested(backend)?;
    let ckpt = checkpoint::load(&args.checkpoint, &device.device)?;
    match args.format {
        ExportFormat::Safetensors => {
            export::write_safetensors(&ckpt.policy, &ckpt.meta.tokenizer, &args.out)?
        }
    }
    println!(
        "wrote {} ({} preset, {} head, step {})",
        args.out.display(),
        ckpt.meta.model.preset,
        ckpt.meta.model.head,
        ckpt.meta.step
    );
    Ok(())
}

//! `praxis render`: write a teacher episode of one task instance as a PNG frame strip or an
//! animated GIF. All the work is in `praxis_core::sim::render`.

use std::path::PathBuf;

use praxis_core::sim::render::render_teacher_episode;
use praxis_core::sim::{Suite, Variations};

/// Arguments of `praxis render`.
#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// Built-in suite (spatial, object, goal, long, pusht) or a suite .toml file.
    #[arg(long)]
    pub suite: String,
    /// Task name within the suite.
    #[arg(long)]
    pub task: String,
    /// Episode seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file: .png (a strip of 8 frames across the episode) or .gif (every frame).
    #[arg(long)]
    pub out: PathBuf,
    /// Image side in pixels (16..=256).
    #[arg(long, default_value_t = 128)]
    pub size: u32,
    /// Held-out variations, comma-separated (distractors, colour-shift, lighting,
    /// camera-jitter, paraphrase, unseen-embodiment, all).
    #[arg(long, default_value = "none")]
    pub variations: String,
}

/// Runs `praxis render`.
pub fn run(args: &RenderArgs) -> anyhow::Result<()> {
    let suite = Suite::resolve(&args.suite)?;
    let variations: Variations = args.variations.parse()?;
    let summary = render_teacher_episode(
        &suite, &args.task, args.seed, args.size, variations, &args.out,
    )?;
    println!(
        "wrote {} ({} of {} frames, teacher {}): {}",
        summary.path,
        summary.frames_written,
        summary.frames,
        if summary.success {
            "succeeded"
        } else {
            "failed"
        },
        summary.instruction
    );
    Ok(())
}

//! `praxis demos`: record scripted-teacher demonstrations of a suite into a dataset
//! directory. All the work is in `praxis_core::data::record`.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use praxis_core::data::{RecordOptions, record_demos};

/// Arguments of `praxis demos`.
#[derive(clap::Args, Debug)]
pub struct DemosArgs {
    /// Built-in suite (spatial, object, goal, long, pusht) or a suite .toml file.
    #[arg(long)]
    pub suite: String,
    /// Number of episodes to record (tasks are taken round-robin).
    #[arg(long)]
    pub episodes: usize,
    /// Output dataset directory (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Standard deviation of the teacher's action noise (normalised units).
    #[arg(long, default_value_t = 0.0)]
    pub noise: f32,
    /// Image side in pixels (16..=256).
    #[arg(long, default_value_t = 64)]
    pub image_size: u32,
    /// Base seed (demo seeds never overlap evaluation seeds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep episodes in which the teacher failed.
    #[arg(long)]
    pub keep_failures: bool,
}

/// Runs `praxis demos`.
pub fn run(args: &DemosArgs) -> anyhow::Result<()> {
    if !(args.noise.is_finite() && args.noise >= 0.0) {
        anyhow::bail!("--noise must be a finite number >= 0");
    }
    let options = RecordOptions {
        suite: args.suite.clone(),
        episodes: args.episodes,
        out: args.out.clone(),
        noise_std: args.noise,
        image_size: args.image_size,
        seed: args.seed,
        keep_failures: args.keep_failures,
    };
    let bar = ProgressBar::new(args.episodes as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} recording [{bar:30}] {pos}/{len} episodes {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = record_demos(&options, &mut |done| bar.set_position(done as u64));
    bar.finish_and_clear();
    let meta = result?;
    println!(
        "wrote {} episodes ({} frames) of suite {} to {}",
        meta.num_episodes,
        meta.num_frames,
        meta.suite,
        args.out.display()
    );
    Ok(())
}

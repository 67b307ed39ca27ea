//! `praxis bench data`: LeRobot video decoding speed and the share of training step time
//! spent waiting for data. Prints a table, then the JSON report on the last line. All the
//! work is in `praxis_core::bench::data`.

use std::path::PathBuf;

use praxis_core::bench::data::{DataBenchConfig, run as run_bench};
use praxis_core::data::lerobot::video::VideoCodec;
use praxis_core::device;

use crate::commands::demos::Camera;

/// Arguments of `praxis bench data`.
#[derive(clap::Args, Debug)]
pub struct BenchDataArgs {
    /// LeRobot v3.0 dataset to measure (default: record one from the simulator).
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Episodes to record when no dataset is given.
    #[arg(long, default_value_t = 40)]
    pub episodes: usize,
    /// Codec of the recorded dataset (av1 or h264).
    #[arg(long, value_enum, default_value_t = Camera::Av1)]
    pub codec: Camera,
    /// Preset of the training measurement.
    #[arg(long, default_value = "s")]
    pub preset: String,
    /// Training steps measured.
    #[arg(long, default_value_t = 40)]
    pub steps: u64,
    /// Batch size of the training measurement.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
}

/// Runs `praxis bench data`.
pub fn run(args: &BenchDataArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let codec = match args.codec {
        Camera::Av1 => VideoCodec::Av1,
        Camera::H264 => VideoCodec::H264,
        Camera::Png => anyhow::bail!("--codec must be a video codec (av1 or h264)"),
    };
    let device = device::open_requested(backend)?;
    eprintln!("measuring (records a dataset first when none is given; takes a minute or two)");
    let r = run_bench(
        &DataBenchConfig {
            dataset: args.dataset.clone(),
            episodes: args.episodes,
            codec,
            preset: args.preset.clone(),
            steps: args.steps,
            batch_size: args.batch_size,
        },
        &device,
    )?;
    println!(
        "dataset {} ({} episodes, {} frames, {})",
        r.dataset, r.episodes, r.frames, r.codec
    );
    println!("| measurement | value |");
    println!("|---|---|");
    println!(
        "| decoded frames/s, one video file, 1 thread | {:.0} |",
        r.decode_frames_per_s_one_thread
    );
    println!(
        "| frames/s reading the whole dataset, {} threads | {:.0} |",
        r.threads, r.read_frames_per_s_all_threads
    );
    println!(
        "| training ({}, batch {}): data wait / update per step | {:.2} ms / {:.1} ms |",
        r.preset, r.batch_size, r.data_wait_ms, r.update_ms
    );
    println!(
        "| share of step time waiting for data | {:.2}% |",
        100.0 * r.data_wait_share
    );
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

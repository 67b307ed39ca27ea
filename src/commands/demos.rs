//! `praxis demos`: record scripted-teacher demonstrations of a suite into a dataset
//! directory, in Praxis's own format or as a LeRobot v3.0 dataset. All the work is in
//! `praxis_core::data::record` and `praxis_core::data::lerobot::writer`.

use std::path::PathBuf;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use praxis_core::data::lerobot::video::VideoCodec;
use praxis_core::data::lerobot::{CameraStorage, WriteOptions, writer};
use praxis_core::data::{Dataset, RecordOptions, record_demos};

/// Output format of `praxis demos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Praxis's own dataset format (what `praxis train` reads fastest).
    Praxis,
    /// LeRobotDataset v3.0, loadable by LeRobot and other Python tools.
    Lerobot,
}

/// How camera frames of a LeRobot dataset are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Camera {
    /// AV1 video (LeRobot's default codec).
    Av1,
    /// H.264 video.
    H264,
    /// PNG images inside the Parquet data files.
    Png,
}

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
    /// Radius (metres) of the circle of effector positions the teacher averages each motion
    /// label over (0: the plain teacher; 0.0083 is half a camera pixel at 64 pixels).
    #[arg(long, default_value_t = 0.0)]
    pub teacher_smoothing: f32,
    /// Image side in pixels (16..=256).
    #[arg(long, default_value_t = 64)]
    pub image_size: u32,
    /// Base seed (demo seeds never overlap evaluation seeds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep episodes in which the teacher failed.
    #[arg(long)]
    pub keep_failures: bool,
    /// Held-out variations to record under (distractors, colour-shift, lighting,
    /// camera-jitter, paraphrase, unseen-embodiment, all, none); `unseen-embodiment` records
    /// the 4-joint arm, `subgoals` records each frame with its sub-goal's instruction.
    #[arg(long, default_value = "none")]
    pub variations: String,
    /// Dataset format to write.
    #[arg(long, value_enum, default_value_t = Format::Praxis)]
    pub format: Format,
    /// With `--format lerobot`: how camera frames are stored.
    #[arg(long, value_enum, default_value_t = Camera::Av1)]
    pub camera: Camera,
}

/// Runs `praxis demos`.
pub fn run(args: &DemosArgs) -> anyhow::Result<()> {
    if !(args.noise.is_finite() && args.noise >= 0.0) {
        anyhow::bail!("--noise must be a finite number >= 0");
    }
    if let Err(why) = praxis_core::sim::TeacherConfig::check_smoothing(args.teacher_smoothing) {
        anyhow::bail!("--teacher-smoothing {why}");
    }
    if args.out.exists() {
        anyhow::bail!(
            "{} already exists; choose another output directory or remove it",
            args.out.display()
        );
    }
    // A LeRobot dataset is recorded in Praxis's format first, then converted.
    let recorded = match args.format {
        Format::Praxis => args.out.clone(),
        Format::Lerobot => {
            let mut name = args.out.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".praxis-{}", std::process::id()));
            args.out.with_file_name(name)
        }
    };
    let options = RecordOptions {
        suite: args.suite.clone(),
        episodes: args.episodes,
        out: recorded.clone(),
        noise_std: args.noise,
        teacher_smoothing: args.teacher_smoothing,
        image_size: args.image_size,
        seed: args.seed,
        keep_failures: args.keep_failures,
        variations: args.variations.parse()?,
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
    if args.format == Format::Lerobot {
        let converted = to_lerobot(args, &recorded, meta.control_hz);
        let _ = std::fs::remove_dir_all(&recorded);
        let summary = converted?;
        println!(
            "wrote {} episodes ({} frames, {} tasks, {:.1} MB) of suite {} as LeRobot v3.0 to {}",
            summary.episodes,
            summary.frames,
            summary.tasks,
            summary.bytes as f64 / 1e6,
            meta.suite,
            args.out.display()
        );
        return Ok(());
    }
    println!(
        "wrote {} episodes ({} frames) of suite {} to {}",
        meta.num_episodes,
        meta.num_frames,
        meta.suite,
        args.out.display()
    );
    Ok(())
}

fn to_lerobot(
    args: &DemosArgs,
    recorded: &std::path::Path,
    control_hz: f32,
) -> anyhow::Result<writer::WriteSummary> {
    let dataset = Dataset::open(recorded)?;
    let bar = ProgressBar::new_spinner();
    bar.set_message("writing the LeRobot dataset (encoding frames)");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let options = WriteOptions {
        camera: match args.camera {
            Camera::Av1 => CameraStorage::Video(VideoCodec::Av1),
            Camera::H264 => CameraStorage::Video(VideoCodec::H264),
            Camera::Png => CameraStorage::Png,
        },
        fps: control_hz.round().max(1.0) as u32,
        robot_type: format!("praxis-{}", dataset.meta().embodiment),
    };
    let summary = writer::write(&args.out, dataset.episodes(), &options);
    bar.finish_and_clear();
    Ok(summary?)
}

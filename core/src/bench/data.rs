//! `praxis bench data`: how fast LeRobot data is decoded (video frames per second, on one
//! thread and on all cores), and what share of a training step waits for data when training
//! on it (frames are decoded on background threads when the dataset opens and kept in memory,
//! and batches are assembled by the loader's threads, so this should be near zero).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use crate::data::lerobot::video::{self, VideoCodec};
use crate::data::lerobot::{CameraStorage, LeRobotDataset, Selection, WriteOptions, writer};
use crate::data::{Dataset, RecordOptions, record_demos};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::train::{self, TrainConfig};

/// What to measure.
#[derive(Debug, Clone)]
pub struct DataBenchConfig {
    /// A LeRobot dataset to measure; absent to record one from the simulator.
    pub dataset: Option<PathBuf>,
    /// Episodes to record when no dataset is given.
    pub episodes: usize,
    /// Codec of the recorded dataset.
    pub codec: VideoCodec,
    /// Preset of the training measurement.
    pub preset: String,
    /// Training steps measured.
    pub steps: u64,
    /// Batch size of the training measurement.
    pub batch_size: usize,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct DataBenchReport {
    pub dataset: String,
    pub codec: String,
    pub episodes: usize,
    pub frames: usize,
    /// Frames of one video file decoded per second on one thread (demux, decode, RGB).
    pub decode_frames_per_s_one_thread: f64,
    /// Frames per second when the whole dataset is read with every core decoding.
    pub read_frames_per_s_all_threads: f64,
    pub threads: usize,
    pub train_steps: u64,
    pub batch_size: usize,
    pub preset: String,
    /// Mean time per step spent waiting for a batch, ms.
    pub data_wait_ms: f64,
    /// Mean time per step spent on the update, ms.
    pub update_ms: f64,
    /// data_wait / (data_wait + update).
    pub data_wait_share: f64,
}

/// Runs the benchmark (recording into a temporary directory when no dataset is given).
pub fn run(config: &DataBenchConfig, device: &ComputeDevice) -> Result<DataBenchReport> {
    let scratch = tempdir()?;
    let root = match &config.dataset {
        Some(d) => d.clone(),
        None => record(config, &scratch)?,
    };
    let invalid = |e: crate::data::DataError| Error::invalid(e.to_string());
    let ds = LeRobotDataset::open(&root).map_err(invalid)?;
    let (camera, feature) = ds
        .info()
        .cameras()
        .first()
        .map(|(k, f)| (k.to_string(), (*f).clone()))
        .ok_or_else(|| Error::invalid(format!("{} has no camera", root.display())))?;

    // One file, one thread.
    let mut one_thread = 0.0;
    let mut codec = "png".to_string();
    if feature.is_video() {
        let span = &ds.episodes()[0].videos[&camera];
        let template = ds.info().video_path.clone().unwrap_or_default();
        let path = root.join(crate::data::lerobot::meta::Info::file_path(
            &template, &camera, span.chunk, span.file,
        ));
        let start = Instant::now();
        let decoded = video::decode_file(&path).map_err(invalid)?;
        one_thread = decoded.frames.len() as f64 / start.elapsed().as_secs_f64();
        codec = decoded.codec.name().to_string();
    }

    // Everything, all threads.
    let all: Vec<u32> = (0..ds.episodes().len() as u32).collect();
    let select = Selection {
        camera: &camera,
        state: "observation.state",
        action: "action",
    };
    let start = Instant::now();
    let raw = ds.read_episodes(&all, select).map_err(invalid)?;
    let read_s = start.elapsed().as_secs_f64();
    let frames: usize = raw.iter().map(|r| r.len()).sum();

    // Training on it.
    let run_dir = scratch.join("run");
    let toml = format!(
        "steps = {}\nbatch_size = {}\ncheckpoint_every = {}\nlog_every = 1\ndeterministic = false\n[model]\npreset = \"{}\"\n[data.lerobot]\ndir = {:?}\ncamera = {:?}\n",
        config.steps,
        config.batch_size,
        config.steps,
        config.preset,
        root.display().to_string(),
        camera
    );
    let train_config = TrainConfig::from_toml(&toml, "bench", &scratch)?;
    train::train(
        &run_dir,
        &train_config,
        device,
        &AtomicBool::new(false),
        |_| {},
    )?;
    let metrics = crate::train::run::RunDir::open(&run_dir)?.metrics()?;
    // The first steps compile kernels and fill the loader's queue; leave them out.
    let measured: Vec<_> = metrics.iter().skip(metrics.len() / 5).collect();
    let n = measured.len().max(1) as f64;
    let data_ms = measured.iter().map(|m| m.data_ms).sum::<f64>() / n;
    let update_ms = measured.iter().map(|m| m.update_ms).sum::<f64>() / n;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(DataBenchReport {
        dataset: root.display().to_string(),
        codec,
        episodes: raw.len(),
        frames,
        decode_frames_per_s_one_thread: one_thread,
        read_frames_per_s_all_threads: frames as f64 / read_s,
        threads: rayon::current_num_threads(),
        train_steps: config.steps,
        batch_size: config.batch_size,
        preset: config.preset.clone(),
        data_wait_ms: data_ms,
        update_ms,
        data_wait_share: data_ms / (data_ms + update_ms).max(1e-9),
    })
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("praxis-bench-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

fn record(config: &DataBenchConfig, scratch: &std::path::Path) -> Result<PathBuf> {
    let demos = scratch.join("demos");
    let meta = record_demos(
        &RecordOptions {
            suite: "goal".into(),
            episodes: config.episodes,
            out: demos.clone(),
            noise_std: 0.0,
            teacher_smoothing: 0.0,
            image_size: 64,
            seed: 0,
            keep_failures: false,
            variations: Default::default(),
        },
        &mut |_| {},
    )
    .map_err(|e| Error::invalid(e.to_string()))?;
    let dataset = Dataset::open(&demos).map_err(|e| Error::invalid(e.to_string()))?;
    let root = scratch.join("lerobot");
    writer::write(
        &root,
        dataset.episodes(),
        &WriteOptions {
            camera: CameraStorage::Video(config.codec),
            fps: meta.control_hz.round().max(1.0) as u32,
            robot_type: format!("praxis-{}", meta.embodiment),
        },
    )
    .map_err(|e| Error::invalid(e.to_string()))?;
    Ok(root)
}

//! Pre-training a base policy: record broad scripted-teacher data (many tasks, objects and
//! colours, two arm embodiments and the pusher), train from scratch on all of it, and keep the
//! result as a base checkpoint (weights, config and tokenizer; no optimizer state) for
//! post-training.
//!
//! Layout of the output directory: `data/<suite>/` (datasets), `run/` (the training run),
//! `base/` (the base checkpoint).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::checkpoint;
use crate::data::{RecordOptions, record_demos};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::train::config::{DataSection, ModelSection, TrainConfig};
use crate::train::optimizer::OptimizerConfig;
use crate::train::schedule::Schedule;
use crate::train::trainer::{self, Progress};

/// The suites a base policy is pre-trained on by default: everything but `goal`, which is
/// kept for post-training.
pub const DEFAULT_SUITES: [&str; 5] = ["spatial", "object", "long", "pusht", "arm2-object"];

/// What to pre-train.
#[derive(Debug, Clone)]
pub struct PretrainOptions {
    /// Suites to record teacher data from.
    pub suites: Vec<String>,
    /// Teacher episodes per suite.
    pub episodes_per_suite: usize,
    /// Teacher action noise (normalised units), for state diversity.
    pub noise_std: f32,
    /// Model preset.
    pub preset: String,
    /// Action head.
    pub head: String,
    /// Updates.
    pub steps: u64,
    /// Samples per update.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Seed of data and training.
    pub seed: u64,
}

impl Default for PretrainOptions {
    fn default() -> Self {
        PretrainOptions {
            suites: DEFAULT_SUITES.iter().map(|s| s.to_string()).collect(),
            episodes_per_suite: 300,
            noise_std: 0.05,
            preset: "s".into(),
            head: "l1".into(),
            steps: 2400,
            batch_size: 32,
            lr: 1e-3,
            seed: 0,
        }
    }
}

/// Runs the whole pre-training into `out` and returns the base checkpoint's directory.
/// `on_phase` hears "recording `<suite>`" and "training" as the work moves on.
pub fn pretrain(
    out: &Path,
    options: &PretrainOptions,
    device: &ComputeDevice,
    stop: &AtomicBool,
    mut on_phase: impl FnMut(&str),
    progress: impl FnMut(Progress) + Send,
) -> Result<PathBuf> {
    if out.exists() && std::fs::read_dir(out).map_or(true, |mut d| d.next().is_some()) {
        return Err(Error::invalid(format!(
            "{} already exists; choose a new output directory",
            out.display()
        )));
    }
    let mut datasets = Vec::new();
    for (i, suite) in options.suites.iter().enumerate() {
        on_phase(&format!("recording {suite}"));
        let dir = out.join("data").join(suite);
        record_demos(
            &RecordOptions {
                suite: suite.clone(),
                episodes: options.episodes_per_suite,
                out: dir.clone(),
                noise_std: options.noise_std,
                teacher_smoothing: 0.0,
                image_size: 64,
                seed: options.seed * 1000 + i as u64,
                keep_failures: false,
                variations: Default::default(),
            },
            &mut |_| {},
        )
        .map_err(|e| Error::invalid(e.to_string()))?;
        datasets.push(dir);
    }
    on_phase("training");
    let config = TrainConfig {
        seed: options.seed,
        steps: options.steps,
        batch_size: options.batch_size,
        checkpoint_every: (options.steps / 4).max(1),
        log_every: 10,
        max_bad_steps: 5,
        deterministic: true,
        ema_decay: None,
        model: ModelSection {
            init: None,
            preset: options.preset.clone(),
            head: options.head.clone(),
        },
        data: DataSection {
            datasets,
            record: None,
            lerobot: None,
        },
        schedule: Schedule {
            lr: options.lr,
            warmup_steps: (options.steps / 20).max(1),
            min_lr_ratio: 0.1,
        },
        optimizer: OptimizerConfig::default(),
        finetune: Default::default(),
        augment: Default::default(),
        auxiliary: Default::default(),
        rl: None,
    };
    let outcome = trainer::train(&out.join("run"), &config, device, stop, progress)?;
    if outcome.interrupted {
        return Err(Error::invalid(format!(
            "pre-training stopped at step {}; continue it with `praxis train --resume {}`",
            outcome.step,
            out.join("run").display()
        )));
    }
    let trained = checkpoint::load(&outcome.checkpoint, &device.device)?;
    let base = out.join("base");
    checkpoint::save(&base, &trained.meta, &trained.policy, None)?;
    Ok(base)
}

//! `praxis bench model`: training throughput and inference latency of a preset on a backend,
//! for each action head.

use std::time::Instant;

use burn::tensor::Device;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::bench::system::{SystemInfo, peak_rss_mib};
use crate::device::ComputeDevice;
use crate::error::Result;
use crate::model::input::flow_noise;
use crate::model::{HeadKind, HostBatch, ModelConfig, Observation, Policy, Tokenizer};
use crate::train::{Learner, OptimizerConfig};

/// What to measure.
#[derive(Debug, Clone)]
pub struct ModelBenchConfig {
    /// Preset name.
    pub preset: String,
    /// Training batch size.
    pub batch: usize,
    /// Timed training steps per head (after warm-up).
    pub train_steps: usize,
    /// Timed batch-1 inferences per head (after warm-up).
    pub inferences: usize,
    /// Heads to measure.
    pub heads: Vec<HeadKind>,
}

impl Default for ModelBenchConfig {
    fn default() -> Self {
        ModelBenchConfig {
            preset: "s".into(),
            batch: 32,
            train_steps: 20,
            inferences: 50,
            heads: HeadKind::ALL.to_vec(),
        }
    }
}

/// Figures for one head.
#[derive(Debug, Clone, Serialize)]
pub struct HeadFigures {
    /// The head.
    pub head: HeadKind,
    /// Parameters in the network with this head.
    pub params: usize,
    /// Training samples per second (forward, backward and AdamW step).
    pub train_samples_per_s: f64,
    /// Mean time of one training step, ms.
    pub train_step_ms: f64,
    /// Median batch-1 inference latency (observation upload to actions on the host), ms.
    pub infer_ms_median: f64,
    /// 95th-percentile batch-1 inference latency, ms.
    pub infer_ms_p95: f64,
}

/// The whole report (printed as a table, and as JSON on the last line).
#[derive(Debug, Clone, Serialize)]
pub struct ModelBenchReport {
    /// Preset measured.
    pub preset: String,
    /// Training batch size.
    pub batch: usize,
    /// Backend name.
    pub backend: String,
    /// Device name.
    pub device: String,
    /// Per-head figures.
    pub heads: Vec<HeadFigures>,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Bytes the device's allocator held at the end (GPU backends).
    pub device_reserved_bytes: Option<u64>,
    /// Versions and machine.
    pub system: SystemInfo,
}

/// A synthetic batch with random pixels, states, instructions and (optionally) actions in
/// [-1, 1], for benchmarks and tests where the content does not matter.
pub fn synthetic_batch(
    config: &ModelConfig,
    tokenizer: &Tokenizer,
    size: usize,
    rng: &mut impl Rng,
    with_targets: bool,
) -> Result<HostBatch> {
    let side = config.image_size;
    let words = tokenizer.words();
    let mut batch = HostBatch::default();
    for _ in 0..size {
        let image: Vec<u8> = (0..side * side * 3).map(|_| rng.random()).collect();
        let state: Vec<f32> = (0..config.state_dim)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let instruction: Vec<&str> = (0..8)
            .map(|_| words[rng.random_range(2..words.len())].as_str())
            .collect();
        batch.push_observation(
            config,
            tokenizer,
            Observation {
                image: &image,
                image_size: side,
                state: &state,
                instruction: &instruction.join(" "),
            },
        )?;
        if with_targets {
            let actions: Vec<Vec<f32>> = (0..config.chunk_len)
                .map(|_| {
                    (0..config.action_dim)
                        .map(|_| rng.random_range(-1.0..1.0))
                        .collect()
                })
                .collect();
            batch.push_target(config, &actions, &vec![true; config.chunk_len])?;
        }
    }
    Ok(batch)
}

/// A stand-in vocabulary for benchmarks and tests (the size of the simulator's, give or take).
pub fn bench_tokenizer() -> Tokenizer {
    Tokenizer::new(
        "put push pick place move the a an red green blue yellow purple orange block disc \
         triangle t pad target left right top bottom corner onto on in to of then and sort by \
         colour reach touch gripper object into next"
            .split_whitespace(),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn sync(device: &Device) {
    let _ = device.sync();
}

/// Runs the benchmark on `device`, calling `progress` with a line per phase.
pub fn run(
    bench: &ModelBenchConfig,
    device: &ComputeDevice,
    mut progress: impl FnMut(&str),
) -> Result<ModelBenchReport> {
    let tokenizer = bench_tokenizer();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut heads = Vec::new();
    for &head in &bench.heads {
        let config = ModelConfig::preset(&bench.preset, head)?;
        let policy = crate::device::seeded(&device.device, 0, || {
            Policy::new(&config, tokenizer.vocab_size(), &device.device)
        })?;
        let params = policy.num_params();

        progress(&format!("{head}: training at batch {}", bench.batch));
        let batch = synthetic_batch(&config, &tokenizer, bench.batch, &mut rng, true)?;
        let mut learner = Learner::new(policy, &OptimizerConfig::default(), &device.device);
        for _ in 0..3 {
            learner.step(&batch, 1e-4, &mut rng)?;
        }
        sync(&device.device);
        let start = Instant::now();
        for _ in 0..bench.train_steps {
            learner.step(&batch, 1e-4, &mut rng)?;
        }
        sync(&device.device);
        let train_s = start.elapsed().as_secs_f64();

        progress(&format!("{head}: batch-1 inference"));
        let policy = learner.policy();
        let single = synthetic_batch(&config, &tokenizer, 1, &mut rng, false)?;
        let mut times = Vec::with_capacity(bench.inferences);
        for i in 0..bench.inferences + 5 {
            let start = Instant::now();
            let input = single.input(&config, &device.device);
            let noise = flow_noise(&config, 1, &mut rng, &device.device);
            let encoding = policy.encode(&input, false);
            let actions = policy.act(&encoding, noise).into_data();
            std::hint::black_box(actions);
            if i >= 5 {
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        heads.push(HeadFigures {
            head,
            params,
            train_samples_per_s: (bench.batch * bench.train_steps) as f64 / train_s,
            train_step_ms: train_s * 1e3 / bench.train_steps as f64,
            infer_ms_median: percentile(&times, 0.5),
            infer_ms_p95: percentile(&times, 0.95),
        });
    }
    Ok(ModelBenchReport {
        preset: bench.preset.clone(),
        batch: bench.batch,
        backend: device.backend.name().into(),
        device: device.name.clone(),
        heads,
        peak_rss_mib: peak_rss_mib(),
        device_reserved_bytes: device.device.memory_pool_usage().map(|u| u.bytes_reserved),
        system: SystemInfo::current(),
    })
}

//! The training loop: batches from a background loader, AdamW updates with a warm-up/cosine
//! schedule, a numerics guard, metrics lines and atomic checkpoints in a run directory, exact
//! resume, and a clean stop on request (Ctrl-C) that saves a checkpoint first.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::checkpoint::{self, CheckpointMeta, Provenance, RngState};
use crate::data::Dataset;
use crate::data::lerobot::DataMapping;
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use crate::train::config::TrainConfig;
use crate::train::ema::Ema;
use crate::train::learner::Learner;
use crate::train::loader::{DataMix, Loader, step_rng};
use crate::train::rl::{self, RlMethod};
use crate::train::run::{MetricsLine, RunDir, RunInfo};

/// ChaCha stream of the flow-matching noise.
const NOISE_STREAM: u64 = 2;
/// Mixed into the seed before LoRA factors are drawn, so they do not repeat the initial
/// weights' random stream.
const ADAPTER_SEED: u64 = 0x4c6f_5241;

/// How a training run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// Updates completed.
    pub step: u64,
    /// Loss of the last update.
    pub last_loss: f32,
    /// The checkpoint written last.
    pub checkpoint: PathBuf,
    /// Whether the run stopped on request before its last step.
    pub interrupted: bool,
}

/// What the trainer reports while it runs (for progress bars and the app).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Updates completed.
    pub step: u64,
    /// Updates in the run.
    pub total: u64,
    /// Loss of the last update.
    pub loss: f32,
}

/// Starts a new run in `run_dir` from `config`.
pub fn train(
    run_dir: &std::path::Path,
    config: &TrainConfig,
    device: &ComputeDevice,
    stop: &AtomicBool,
    progress: impl FnMut(Progress) + Send,
) -> Result<TrainOutcome> {
    // Everything that can be checked is checked before the run directory exists.
    let (policy, tokenizer) = initial_policy(config, device)?;
    if let Some(rl) = &config.rl {
        rl.check_policy(&policy)?;
    }
    let mut data = open_data(config, policy.config())?;
    let anchor = distill_anchor(config, &policy);
    // One seeded stream: the redrawn layers first, then the LoRA factors (see
    // `starting_policy`, which replays the first part).
    let policy = crate::device::seeded(&device.device, config.seed ^ ADAPTER_SEED, || {
        config
            .finetune
            .prepare(config.finetune.reinitialize(policy)?)
    })?;
    let run = RunDir::create(run_dir)?;
    let (config, recorded) = record_data(&run, config)?;
    let config = &config;
    data.datasets.extend(recorded);
    crate::atomic::write_file(&run.config_path(), config.to_toml().as_bytes())?;
    let mut learner =
        Learner::prepared(policy, &config.finetune, &config.optimizer, &device.device);
    if let Some(decay) = config.ema_decay {
        learner = learner.start_ema(decay);
    }
    let mut learner = learner.with_auxiliary(config.auxiliary, anchor, config.seed)?;
    if config
        .rl
        .as_ref()
        .is_some_and(|rl| rl.method == RlMethod::Ppo)
    {
        learner = learner.with_value_head(config.seed);
    }
    let (trainable_params, total_params) = learner.trainable_params();
    let info = RunInfo {
        seed: config.seed,
        provenance: Provenance::current(device.backend.name(), &device.name),
        trainable_params,
        total_params,
    };
    crate::atomic::write_file(
        &run.info_path(),
        serde_json::to_string_pretty(&info)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    run_loop(
        &run, config, device, data, tokenizer, learner, 0, stop, progress,
    )
}

/// Continues the run in `run_dir` from its newest checkpoint, exactly as if it had never
/// stopped.
pub fn resume(
    run_dir: &std::path::Path,
    device: &ComputeDevice,
    stop: &AtomicBool,
    progress: impl FnMut(Progress) + Send,
) -> Result<TrainOutcome> {
    let run = RunDir::open(run_dir)?;
    let config = TrainConfig::load(&run.config_path())?;
    let latest = run.latest()?.ok_or_else(|| {
        Error::invalid(format!(
            "{} has no checkpoint to resume from",
            run_dir.display()
        ))
    })?;
    let ckpt = checkpoint::load(&latest, &device.device)?;
    let step = ckpt.meta.step;
    let finetune = &config.finetune;
    let trained = match ckpt.training.clone() {
        Some(bytes) => {
            let fresh = checkpoint::blank_policy(&ckpt.meta, &device.device)?;
            if finetune.has_adapters() {
                let structure = crate::device::seeded(&device.device, ADAPTER_SEED, || {
                    finetune.prepare(fresh)
                })?;
                checkpoint::load_training(&latest, structure, bytes)?
            } else {
                finetune.prepare(checkpoint::load_training(&latest, fresh, bytes)?)?
            }
        }
        None => finetune.prepare(ckpt.policy.clone())?,
    };
    let mut learner = Learner::prepared(trained, finetune, &config.optimizer, &device.device);
    if let Some(decay) = config.ema_decay {
        learner = learner.with_ema(Ema::resume(ckpt.policy, decay, step));
    }
    if config.auxiliary.is_active() {
        // The heads restart from their seeded initialisation (checkpoints keep the policy
        // alone), so a resumed run with auxiliary losses is not bit-exact.
        let anchor = match config.auxiliary.distill > 0.0 {
            true => Some(initial_policy(&config, device)?.0),
            false => None,
        };
        learner = learner.with_auxiliary(config.auxiliary, anchor, config.seed)?;
    }
    if config
        .rl
        .as_ref()
        .is_some_and(|rl| rl.method == RlMethod::Ppo)
    {
        // Like the auxiliary heads, the value head restarts from its seeded initialisation.
        learner = learner.with_value_head(config.seed);
    }
    if let Some(bytes) = ckpt.optimizer {
        let restored = checkpoint::load_optimizer(&latest, learner.optimizer().clone(), bytes)?;
        learner = learner.with_optimizer(restored);
    }
    run.truncate_metrics(step)?;
    let data = open_data(&config, &ckpt.meta.model)?;
    run_loop(
        &run,
        &config,
        device,
        data,
        ckpt.meta.tokenizer,
        learner,
        step,
        stop,
        progress,
    )
}

/// Records the `[data.record]` demonstrations into the run directory, and returns the config
/// as it will be saved (recorded once, then listed as a dataset, so a resume does not
/// re-record) with the recorded dataset.
fn record_data(run: &RunDir, config: &TrainConfig) -> Result<(TrainConfig, Option<Dataset>)> {
    let mut resolved = config.clone();
    let mut recorded = None;
    if let Some(record) = resolved.data.record.take() {
        let dir = run.root().join("data").join(suite_dir_name(&record.suite));
        crate::data::record_demos(
            &crate::data::RecordOptions {
                suite: record.suite.clone(),
                episodes: record.episodes,
                out: dir.clone(),
                noise_std: record.noise,
                teacher_smoothing: 0.0,
                image_size: 64,
                seed: config.seed,
                keep_failures: false,
                variations: crate::sim::Variations::from_names(&record.variations)?,
            },
            &mut |_| {},
        )
        .map_err(|e| Error::invalid(e.to_string()))?;
        recorded = Some(Dataset::open(&dir).map_err(|e| Error::invalid(e.to_string()))?);
        resolved
            .data
            .datasets
            .push(std::path::absolute(&dir).unwrap_or(dir));
    }
    Ok((resolved, recorded))
}

fn suite_dir_name(suite: &str) -> String {
    std::path::Path::new(suite)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "demos".into())
}

/// What a run trains on: datasets, and how an external dataset maps onto the model.
struct TrainData {
    datasets: Vec<Dataset>,
    mapping: Option<DataMapping>,
}

fn open_data(config: &TrainConfig, model: &ModelConfig) -> Result<TrainData> {
    let mut datasets = config
        .data
        .datasets
        .iter()
        .map(|dir| Dataset::open(dir).map_err(|e| Error::invalid(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let mut mapping = None;
    if let Some(source) = &config.data.lerobot {
        let (dataset, resolved) = crate::data::lerobot::load_for_training(source, model)
            .map_err(|e| Error::invalid(e.to_string()))?;
        if dataset.is_empty() {
            return Err(Error::invalid(format!(
                "LeRobot dataset {} has no training frames",
                source.dir.display()
            )));
        }
        datasets.push(dataset);
        mapping = Some(resolved);
    }
    Ok(TrainData { datasets, mapping })
}

/// The starting checkpoint's policy, kept for the `distill` auxiliary term (`None` when the
/// term is off or the run starts from scratch).
fn distill_anchor(config: &TrainConfig, policy: &Policy) -> Option<Policy> {
    (config.auxiliary.distill > 0.0 && config.model.init.is_some()).then(|| policy.clone())
}

/// The dense policy a run's first update saw: the initial policy with the `reinit` layers
/// redrawn from the same seeded stream as at the start (DPO's reference, also on resume).
fn starting_policy(config: &TrainConfig, device: &ComputeDevice) -> Result<Policy> {
    let (policy, _) = initial_policy(config, device)?;
    crate::device::seeded(&device.device, config.seed ^ ADAPTER_SEED, || {
        config.finetune.reinitialize(policy)
    })
}

/// The policy a new run starts from: a checkpoint (post-training) or a fresh network.
fn initial_policy(config: &TrainConfig, device: &ComputeDevice) -> Result<(Policy, Tokenizer)> {
    match &config.model.init {
        Some(dir) => {
            let ckpt = checkpoint::load(dir, &device.device)?;
            Ok((ckpt.policy, ckpt.meta.tokenizer))
        }
        None => {
            let head: HeadKind = config.model.head.parse()?;
            let model = ModelConfig::preset(&config.model.preset, head)?;
            let tokenizer = Tokenizer::new(crate::sim::vocabulary());
            let policy = crate::device::seeded(&device.device, config.seed, || {
                Policy::new(&model, tokenizer.vocab_size(), &device.device)
            })?;
            Ok((policy, tokenizer))
        }
    }
}

/// Writes the learner's policy (and optimizer and training state) as the checkpoint of
/// `step`, and points `latest` at it.
pub(crate) fn save(
    run: &RunDir,
    config: &TrainConfig,
    device: &ComputeDevice,
    learner: &Learner,
    tokenizer: &Tokenizer,
    mapping: Option<&DataMapping>,
    step: u64,
) -> Result<PathBuf> {
    let policy = learner.policy();
    let mut meta = CheckpointMeta::new(
        policy.config().clone(),
        tokenizer.clone(),
        step,
        config.seed,
        RngState {
            seed: config.seed,
            word_pos: u128::from(step) << 20,
        },
        Provenance::current(device.backend.name(), &device.name),
    );
    meta.data_mapping = mapping.cloned();
    let path = run.checkpoint_path(step);
    checkpoint::save_with_training(
        &path,
        &meta,
        &policy,
        Some(learner.optimizer()),
        learner.training_state().as_ref(),
    )?;
    run.set_latest(&path)?;
    Ok(path)
}

/// Updates skipped for a non-finite loss or gradient: counted for the metrics, and a run
/// stops with an error naming its last good checkpoint after `max` of them in a row (a NaN
/// loss never becomes a saved checkpoint, nor an endless run of skipped updates).
pub(crate) struct BadSteps {
    max: u32,
    in_a_row: u32,
    /// Updates skipped so far in this session (bad or, for RL, without experience).
    pub(crate) skipped: u64,
}

impl BadSteps {
    pub(crate) fn new(max: u32) -> Self {
        BadSteps {
            max,
            in_a_row: 0,
            skipped: 0,
        }
    }

    /// An update went through.
    pub(crate) fn good(&mut self) {
        self.in_a_row = 0;
    }

    /// Update `step` (0-based) was skipped because `why`; an error once `max` were in a row.
    pub(crate) fn bad(&mut self, step: u64, why: &str, checkpoint: &std::path::Path) -> Result<()> {
        self.in_a_row += 1;
        self.skipped += 1;
        eprintln!("step {}: {why}", step + 1);
        match self.in_a_row >= self.max {
            true => Err(Error::Numerics(format!(
                "{} non-finite updates in a row at step {}; stopped, the last good checkpoint is {}",
                self.in_a_row,
                step + 1,
                checkpoint.display()
            ))),
            false => Ok(()),
        }
    }
}

/// Runs the loop in a thread pool of its own: one thread when the config asks for
/// determinism, otherwise as many as the pool it is called from has (all cores, or a report
/// job's share of them).
#[allow(clippy::too_many_arguments)]
fn run_loop(
    run: &RunDir,
    config: &TrainConfig,
    device: &ComputeDevice,
    data: TrainData,
    tokenizer: Tokenizer,
    learner: Learner,
    start: u64,
    stop: &AtomicBool,
    progress: impl FnMut(Progress) + Send,
) -> Result<TrainOutcome> {
    let threads = match config.deterministic {
        true => 1,
        false => rayon::current_num_threads(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("praxis-train-{i}"))
        .build()
        .map_err(|e| Error::invalid(format!("cannot start the training threads: {e}")))?;
    pool.install(|| {
        run_steps(
            run, config, device, data, tokenizer, learner, start, stop, progress,
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn run_steps(
    run: &RunDir,
    config: &TrainConfig,
    device: &ComputeDevice,
    data: TrainData,
    tokenizer: Tokenizer,
    mut learner: Learner,
    start: u64,
    stop: &AtomicBool,
    mut progress: impl FnMut(Progress),
) -> Result<TrainOutcome> {
    let model = learner.policy().config().clone();
    let TrainData { datasets, mapping } = data;
    if let Some(rl_config) = &config.rl {
        let demos = match datasets.is_empty() {
            true => None,
            false => Some(DataMix::new(datasets, model.chunk_len)?),
        };
        let reference = match rl_config.method == RlMethod::Dpo || rl_config.kl > 0.0 {
            true => Some(starting_policy(config, device)?),
            false => None,
        };
        let ctx = rl::RlRun {
            run,
            config,
            rl: rl_config,
            device,
            tokenizer: &tokenizer,
            demos: demos.as_ref(),
            reference: reference.as_ref(),
        };
        return rl::run(&ctx, learner, start, stop, progress);
    }
    let mapping = mapping.as_ref();
    let data = Arc::new(
        DataMix::new(datasets, model.chunk_len)?
            .with_augment(config.augment)
            .with_auxiliary(learner.auxiliary_horizon()),
    );
    let mut loader = Loader::spawn(
        data,
        model,
        tokenizer.clone(),
        config.batch_size,
        config.seed,
        start..config.steps,
        4,
    );
    let mut last = (f32::NAN, f32::NAN);
    let mut last_terms: (f32, Vec<(&'static str, f32)>) = (f32::NAN, Vec::new());
    let mut bad = BadSteps::new(config.max_bad_steps);
    let mut checkpoint = run.latest()?.unwrap_or_default();
    let (mut window_start, mut data_s, mut update_s, mut window_steps) =
        (Instant::now(), 0.0f64, 0.0f64, 0u64);
    for step in start..config.steps {
        if stop.load(Ordering::Relaxed) {
            let checkpoint = save(run, config, device, &learner, &tokenizer, mapping, step)?;
            return Ok(TrainOutcome {
                step,
                last_loss: last.0,
                checkpoint,
                interrupted: true,
            });
        }
        let waited = Instant::now();
        let batch = loader.next_batch()?;
        data_s += waited.elapsed().as_secs_f64();
        let lr = config.schedule.lr_at(step, config.steps);
        let mut rng = step_rng(config.seed, step, NOISE_STREAM);
        let updated = Instant::now();
        match learner.step(&batch, lr, &mut rng) {
            Ok(outcome) => {
                bad.good();
                last = (outcome.loss, outcome.grad_norm);
                last_terms = (outcome.action_loss, outcome.auxiliary);
            }
            Err(Error::Numerics(why)) => bad.bad(step, &why, &checkpoint)?,
            Err(other) => return Err(other),
        }
        update_s += updated.elapsed().as_secs_f64();
        window_steps += 1;
        let done = step + 1;
        if done % config.log_every == 0 || done == config.steps {
            let elapsed = window_start.elapsed().as_secs_f64().max(1e-9);
            run.append_metrics(&MetricsLine {
                step: done,
                loss: last.0,
                grad_norm: last.1,
                lr,
                samples_per_s: (window_steps as usize * config.batch_size) as f64 / elapsed,
                data_ms: data_s * 1e3 / window_steps as f64,
                update_ms: update_s * 1e3 / window_steps as f64,
                skipped: bad.skipped,
                action_loss: (!last_terms.1.is_empty()).then_some(last_terms.0),
                auxiliary: last_terms
                    .1
                    .iter()
                    .map(|(name, v)| (name.to_string(), *v))
                    .collect(),
                rl: None,
            })?;
            (window_start, data_s, update_s, window_steps) = (Instant::now(), 0.0, 0.0, 0);
        }
        if done % config.checkpoint_every == 0 || done == config.steps {
            checkpoint = save(run, config, device, &learner, &tokenizer, mapping, done)?;
        }
        progress(Progress {
            step: done,
            total: config.steps,
            loss: last.0,
        });
    }
    Ok(TrainOutcome {
        step: config.steps,
        last_loss: last.0,
        checkpoint,
        interrupted: false,
    })
}
